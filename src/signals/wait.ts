/**
 * Accepting signals synchronously: sigwait, sigwaitinfo, sigtimedwait and
 * sigsuspend, with their _async forms (one generator body each, run by
 * kern/sleeprun.ts like every sleeping call). A waiter sleeps on its own
 * lwpsig entry's queue under the signal lock; a signal of its set is taken
 * by it first (sig.ts: the generator wakes it, SQ_WOKEN), any other signal
 * it would take interrupts it (SQ_INTR: the handler runs, then EINTR, or a
 * restart for sigwait always and for sigwaitinfo under SA_RESTART).
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { fail_status } from '../kern/errno.js';
import { copyin_deadline, copyin_async_options, type AsyncOptions } from '../kern/copyin.js';
import { sysenter } from '../kern/sysent.js';
import { mono_now, type Timespec } from '../kern/time.js';
import { run_sync, run_async, run_sync_restart, run_async_restart, type SleepGen } from '../kern/sleeprun.js';
import { sq_alloc, sq_free, sq_enqueue, sq_first, sq_next, sq_arg, sq_setarg, sq_key, sq_setkey, sq_wake_all, SQF_INTERRUPTIBLE, SQF_ASYNC, SQ_INTR, SQ_WOKEN } from '../kern/sleepq.js';
import {
  timer_signal_deadline, dwait_start, dwait_finish, dwait_slack_wanted, dwait_thread_setup, type DeadlineWait, type DwaitConsumer,
} from '../timers/kapi.js';
import { wmesg_register } from '../kern/wmesg.js';
import { sig_first, sig_next, sig_word, sig_bit, copyin_sigset, type sigset_t } from './sigset.js';
import { SG, SA, LS, sigacts_h, sigact_h } from './sigstate.js';
import { sig_lock, sig_unlock, sig_lockword, ls_get, ls_unhand, sig_take, sig_setmask, sig_recheck_self, sig_redistribute, blank, type siginfo_t } from './sig.js';
import { postsig, sig_arm_bell } from './post.js';
import { os_update_locked, os_want_waited } from './route.js';
import { router_sync } from './router.js';

const WM_SIGWAIT = wmesg_register('sigwait');
const WM_SIGSUSPEND = wmesg_register('sigsuspend');

/** The body of the sigwait calls: a signal of (w0, w1), or null at the deadline. */
function* sigwait_gen(w0: number, w1: number, deadline: number, async: boolean, syscall: string): SleepGen<siginfo_t | null> {
  const sl = sq_alloc(SQF_INTERRUPTIBLE | (async ? SQF_ASYNC : 0), WM_SIGWAIT, syscall);
  sq_setarg(sl, w0); sq_setkey(sl, w1); // its set, for the LWP's union (wq_sync)
  try {
    sig_lock();
    const ls = ls_get(cur.lid);
    for (;;) {
      const info = take_pending(ls, w0, w1);
      if (info !== null) { sig_unlock(); return info; }
      if (deadline <= mono_now()) { sig_unlock(); return null; }
      sq_enqueue(ls + LS.wq, sl);
      wq_sync(ls);
      const dw = async ? undefined : deadline_wait(w0, w1, deadline);
      const r = yield { sl, lock: sig_lockword(), deadline, spin: dw?.policy };
      if (dw !== undefined) dwait_finish(dw, r === SQ_WOKEN);
      wq_sync(ls); // (off the queue now, whatever ended the sleep)
      if (r === SQ_WOKEN && take_pending_peek(ls, w0, w1) === 0) wq_pass_on(ls);
      if (r === SQ_INTR) {
        // A signal handed to it before it ran again is not its to keep (ls_unhand).
        if (ls_unhand(ls)) sig_redistribute();
        sig_unlock();
        fail_status('EINTR', syscall);
      }
    }
  } finally {
    sq_free(sl);
    if (dwait_slack_wanted) dwait_thread_setup();
  }
}

