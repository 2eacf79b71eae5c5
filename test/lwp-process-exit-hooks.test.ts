/**
 * process.exit() in an LWP ends its worker: the trampoline's 'exit'
 * listener exits the LWP there (LW_DIED, lwp_reap_dead), and the thread's
 * other 'exit' listeners (the program's own exit hooks) run after it. They
 * ran bound to the LWP that had just exited: a kernel call from one acted
 * as that zombie (a sleep took it from ZOMB to SLEEP and back to ONPROC,
 * and lwp_wait never collected it: its waiter waited for ever), or, once a
 * detached LWP's slot was freed and reused, as another LWP. Such a call now
 * unwinds with the LwpExit that every call after lwp_exit gets, and the
 * zombie stays one.
 *
 * The LWP runs this file's export (the compiled tree, as the test's kernel).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';

/** Outcome codes of the exit hook's park, in sab[1]. */
const PARK = { returned: 1, ETIMEDOUT: 4, LwpExit: 5, other: 9 } as const;

/** The LWP: an exit hook that parks 20 ms (and records how that ended), then process.exit(). */
export function parksInExitHook(arg: { sab: SharedArrayBuffer }): void {
  const a = new Int32Array(arg.sab);
  process.on('exit', () => {
    let r: number = PARK.other;
    try {
      const t = Date.now() + 20;
      sys.lwp_park({ tv_sec: Math.floor(t / 1000), tv_nsec: (t % 1000) * 1e6 });
      r = PARK.returned;
    } catch (e) {
      r = e instanceof sys.SysError ? (e.code === 'ETIMEDOUT' ? PARK.ETIMEDOUT : PARK.other) : (e as { message?: unknown }).message === 'lwp_exit' ? PARK.LwpExit : PARK.other;
    }
    Atomics.store(a, 1, r);
    Atomics.store(a, 0, 1);
    Atomics.notify(a, 0);
  });
  process.exit(0);
}

if (isMainThread) {
  test('a kernel call from an exit hook of an LWP that called process.exit() unwinds (LwpExit), and lwp_wait collects the LWP', async () => {
    const sab = new SharedArrayBuffer(8);
    const a = new Int32Array(sab);
    const lid = sys.lwp_create({ module: new URL(import.meta.url), export: 'parksInExitHook', arg: { sab } });
    // Outside the kernel: the hook is done before we look.
    const end = Date.now() + 20_000;
    while (Atomics.load(a, 0) === 0) {
      assert.ok(Date.now() < end, 'the LWP\'s exit hook did not run');
      Atomics.wait(a, 0, 0, 100);
    }
    const state = sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.state;
    // A deadline, not for ever: before, the zombie taken back to ONPROC was never collected.
    let got: number | string;
    try { got = sys.lwp_wait_timed(lid, { tv_sec: 5, tv_nsec: 0 }); } catch (e) { got = (e as sys.SysError).code; }
    assert.equal(state, 'ZOMB', 'the LWP is a zombie after its exit hooks');
    assert.equal(got, lid, 'lwp_wait collects the LWP');
    assert.equal(a[1], PARK.LwpExit, `the park in the exit hook unwinds with LwpExit (${PARK.LwpExit}), it does not sleep as the exited LWP`);
    assert.deepEqual(sys.lwp_check(), []);
  });
}
