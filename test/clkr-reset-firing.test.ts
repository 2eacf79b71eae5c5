/**
 * A callout on the manual time line re-armed at a time already due, from
 * another thread, while its handler runs in the thread that moved the clock
 * (timer_settime racing a clock_advance's firing of the same timer: it
 * calls callout_reset, then callout_run for "a past time fires at once").
 * The resetter's own run finds nothing (the callout is out of the heap,
 * firing); the firing run re-inserts it due once the handler returns, and
 * must fire it: on the manual line nobody runs again until the clock
 * moves. Before the fix the run's bound (the count armed when it began)
 * stopped it there, and the expiry waited for the next clock move. This
 * file is also the LWP's module (its export `resetter`); the test is
 * registered in the main thread only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { callout_alloc, callout_free, callout_reset, callout_run, callout_pending, callout_register_kind, TL_MANUAL } from '../src/timers/callout.js';
import { manual_now } from '../src/timers/clocks.js';
import { until } from './helpers.js';

// A kind private to this test (the kernel's are small numbers: callout.ts).
const CK_HOLD = 95;
// res[0]: LWP up; res[1]: handler running; res[2]: resetter done; res[3]: fires.
let res: Int32Array | undefined;
callout_register_kind(CK_HOLD, () => {
  const r = res!;
  Atomics.add(r, 3, 1);
  if (Atomics.load(r, 3) === 1) {
    Atomics.store(r, 1, 1);
    Atomics.notify(r, 1);
    // Holds the fire until the other thread has re-armed the callout and run the line.
    for (let i = 0; i < 2000 && Atomics.load(r, 2) === 0; i++) Atomics.wait(r, 2, 0, 10);
  }
  return -1;
});

/** LWP body: waits for the handler to be running, then re-arms the callout at a due time as timer_settime does. */
export function resetter(a: { sab: SharedArrayBuffer; c: number }): void {
  const r = new Int32Array(a.sab);
  Atomics.store(r, 0, 1);
  while (Atomics.load(r, 1) === 0) Atomics.wait(r, 1, 0, 10);
  callout_reset(a.c, manual_now());
  callout_run(TL_MANUAL);
  Atomics.store(r, 2, 1);
  Atomics.notify(r, 2);
}

if (isMainThread) {
  test('a due re-arm from another thread while the handler runs fires in the same clock move', async () => {
    sys.clock_gettime(sys.CLOCK_MANUAL); // boots the kernel
    const sab = new SharedArrayBuffer(16);
    res = new Int32Array(sab);
    const c = callout_alloc(CK_HOLD, 0, TL_MANUAL);
    assert.notEqual(c, 0);
    try {
      callout_reset(c, manual_now() + 1);
      sys.lwp_create({ module: new URL(import.meta.url), export: 'resetter', arg: { sab, c } });
      await until(() => Atomics.load(res!, 0) === 1, 20_000, 'the LWP to start');
      sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 1 });
      assert.equal(Atomics.load(res, 2), 1, 'the resetter ran while the handler held the fire');
      assert.equal(Atomics.load(res, 3), 2, 'the expiry re-armed due while firing was fired in the same move');
      assert.equal(callout_pending(c), false, 'left armed and due on the manual line');
    } finally {
      callout_free(c);
    }
  });
}