/*
 * Several waits of one LWP at once (its async forms, and a sync one beside
 * them): each waiter's set is kept in its sleeper (arg: word 0, key: word
 * 1), the LWP's wait set (LS.wait0/1, what the signal code matches a
 * signal against) is the union of the sets of the waiters on its queue,
 * and the signal code wakes the first waiter of the queue, which need not
 * be the one whose set holds the signal: a waiter woken for a signal that
 * is not its own wakes the others (wq_pass_on). With one set written over
 * another, a signal of the first call's set found nobody waiting for it
 * and the call slept on; with the wake-up kept by the wrong waiter, the
 * right one slept on.
 */

/** Sets LWP entry ls's wait set to the union of its queued waiters' sets (signal lock held). */
function wq_sync(ls: number): void {
  let u0 = 0, u1 = 0;
  for (let sl = sq_first(ls + LS.wq); sl !== 0; sl = sq_next(sl)) { u0 |= sq_arg(sl); u1 |= sq_key(sl); }
  set_wait(ls, u0, u1);
}
/** A signal of (w0, w1) pending for ls or the process, or 0 (signal lock held; nothing taken). */
function take_pending_peek(ls: number, w0: number, w1: number): number {
  const sg = sigacts_h();
  return sig_first((I32[ls + LS.pend0]! | I32[sg + SG.pend0]!) & w0, (I32[ls + LS.pend1]! | I32[sg + SG.pend1]!) & w1);
}
/**
 * A waiter of ls woken with nothing of its own set pending: when a signal
 * of another queued waiter's set is, the wake-up was theirs, and they all
 * look again (signal lock held). Only then: a waiter woken for nothing
 * passes nothing on, so two of them never wake each other forever.
 */
function wq_pass_on(ls: number): void {
  if (take_pending_peek(ls, I32[ls + LS.wait0]!, I32[ls + LS.wait1]!) !== 0) sq_wake_all(ls + LS.wq);
}

/** Takes a signal of (w0, w1) pending for LWP entry ls or the process, or null (signal lock held). */
function take_pending(ls: number, w0: number, w1: number): siginfo_t | null {
  const s = take_pending_peek(ls, w0, w1);
  if (s === 0) return null;
  const info = blank();
  sig_take(ls, s, info);
  // The wait is over: what else was handed to it while it was a waiter goes
  // back to the process, for any LWP (a sigwaiter is given one signal).
  if (ls_unhand(ls)) sig_redistribute();
  return info;
}

/**
 * The first look of sigwait_gen without its generator: a signal of (w0, w1)
 * already pending is taken at once (a loop draining queued signals, a poll
 * with a zero timeout). Null: the caller sleeps through sigwait_gen, which
 * looks again under the lock.
 */
function sigwait_now(w0: number, w1: number): siginfo_t | null {
  sig_lock();
  const info = take_pending(ls_get(cur.lid), w0, w1);
  sig_unlock();
  return info;
}

// ---- the deadline-aware wait ---------------------------------------------------

/** How long past the expiry the spin goes on before it sleeps as usual (ns): as a port getter's default (port_dwait_ns). */
const PAST_NS = 50_000;

/** The signal side of timers/dwait.ts: its dry run passes through the signal lock. */
const waiter: DwaitConsumer = {
  warm(): void { sig_lock(); sig_unlock(); },
};

/**
 * The deadline-aware wait (timers/dwait.ts, where its theory lives) of a
 * blocking sigwait for a signal that a SIGEV_SIGNAL timer generates: it
 * sleeps until the thread's margin before the timer's next expiry (the
 * timers' sig_hint), spins across it and fires it itself, so the signal is
 * generated here and seen at once, with no cross-thread wake-up. Undefined:
 * no such timer before the deadline, sleep as usual. Only the blocking
 * forms: an async one must not hold its thread's event loop.
 */
