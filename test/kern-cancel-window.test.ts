/**
 * A pending lwp_wakeup (LW_CANCELLED: set when the sleep it aimed at had
 * just ended) ends the LWP's next interruptible sleep, as NetBSD's does
 * (kern/sleepwait.ts SleepHooks.consume_cancel). A sleep takes the flag
 * after it has dropped its object lock; a waker that woke it in between
 * (it was on the list already) ended it SQ_WOKEN first, and the flag,
 * taken all the same, was lost: no sleep ever ended in EINTR for that
 * lwp_wakeup. Now a taken flag whose sleep had already ended another way
 * is put back, for the next sleep.
 *
 * The window is held open by another LWP holding the sleeper's own LWP
 * lock, which the sleep takes (to show SLEEP) right after dropping the
 * object lock: the park, enqueued, blocks there; this thread unparks it
 * then. Every wait has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { M_WAITERS } from '../src/kern/mutex.js';
import { L, LW_CANCELLED, lwp_byid } from '../src/lwp/lwp.js';
import { until, within } from './helpers.js';

const F = new URL('./fixtures/cancel-lwp.js', import.meta.url);
const EINTR = 2, RETURNED = 1;

test('a pending interrupt taken by a sleep that a waker had just ended is kept for the next interruptible sleep', async () => {
  const sab = new SharedArrayBuffer(32), c = new Int32Array(sab);
  const hint = 4242;
  const T = sys.lwp_create({ module: F, export: 'parkTwice', arg: { sab, hint, ms: 3000 } });
  await until(() => Atomics.load(c, 0) === 1, 20000, 'the parker');
  const th = lwp_byid(T);
  // What lwp_wakeup leaves when the sleep it interrupted had just ended.
  Atomics.or(I32, th + L.flag, LW_CANCELLED);
  const H = sys.lwp_create({ module: F, export: 'holdLwpLock', arg: { sab, lid: T } });
  await until(() => Atomics.load(c, 4) === 1, 20000, "the holder to take the parker's LWP lock");
  Atomics.store(c, 1, 1); Atomics.notify(c, 1);
  // The parker, enqueued and its bucket lock dropped, waits for its LWP lock.
  await until(() => (Atomics.load(I32, th + L.lock) & M_WAITERS) !== 0, 20000, 'the parker blocked on its LWP lock');
  sys.lwp_unpark(T, hint);
  Atomics.store(c, 5, 1); Atomics.notify(c, 5);
  await within(sys.lwp_wait_async(H), 20000, 'the holder');
  await within(sys.lwp_wait_async(T), 20000, 'the parker');
  assert.equal(Atomics.load(c, 2), RETURNED, 'the first park was unparked');
  assert.equal(Atomics.load(c, 3), EINTR, 'the second park ends in EINTR, not at its deadline');
});
