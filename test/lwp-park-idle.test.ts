/**
 * The idle hook a kernel sleep runs while the clock thread is not running
 * (timers/clockstats.ts) asks the callout heap for its next deadline: with
 * nothing armed it must not take the heap's lock, which every sleeping
 * thread would otherwise pass through before each sleep (timers/callout.ts
 * callout_next). Its own file: nothing here may start the clock thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { mutex_enter, mutex_exit } from '../src/kern/mutex.js';
import { lockdebug, lockdebug_init } from '../src/kern/lockdebug.js';
import { callout_heap_lock, callout_next, TL_MONO } from '../src/timers/callout.js';
import { clock_thread_running } from '../src/timers/clockstats.js';
import { fixtures, within, until } from './helpers.js';

const info = (lid: number) => sys.lwp_snapshot().lwps.find((l) => l.lid === lid);

test('with no callout armed, a park sleeps and is unparked while another thread holds the callout heap lock', async () => {
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  sys.lwp_self(); // boot
  assert.equal(clock_thread_running(), false, 'precondition: the clock thread is not running');
  assert.equal(callout_next(TL_MONO), Infinity, 'precondition: nothing armed');
  const lid = sys.lwp_create({ module: fixtures, export: 'parkHint', arg: { sab, slot: 0, hint: 0 } }, sys.LWP_SUSPENDED);
  const lock = callout_heap_lock(TL_MONO);
  // LWP 1 holds the callout lock across lwp_continue and lwp_unpark, which
  // take the proc, LWP and park-bucket locks after it: out of the lock
  // order (only a test does it).
  const ld = lockdebug;
  lockdebug_init(false);
  mutex_enter(lock);
  try {
    sys.lwp_continue(lid);
    await until(() => info(lid)?.wmesg === 'parked', 10000, 'the LWP parked');
    // Had its sleep's idle hook taken the lock, the LWP would be blocked on
    // it (its state still reads SLEEP 'parked'), and this unpark could not
    // end its park while the lock is held.
    sys.lwp_unpark(lid);
    await until(() => Atomics.load(a, 0) !== 0, 10000, 'its park to return while the callout lock is held');
  } finally {
    mutex_exit(lock);
    lockdebug_init(ld);
    // After a failure here the LWP is still parked (no deadline), or still
    // suspended, and kept the file running until the runner's deadline:
    // continued and unparked now, its park ends (or finds the unpark).
    if (Atomics.load(a, 0) === 0) {
      try { sys.lwp_continue(lid); } catch { /* gone */ }
      try { sys.lwp_unpark(lid); } catch { /* gone */ }
    }
  }
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'collect'), lid);
  assert.equal(a[0], 1, 'the park returned normally');
});