function deadline_wait(w0: number, w1: number, deadline: number): DeadlineWait | undefined {
  const expiry = timer_signal_deadline(w0, w1);
  if (expiry >= deadline) return undefined;
  return dwait_start(expiry, PAST_NS, waiter, 0);
}

/** Records the set an LWP waits for, and whether the host must route those signals (lock held). */
function set_wait(ls: number, w0: number, w1: number): void {
  const was0 = I32[ls + LS.wait0]!, was1 = I32[ls + LS.wait1]!;
  I32[ls + LS.wait0] = w0; I32[ls + LS.wait1] = w1;
  const c0 = was0 ^ w0, c1 = was1 ^ w1;
  for (let s = sig_first(c0, c1); s !== 0; s = sig_next(c0, c1, s)) {
    I32[sigact_h(s) + SA.nwait] += ((sig_word(s) === 0 ? w0 : w1) & sig_bit(s)) !== 0 ? 1 : -1;
    os_update_locked(s, true);
  }
}

function wait_args(set: unknown, syscall: string): readonly [number, number] {
  const w = copyin_sigset(set, 'set', syscall);
  sig_arm_bell();
  // Waiting in LWP 1: listen for the set from the host before sleeping (set_wait
  // marks it; the router follows). Another LWP's wait reaches the router through osbell.
  router_want(w);
  return w;
}
/** Marks the set as waited for by the caller ahead of its sleep, so that LWP 1's router listens before it blocks. */
function router_want(w: readonly [number, number]): void {
  if (os_want_waited(w[0], w[1])) router_sync();
}
/** Waits for a signal of `set` and returns its number (restarted after handlers, never EINTR). */
export function sigwait(set: sigset_t): number {
  sysenter();
  const w = wait_args(set, 'sigwait');
  const now = sigwait_now(w[0], w[1]);
  if (now !== null) return now.si_signo;
  return run_sync_restart(() => sigwait_gen(w[0], w[1], Infinity, false, 'sigwait'), true)!.si_signo;
}
/** Waits for a signal of `set` and returns its siginfo_t. EINTR (restarted under SA_RESTART). */
export function sigwaitinfo(set: sigset_t): siginfo_t {
  sysenter();
  const w = wait_args(set, 'sigwaitinfo');
  return sigwait_now(w[0], w[1]) ?? run_sync_restart(() => sigwait_gen(w[0], w[1], Infinity, false, 'sigwaitinfo'), false)!;
}
/** sigwaitinfo with a relative timeout (null: none): EAGAIN when it expires; EINTR, never restarted. */
export function sigtimedwait(set: sigset_t, timeout: Timespec | null): siginfo_t {
  sysenter();
  const w = wait_args(set, 'sigtimedwait');
  const d = copyin_deadline(timeout, 'sigtimedwait');
  return sigwait_now(w[0], w[1]) ?? run_sync(sigwait_gen(w[0], w[1], d, false, 'sigtimedwait')) ?? fail_status('EAGAIN', 'sigtimedwait');
}
/** The Promise form of {@link sigwait}. */
export async function sigwait_async(set: sigset_t, opts?: AsyncOptions): Promise<number> {
  sysenter();
  const w = wait_args(set, 'sigwait');
  const signal = copyin_async_options(opts, 'sigwait');
  return (await run_async_restart(() => sigwait_gen(w[0], w[1], Infinity, true, 'sigwait'), true, signal))!.si_signo;
}
/** The Promise form of {@link sigwaitinfo}. */
export async function sigwaitinfo_async(set: sigset_t, opts?: AsyncOptions): Promise<siginfo_t> {
  sysenter();
  const w = wait_args(set, 'sigwaitinfo');
  const signal = copyin_async_options(opts, 'sigwaitinfo');
  return (await run_async_restart(() => sigwait_gen(w[0], w[1], Infinity, true, 'sigwaitinfo'), false, signal))!;
}
/** The Promise form of {@link sigtimedwait}. */
export async function sigtimedwait_async(set: sigset_t, timeout: Timespec | null, opts?: AsyncOptions): Promise<siginfo_t> {
  sysenter();
  const w = wait_args(set, 'sigtimedwait');
  const d = copyin_deadline(timeout, 'sigtimedwait');
  const signal = copyin_async_options(opts, 'sigtimedwait');
  return (await run_async(sigwait_gen(w[0], w[1], d, true, 'sigtimedwait'), signal)) ?? fail_status('EAGAIN', 'sigtimedwait');
}

