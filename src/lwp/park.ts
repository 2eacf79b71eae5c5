/**
 * lwp_park / lwp_unpark: the sleep queue user-level synchronisation (mutexes,
 * condition variables in a thread library) is built on. Parked LWPs sleep
 * on buckets of a park table hashed by the hint; unpark looks for the
 * target on its hint's bucket and, not finding it parked there (or finding
 * a park that something else has already ended), leaves a sticky "unpark
 * pending" mark (l_unpark = the target's lid) that the target's next park
 * consumes (EALREADY). The bucket lock is held while the
 * mark is set and while a parker checks it, so an unpark racing a park with
 * the same hint is never lost (l_unpark in lwp/lwp.ts's header; a park ended by
 * lwp_suspend is its SLEEP -> ONPROC -> SUSPENDED path there).
 *
 * A bucket is [lock (class parktab), head, tail, pad]: the parked sleepers
 * of every hint hashing there, all under the lock (key b).
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { fail_status, type Errno } from '../kern/errno.js';
import { sq_alloc, sq_free, sq_enqueue, sq_wake, sq_first, sq_next, sq_lid, sq_key, sq_setkey, SQF_INTERRUPTIBLE, SQF_ASYNC, SQF_TARGETED, SQ_WOKEN, SQ_TIMEDOUT, SQ_UNSLEPT } from '../kern/sleepq.js';
import { sq_block } from '../kern/sleepwait.js';
import type { SleepGen } from '../kern/sleeprun.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { wmesg_register } from '../kern/wmesg.js';
import { L, LSIDL, LSZOMB, lwp_byid } from './lwp.js';
import { mutex_class } from '../kern/lockdebug.js';

export const LWP_UNPARK_MAX = 1024;
const NBUCKET = 128;
const B_WORDS = 4; // lock, head, tail, pad
const parktab = kregion_create('parktab', () => NBUCKET * B_WORDS);
mutex_class('parktab', parktab, { field: 0, stride: B_WORDS });
export const WM_PARKED = wmesg_register('parked');

const C_PARKED = kstat_counter('lwp', 'park_parked');
const C_EARLY = kstat_counter('lwp', 'park_unparked_early');
const C_MISS = kstat_counter('lwp', 'park_not_parked');
const C_BCAST = kstat_counter('lwp', 'park_broadcast');
const C_TARG = kstat_counter('lwp', 'park_targeted');

function bucket(hint: number): number {
  const x = Number.isFinite(hint) ? Math.floor(Math.abs(hint)) : 0;
  return parktab.base + (x % NBUCKET) * B_WORDS;
}
/** Bit-exact but for NaN, which matches NaN (docs/sys.md): -0 is not 0. */
function same_hint(a: number, b: number): boolean { return a === b ? a !== 0 || 1 / a === 1 / b : a !== a && b !== b; }

/**
 * First half of a park: takes a sleeper and enqueues it on the hint's bucket,
 * returning it with the bucket lock held; or returns 0, consuming a pending
 * unpark (EALREADY, which the caller raises).
 */
function park_enter(hint: number, async: boolean): number {
  const l = cur.lwp;
  const b = bucket(hint);
  // Everything that can be done before taking the bucket lock is: the lock
  // is what an unparker contends for.
  // Targeted: a bucket holds the parks of every LWP and hint that hash to
  // it, and an unpark is for one of them; should this LWP exit with the
  // park pending and already unparked, that unpark is not another's.
  const sl = sq_alloc(SQF_INTERRUPTIBLE | SQF_TARGETED | (async ? SQF_ASYNC : 0), WM_PARKED, 'lwp_park');
  sq_setkey(sl, hint);
  mutex_enter(b);
  if (Atomics.load(I32, l + L.unpark) === cur.lid) {
    Atomics.store(I32, l + L.unpark, 0);
    mutex_exit(b);
    sq_free(sl);
    kstat_add(C_EARLY);
    return 0;
  }
  sq_enqueue(b + 1, sl);
  kstat_add(C_PARKED);
  I32[l + L.nparks]++;
  return sl;
}

/**
 * Second half: the sleep's outcome. A woken sleeper comes back without the
 * lock (norelock). One made runnable by lwp_suspend returns 0 as well (the
 * caller then suspends on its way out).
 */
