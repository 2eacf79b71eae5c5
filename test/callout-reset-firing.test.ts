/**
 * A callout on the manual time line re-armed at a time already due, from
 * another thread, while its handler runs in the thread that moved the clock
 * (timer_settime racing a clock_advance's firing of the same timer: it
 * calls callout_reset, then callout_run for "a past time fires at once").
 * The firing run re-inserts it due once the handler returns, and must fire
 * it in the same move: on the manual line nobody runs again until the clock
 * moves. Before the fix the run's bound (the count armed when it began)
 * stopped it there, and the expiry waited for the next clock move. The
 * resetter's own callout_run waits for the firing run (one run of a line at
 * a time, callout.ts H_RUN) and then finds nothing to fire. The second test
 * is that wait: a run waits for another thread's, a try returns at once.
 * This file is also the LWP's module (its exports); the tests are
 * registered in the main thread only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { callout_alloc, callout_free, callout_reset, callout_run, callout_run_try, callout_snapshot, callout_pending, callout_register_kind, TL_MANUAL } from '../src/timers/callout.js';
import { manual_now } from '../src/timers/clocks.js';
import { until } from './helpers.js';

// A kind private to this test (the kernel's are small numbers: callout.ts).
const CK_HOLD = 95;
// res[0]: LWP up; res[1]: handler running; res[2]: re-armed; res[3]: fires; res[4]: go on; res[5]: the LWP's run done;
// second test: res[6] the try's result, res[7] fires when the waiting run returned, res[8] whether it waited, res[9] its mode.
let res: Int32Array | undefined;
/** Waits (bounded: 20 s) until r[i] is nonzero. */
function await_word(r: Int32Array, i: number): void {
  for (let k = 0; k < 2000 && Atomics.load(r, i) === 0; k++) Atomics.wait(r, i, 0, 10);
}
function set_word(r: Int32Array, i: number): void { Atomics.store(r, i, 1); Atomics.notify(r, i); }
callout_register_kind(CK_HOLD, () => {
  const r = res!;
  Atomics.add(r, 3, 1);
  if (Atomics.load(r, 3) === 1) {
    set_word(r, 1);
    await_word(r, 2); // holds the fire until the other thread has re-armed the callout (or tried to run the line)
    if (Atomics.load(r, 9) === 1) {
      // ... and, in the second test, until its callout_run waits for this run (bounded: 20 s).
      for (let k = 0; k < 20_000 && !callout_snapshot(TL_MANUAL).runWaited; k++) Atomics.wait(r, 8, 0, 1);
      Atomics.store(r, 8, callout_snapshot(TL_MANUAL).runWaited ? 1 : 2);
    }
  }
  return -1;
});

/** LWP body: waits for the handler to be running, then re-arms the callout at a due time and runs the line, as timer_settime does. */
export function resetter(a: { sab: SharedArrayBuffer; c: number }): void {
  const r = new Int32Array(a.sab);
  set_word(r, 0);
  await_word(r, 1);
  callout_reset(a.c, manual_now());
  set_word(r, 2);
  await_word(r, 4);
  callout_run(TL_MANUAL);
  set_word(r, 5);
}

/** LWP body: while the main thread's handler holds its run of the line, a try returns false at once and a run waits for it (res[5]: the run returned). */
export function runner(a: { sab: SharedArrayBuffer }): void {
  const r = new Int32Array(a.sab);
  set_word(r, 0);
  await_word(r, 1);
  Atomics.store(r, 6, callout_run_try(TL_MANUAL) ? 1 : 2);
  set_word(r, 2); // the handler may return now; the run below waits for it
  callout_run(TL_MANUAL);
  Atomics.store(r, 7, Atomics.load(r, 3)); // fires seen once the run returned
  set_word(r, 5);
}

if (isMainThread) {
  test('a due re-arm from another thread while the handler runs fires in the same clock move', async () => {
    sys.clock_gettime(sys.CLOCK_MANUAL); // boots the kernel
    const sab = new SharedArrayBuffer(64);
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
      set_word(res, 4);
      await until(() => Atomics.load(res!, 5) === 1, 20_000, "the resetter's callout_run to return");
      assert.equal(Atomics.load(res, 3), 2, "the resetter's run fired nothing more");
      assert.equal(callout_pending(c), false, 'left armed and due on the manual line');
    } finally {
      callout_free(c);
    }
  });

  test('one run of a line at a time: a run waits for another thread\'s, a try returns at once', async () => {
    sys.clock_gettime(sys.CLOCK_MANUAL);
    const sab = new SharedArrayBuffer(64);
    res = new Int32Array(sab);
    Atomics.store(res, 9, 1);
    const c = callout_alloc(CK_HOLD, 0, TL_MANUAL);
    assert.notEqual(c, 0);
    try {
      callout_reset(c, manual_now() + 1);
      sys.lwp_create({ module: new URL(import.meta.url), export: 'runner', arg: { sab } });
      await until(() => Atomics.load(res!, 0) === 1, 20_000, 'the LWP to start');
      sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 1 }); // its handler holds the run until the try is made
      await until(() => Atomics.load(res!, 5) === 1, 20_000, "the other thread's callout_run to return");
      assert.equal(Atomics.load(res, 6), 2, 'callout_run_try returned false while the line was being run');
      assert.equal(Atomics.load(res, 8), 1, "the other thread's callout_run waited while this thread's run held the line");
      assert.equal(Atomics.load(res, 7), 1, 'the waiting run returned after the fire, and fired nothing itself');
      assert.equal(callout_snapshot(TL_MANUAL).runner, 0, 'the line is run by nobody afterwards');
    } finally {
      callout_free(c);
    }
  });
}
