/**
 * Waiting for requests: aio_suspend (any of a list), lio_listio LIO_WAIT
 * (all of a list) and aio_cancel (the host's answer to a cancel) sleep on
 * the one kernel-wide list of aio waiters, woken by every completion under
 * the aio lock (aio_done_locked). A waiter reaps the engine's completions
 * itself before it sleeps, and sleeps in 1 ms steps while nobody else
 * reaps (the io_uring's intr handler before the intr thread runs).
 */
import { I32 } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mono_now } from '../kern/time.js';
import type { SleepGen } from '../kern/sleeprun.js';
import { sq_alloc, sq_free, sq_enqueue, SQF_INTERRUPTIBLE, SQF_ASYNC, SQ_INTR, SQ_TIMEDOUT, SQ_WOKEN } from '../kern/sleepq.js';
import { wmesg_register } from '../kern/wmesg.js';
import { R, RS_DONE, aio_lock, aio_waitq, aio_writes_before_locked } from './aio.js';
import { aio_engine_peek } from './engine.js';

const WM_AIO = wmesg_register('aiowait');

/** How many of the requests (handles hs, ids ids) are done or gone (aio lock held). */
function count_done(hs: readonly number[], ids: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    if (h === 0 || I32[h + R.id] !== ids[i] || I32[h + R.state] === RS_DONE) n++;
  }
  return n;
}

/**
 * Sleeps until `need` of the requests are done (SQ_WOKEN), the deadline
 * (mono ns; Infinity none) passes (SQ_TIMEDOUT) or a signal or abort
 * interrupts (SQ_INTR; never when `intr` is false: aio_cancel's bounded wait,
 * which close(2) relies on).
 */
export function* aio_wait(hs: readonly number[], ids: readonly number[], need: number, deadline: number, async: boolean, S: string, intr = true): SleepGen<number> {
  const sl = sq_alloc((intr ? SQF_INTERRUPTIBLE : 0) | (async ? SQF_ASYNC : 0), WM_AIO, S);
  const L = aio_lock();
  try {
    for (;;) {
      const eng = aio_engine_peek();
      eng?.poll();
      mutex_enter(L);
      if (count_done(hs, ids) >= need) { mutex_exit(L); return SQ_WOKEN; }
      const now = mono_now();
      if (now >= deadline) { mutex_exit(L); return SQ_TIMEDOUT; }
      sq_enqueue(aio_waitq(), sl);
      const d = eng !== undefined && eng.polls() ? Math.min(deadline, now + 1e6) : deadline;
      const r = yield { sl, lock: L, deadline: d };
      mutex_exit(L);
      if (r === SQ_INTR) return SQ_INTR;
    }
  } finally {
    sq_free(sl);
  }
}

/**
 * An I/O thread's wait before it performs fsync request h on `fd`, until
 * the reads and writes submitted before it on that descriptor are done (the
 * threads engine runs requests on several threads at once; io_uring holds
 * the fsync back instead, aio.ts aio_defer_fsync): on the list of aio waiters, which
 * every completion wakes, not interruptible. EAGAIN when no sleep-queue
 * entry is free (the I/O thread fails the fsync with it).
 */
export function* aio_fsync_barrier(h: number, fd: number): SleepGen<void> {
  const sl = sq_alloc(0, WM_AIO, 'aio_fsync');
  const L = aio_lock();
  try {
    for (;;) {
      mutex_enter(L);
      if (!aio_writes_before_locked(h, fd, true)) { mutex_exit(L); return; } // in progress only: aio.ts says why
      sq_enqueue(aio_waitq(), sl);
      yield { sl, lock: L, deadline: Infinity };
      mutex_exit(L);
    }
  } finally {
    sq_free(sl);
  }
}

/** aio_wait's outcome for a call that must end with EINTR / EAGAIN. */
export function wait_outcome(r: number): 'EINTR' | 'EAGAIN' | 0 {
  return r === SQ_INTR ? 'EINTR' : r === SQ_TIMEDOUT ? 'EAGAIN' : 0;
}