function park_leave(sl: number, hint: number, r: number): Errno {
  sq_free(sl);
  if (r === SQ_WOKEN) return 0;
  mutex_exit(bucket(hint));
  if (r === SQ_UNSLEPT) return 0;
  return r === SQ_TIMEDOUT ? 'ETIMEDOUT' : 'EINTR';
}

/**
 * The blocking park, written without the generator machinery of the other
 * sleeping calls: it is the hot path of every user-level lock, and each
 * object allocated here shows up as young-generation GC pauses in its tail
 * latency. `deadline` is kernel monotonic ns (Infinity: none); the caller
 * has already turned an expired abstime into ETIMEDOUT. Returns the errno
 * for the entry point to raise (one throw, from its own frame: each frame
 * an exception unwinds through costs, and EALREADY is common in a
 * contended lock).
 */
export function park_sync(hint: number, deadline: number): Errno {
  const sl = park_enter(hint, false);
  if (sl === 0) return 'EALREADY';
  return park_leave(sl, hint, sq_block(sl, bucket(hint), deadline, undefined, true));
}

/** The park body for the Promise form. */
export function* park(hint: number, deadline: number, async: boolean): SleepGen<void> {
  const sl = park_enter(hint, async);
  if (sl === 0) fail_status('EALREADY', 'lwp_park');
  const err = park_leave(sl, hint, yield { sl, lock: bucket(hint), deadline, norelock: true });
  if (err !== 0) fail_status(err, 'lwp_park');
}

/**
 * A park that never sleeps (the class layer's park with a zero timeout, a
 * poll): consumes the caller's pending unpark, under the hint's bucket as a
 * park does, and says whether there was one. lwp_park itself, given a
 * deadline already past, fails ETIMEDOUT before it looks (the seed's order).
 */
export function park_poll(hint: number): boolean {
  const l = cur.lwp;
  const b = bucket(hint);
  mutex_enter(b);
  const had = Atomics.load(I32, l + L.unpark) === cur.lid;
  if (had) Atomics.store(I32, l + L.unpark, 0);
  mutex_exit(b);
  if (had) kstat_add(C_EARLY);
  return had;
}

/** Unparks one LWP; returns 1 if it was parked, 0 if the unpark was left pending, -1 for no such LWP. */
export function unpark_one(lid: number, hint: number): number {
  const b = bucket(hint);
  mutex_enter(b);
  // Matched on the sleeper alone (its lid and the hint it keeps): the
  // line the wake-up writes anyway, not the parked LWP's struct, which its
  // own thread writes as it goes to sleep and wakes (each read of it here
  // was a line taken from that thread's CPU on the unparker's way to the
  // notify, and one it had to take back).
  for (let sl = sq_first(b + 1); sl !== 0; sl = sq_next(sl)) {
    if (sq_lid(sl) === lid && same_hint(sq_key(sl), hint)) {
      if (sq_wake(sl)) { mutex_exit(b); return 1; }
      // Its park has already ended (lwp_wakeup, a signal, lwp_suspend or
      // the deadline), and the sleeper, woken, waits for this lock to leave
      // the bucket: the unpark is left pending, as for any target not
      // parked (NetBSD does not ask why), and the next park returns
      // EALREADY. Returning here with nothing left was an unpark lost.
      const t = lwp_byid(lid);
      if (t !== 0) Atomics.store(I32, t + L.unpark, lid);
      mutex_exit(b);
      return 0;
    }
  }
  const t = lwp_byid(lid);
  const stat = t === 0 ? 0 : Atomics.load(I32, t + L.stat);
  if (t === 0 || stat === LSIDL || stat === LSZOMB) { mutex_exit(b); return -1; }
  // Not parked here (not yet, or on another hint: an application error):
  // leave it pending, for this lid only (the slot may be reused meanwhile).
  Atomics.store(I32, t + L.unpark, lid);
  mutex_exit(b);
  return 0;
}

export function count_targeted(woken: number): void {
  if (woken > 0) kstat_add(C_TARG); else kstat_add(C_MISS);
}
export function count_broadcast(woken: number, missed: number): void {
  if (woken) kstat_add(C_BCAST, woken);
  if (missed) kstat_add(C_MISS, missed);
}

/** The word of the park-table bucket lock for `hint` (diagnostics and tests). */
export function park_bucket_lock(hint: number): number { return bucket(hint); }
