/**
 * sq_wake skips the futex notify for a sleeper of the waking thread itself
 * unless the sleeper is marked SQF_ASYNC: a sync sleeper of this thread is
 * not waiting (it is running the wake), but an async one waits for the
 * notify (Atomics.waitAsync). The mark was the caller's alone to set, in
 * its sq_alloc flags; a sleeping call that forgot it in its async form
 * slept on to its deadline when its own thread woke it (kern core review:
 * "sq_sleep_async relies on its callers passing SQF_ASYNC"). Every caller
 * passes it today, so the kernel's calls never hung; sq_sleep_async now
 * marks the sleeper itself. The test sleeps through run_async on a sleeper
 * taken without the mark and wakes it from this thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { mutex_enter, mutex_exit } from '../src/kern/mutex.js';
import { sq_free, sq_wake, SQF_INTERRUPTIBLE, SQ_WOKEN } from '../src/kern/sleepq.js';
import { run_async } from '../src/kern/sleeprun.js';
import { park_bucket_lock } from '../src/lwp/park.js';
import { sleepOnce, planDeadline } from './fixtures/kern-prims.js';
import { within } from './helpers.js';

test('an async sleep whose sleeper was taken without SQF_ASYNC is woken at once by a wake from its own thread', async () => {
  sys.lwp_self();
  const bucket = 93, lock = park_bucket_lock(bucket);
  const keep = { sl: 0 };
  // planDeadline(-1): a 10 s deadline, so a missed notify shows as a hang of 10 s, not forever.
  const p = run_async(sleepOnce(bucket, SQF_INTERRUPTIBLE, planDeadline(-1), () => {}, keep));
  await new Promise((r) => setImmediate(r));
  mutex_enter(lock);
  assert.equal(sq_wake(keep.sl), true);
  mutex_exit(lock);
  assert.equal(await within(p, 2000, 'the sleep woken by its own thread'), SQ_WOKEN);
  sq_free(keep.sl);
});
