/**
 * The kernel side of lwp_wait (kern_lwp.c's lwp_wait1, as sys_lwp.c's
 * calls sit on it): the scan of the LWP table for a zombie to collect, the
 * deadlock checks (a target that waits for the caller; every LWP waiting
 * and none able to exit) and the sleep on the proc's condition variable.
 * Apart from sys.ts (copy-in and the two call forms) because this is the
 * proc-lock protocol: p_nlwpwait, l_nwait, l_waitingfor and l_waiter are
 * written here, under the proc lock, and taken back by lwp_exit_common for
 * the waits of an LWP that exits with an lwp_wait_async pending (its
 * thread never resumes them: ops.ts, lwp_drop_waits).
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { fail, fail_status, type ErrnoCode } from '../kern/errno.js';
import { panic_check } from '../kern/panic.js';
import { type SleepGen } from '../kern/sleeprun.js';
import { sq_alloc, sq_free, sq_enqueue, sq_wake_all, sq_first, sq_next, sq_lid, sq_arg, sq_setarg, SQF_INTERRUPTIBLE, SQF_ASYNC, SQ_INTR, SQ_TIMEDOUT } from '../kern/sleepq.js';
import { wmesg_register } from '../kern/wmesg.js';
import { P, curproc } from '../kern/proc.js';
import { L, LSZOMB, LSSUSPENDED, LW_DETACHED, LW_WAITING, lwp_byid, maxlwp, slot_handle } from './lwp.js';
import { lwp_free, counted } from './ops.js';

const WM_LWPWAIT = wmesg_register('lwpwait');

/**
 * lwp_wait1 (kern_lwp.c): waits for LWP `lid` (0: any not waited for by
 * another) to become a zombie and frees it, returning its lid; fails with
 * EDEADLK, ESRCH or EINTR, and ETIMEDOUT at `deadline` (monotonic ns; the
 * seed's wait has none: ours is for the class layer's waitSync timeout,
 * sys.ts lwp_wait_timed). A generator so that run_sync and run_async share it.
 */
export function* lwp_wait1(lid: number, async: boolean, deadline = Infinity): SleepGen<number> {
  panic_check('lwp_wait');
  // The sleeper is taken before the proc lock: running out (EAGAIN) must not
  // leave the lock held. One entry serves every sleep of this call.
  const sl = sq_alloc(SQF_INTERRUPTIBLE | (async ? SQF_ASYNC : 0), WM_LWPWAIT, 'lwp_wait');
  sq_setarg(sl, lid); // what this call waits for, seen by the cycle check while it sleeps (waits_for)
  try {
    return yield* lwp_wait1_locked(lid, sl, deadline, async);
  } finally {
    sq_free(sl);
  }
}

