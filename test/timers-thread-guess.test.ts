/**
 * A SIGEV_THREAD timer armed, and fired, by another LWP that guessed its id
 * before timer_create returned. The id is in the table from table_install
 * on, but the timer is born locked: the guesser's timer_settime waits for
 * the creator's timer_release, which comes after the notify function is
 * registered with the creator's mailbox consumer (thread_register). Its
 * first expiry must reach the function; so must the next one (a lost first
 * delivery would leave it_pending above 0 for good, and every later
 * expiry would only add to it, never posting again). Both with the
 * creator's pump already running for an earlier timer (a delivery round
 * that missed the new timer would clear the post and never look again)
 * and with no pump yet. This file is also the LWP's module (its export
 * `guesser`); the tests are registered in the main thread only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { SysError } from '../src/kern/errno.js';
import { until } from './helpers.js';

const { CLOCK_MANUAL, SIGEV_THREAD, SIGEV_NONE, TIMER_ABSTIME } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
// Words: the LWP is up; its timer_settime calls that found no timer; arms
// that succeeded; the main thread asks for a second firing.
const R_UP = 0, R_MISSES = 1, R_ARMED = 2, R_AGAIN = 3;

/**
 * LWP body: arms timer `tid` at a past time of the manual clock (it fires at
 * once, in this thread) as soon as the id names a timer, then once more
 * when asked.
 */
export function guesser(a: { sab: SharedArrayBuffer; tid: number }): void {
  const r = new Int32Array(a.sab);
  Atomics.store(r, R_UP, 1);
  const past = { it_value: { tv_sec: 0, tv_nsec: 1 }, it_interval: ZERO };
  const end = Date.now() + 20_000;
  for (;;) {
    try { sys.timer_settime(a.tid, TIMER_ABSTIME, past); break; } catch (e) {
      if (!(e instanceof SysError) || e.code !== 'EINVAL' || Date.now() > end) throw e;
      Atomics.add(r, R_MISSES, 1);
    }
  }
  Atomics.store(r, R_ARMED, 1);
  while (Atomics.load(r, R_AGAIN) === 0 && Date.now() < end) Atomics.wait(r, R_AGAIN, 0, 10);
  sys.timer_settime(a.tid, TIMER_ABSTIME, past);
  Atomics.store(r, R_ARMED, 2);
}

async function race(pumpRunning: boolean): Promise<void> {
  sys.clock_advance(CLOCK_MANUAL, { tv_sec: 1, tv_nsec: 0 }); // a time to be past
  const early: number[] = [];
  let t0 = -1;
  if (pumpRunning) {
    // An earlier SIGEV_THREAD timer of this thread, delivered: the pump runs.
    t0 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_THREAD, sigev_value: 5, sigev_notify_function: (v) => early.push(v) });
    sys.timer_settime(t0, 0, { it_value: { tv_sec: 0, tv_nsec: 1 }, it_interval: ZERO });
    sys.clock_advance(CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 1 });
    await until(() => early.length === 1, 10_000, 'the earlier timer\'s delivery');
  }
  // Ids are handed out lowest free first, a deleted one first again: the
  // probe's id is the next timer's.
  const probe = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_NONE });
  sys.timer_delete(probe);
  const sab = new SharedArrayBuffer(4 * 4);
  const r = new Int32Array(sab);
  sys.lwp_create({ module: new URL(import.meta.url), export: 'guesser', arg: { sab, tid: probe } });
  await until(() => Atomics.load(r, R_UP) === 1 && Atomics.load(r, R_MISSES) > 0, 20_000, 'the LWP to be guessing');
  const calls: number[] = [];
  const tid = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_THREAD, sigev_value: 9, sigev_notify_function: (v) => calls.push(v) });
  assert.equal(tid, probe, 'the guess was right');
  try {
    await until(() => Atomics.load(r, R_ARMED) === 1, 20_000, 'the LWP to arm the new timer');
    await until(() => calls.length === 1, 10_000, 'the first expiry armed by the guesser to reach the function');
    Atomics.store(r, R_AGAIN, 1);
    Atomics.notify(r, R_AGAIN);
    await until(() => Atomics.load(r, R_ARMED) === 2, 20_000, 'the LWP to arm it again');
    await until(() => calls.length === 2, 10_000, 'the second expiry to reach the function');
    assert.deepEqual(calls, [9, 9]);
    assert.equal(sys.timer_getoverrun(tid), 0);
  } finally {
    sys.timer_delete(tid);
    if (t0 >= 0) sys.timer_delete(t0);
  }
}

if (isMainThread) {
  test('SIGEV_THREAD: a guessed id armed by another LWP delivers (no pump yet)', () => race(false));
  test('SIGEV_THREAD: a guessed id armed by another LWP delivers (pump already running)', () => race(true));
}