// ---- sigsuspend ---------------------------------------------------------------

/** The body of sigsuspend: sleeps until interrupted (a signal to take). Never returns normally. */
function* suspend_gen(async: boolean): SleepGen<never> {
  const sl = sq_alloc(SQF_INTERRUPTIBLE | (async ? SQF_ASYNC : 0), WM_SIGSUSPEND, 'sigsuspend');
  sq_setarg(sl, 0); sq_setkey(sl, 0); // on the waiters' queue, waiting for no set (wq_sync)
  try {
    sig_lock();
    const ls = ls_get(cur.lid);
    for (;;) {
      sq_enqueue(ls + LS.wq, sl);
      const r = yield { sl, lock: sig_lockword(), deadline: Infinity };
      if (r === SQ_INTR) { sig_unlock(); fail_status('EINTR', 'sigsuspend'); }
      // A wake-up meant for a sigwait of this LWP queued behind it.
      if (r === SQ_WOKEN) wq_pass_on(ls);
    }
  } finally {
    sq_free(sl);
  }
}

/** Swaps in the temporary mask; returns the old one (no lock held on return). */
function suspend_enter(set: unknown): readonly [number, number] {
  const w = copyin_sigset(set, 'mask', 'sigsuspend');
  sig_arm_bell();
  sig_lock();
  const ls = ls_get(cur.lid);
  const old = [I32[ls + LS.mask0]!, I32[ls + LS.mask1]!] as const;
  sig_setmask(ls, w[0], w[1]);
  sig_recheck_self(ls);
  sig_unlock();
  return old;
}
/**
 * Puts the old mask back and takes what it unblocks, then fails with EINTR.
 * Not when the thread is no longer on the LWP the call started on (`me`): a
 * handler of the interrupting signal ended it (lwp_exit in the handler; in
 * the async form its LwpExit reached the thread as an uncaught exception
 * before this continuation, and the worker was unbound). Its signal state
 * is gone with it; the put-back took the signals lock with no owner id, a
 * kernel panic. Then only the error goes on (as run_async_restart's).
 */
function suspend_leave(old: readonly [number, number], e: unknown, me: number): never {
  if (cur.lwp !== me) throw e;
  sig_lock();
  const ls = ls_get(cur.lid);
  sig_setmask(ls, old[0], old[1]);
  const now = sig_recheck_self(ls);
  sig_unlock();
  if (now) postsig();
  throw e;
}

/**
 * Replaces the caller's mask with `mask` and sleeps until a signal is taken
 * (its handler runs with `mask` in force); then puts the old mask back and
 * fails with EINTR, as it always does.
 */
export function sigsuspend(mask: sigset_t): never {
  sysenter();
  const old = suspend_enter(mask);
  const me = cur.lwp;
  try { return run_sync(suspend_gen(false)); } catch (e) { return suspend_leave(old, e, me); }
}
/** The Promise form of {@link sigsuspend}: rejects with EINTR once a handler ran. */
export async function sigsuspend_async(mask: sigset_t, opts?: AsyncOptions): Promise<never> {
  sysenter();
  const signal = copyin_async_options(opts, 'sigsuspend');
  const old = suspend_enter(mask);
  const me = cur.lwp;
  try { return await run_async(suspend_gen(true), signal); } catch (e) { return suspend_leave(old, e, me); }
}