/** lwp_wait1's scan and sleep, with the sleeper taken. */
function* lwp_wait1_locked(lid: number, sl: number, deadline: number, async: boolean): SleepGen<number> {
  const l = cur.lwp, curlid = cur.lid, p = curproc();
  mutex_enter(p + P.lock);
  // p_nlwpwait counts LWPs blocked in lwp_wait, as every waiter of the
  // seed is; those with only lwp_wait_async pending are counted by the
  // scan below (the deadlock check weighs both against p_nrlwps).
  I32[l + L.nwait]++;
  if (!async) wait_count(p, l, true);
  I32[l + L.waitingfor] = lid;
  let error: ErrnoCode;
  for (;;) {
    let nfound = 0;
    let deadlock = false;
    let nasync = 0, nsusp = 0; // LWPs with only lwp_wait_async pending (the caller too), suspended LWPs
    let ndrun = 0; // detached LWPs among the runners that can still exit (below)
    const max = maxlwp();
    for (let i = 0; i < max; i++) {
      const h2 = slot_handle(i);
      const st = Atomics.load(I32, h2 + L.stat);
      if (st === 0) continue;
      if (st === LSSUSPENDED) nsusp++;
      else if (counted(st)) {
        const f = Atomics.load(I32, h2 + L.flag);
        if ((f & LW_WAITING) === 0) {
          if (I32[h2 + L.nwait] !== 0) nasync++;
          else if ((f & LW_DETACHED) !== 0) ndrun++;
        }
      }
      const lid2 = I32[h2 + L.lid];
      // The target waits for us (this also catches waiting for oneself).
      if (lid2 === lid && waits_for(p, h2, lid2, curlid)) { deadlock = true; break; }
      if (h2 === l) continue;
      if (Atomics.load(I32, h2 + L.flag) & LW_DETACHED) continue;
      if (lid !== 0) {
        if (lid2 !== lid) continue;
        if (I32[h2 + L.waiter] === 0) I32[h2 + L.waiter] = curlid;
      } else if (I32[h2 + L.waiter] !== 0) {
        nfound++; // someone else waits for it specifically
        continue;
      }
      nfound++;
      if (st !== LSZOMB) continue;
      I32[l + L.waitingfor] = 0;
      I32[h2 + L.waiter] = 0;
      I32[l + L.nwait]--;
      if (!async) wait_count(p, l, false);
      lwp_free(h2);
      mutex_exit(p + P.lock);
      return lid2;
    }
    if (deadlock) { error = 'EDEADLK'; break; }
    if (nfound === 0) { error = 'ESRCH'; break; }
    // Everyone else waits too, and no zombie can appear: sleeping would never end.
    // An LWP with lwp_wait_async pending counts as waiting (it may have
    // nothing else to do), but its thread is not blocked: while an LWP is
    // suspended, it may continue it, and that one exit. Counted then, the
    // wait for an LWP created suspended, continued right after the wait
    // began, failed EDEADLK at once.
    // The seed takes p_ndlwps off, every detached LWP, as if each were one
    // of p_nrlwps that will never be a zombie to collect; one suspended is
    // not among them, and one waiting is taken off as a waiter already:
    // subtracted again, a wait of an LWP that ran failed EDEADLK. So only
    // the detached runners that wait for nothing are (ndrun).
    const nwaiting = I32[p + P.nlwpwait]! + (nsusp === 0 ? nasync : 0);
    if (I32[p + P.nrlwps] + I32[p + P.nzlwps] - ndrun <= nwaiting) { error = 'EDEADLK'; break; }
    sq_enqueue(p + P.lwpcv, sl);
    const r = yield { sl, lock: p + P.lock, deadline };
    if (r === SQ_INTR) { error = 'EINTR'; break; }
    if (r === SQ_TIMEDOUT) { error = 'ETIMEDOUT'; break; }
  }
  if (lid !== 0) {
    const h2 = lwp_byid(lid);
    if (h2 !== 0 && I32[h2 + L.waiter] === curlid) I32[h2 + L.waiter] = 0;
  }
  I32[l + L.nwait]--;
  if (!async) wait_count(p, l, false);
  I32[l + L.waitingfor] = 0;
  sq_wake_all(p + P.lwpcv);
  mutex_exit(p + P.lock);
  if (error === 'EINTR') fail_status(error, 'lwp_wait');
  fail(error, 'lwp_wait', lid ? `lid ${lid}` : undefined);
}

/**
 * The caller (l) starts or ends its blocking lwp_wait (proc lock held): it
 * runs (counted in p_nrlwps) at both ends, a suspension in the wait
 * having taken it out of p_nlwpwait and back (ops.ts uncount, recount).
 */
function wait_count(p: number, l: number, on: boolean): void {
  if (on) { Atomics.or(I32, l + L.flag, LW_WAITING); I32[p + P.nlwpwait]++; }
  else { Atomics.and(I32, l + L.flag, ~LW_WAITING); I32[p + P.nlwpwait]--; }
}

/**
 * Does LWP h2 (lid lid2) wait for `lid` (proc lock held)? l_waitingfor is
 * one word, the target of its latest lwp_wait call; but an LWP may have
 * several lwp_wait_async pending, each of which set it to its own target
 * (and one that ended cleared it while the others went on), so the word
 * alone missed a cycle through an earlier one. Each call also keeps its
 * target in its sleeper (lwp_wait1), and every call of h2 is, while we
 * hold the lock, either asleep on p_lwpcv, where it is found here, or
 * woken and yet to take the lock again, when it scans again itself and
 * finds the cycle from its side: one of the two ends fails with EDEADLK.
 */
function waits_for(p: number, h2: number, lid2: number, lid: number): boolean {
  if (I32[h2 + L.waitingfor] === lid) return true;
  for (let sl = sq_first(p + P.lwpcv); sl !== 0; sl = sq_next(sl)) if (sq_lid(sl) === lid2 && sq_arg(sl) === lid) return true;
  return false;
}
