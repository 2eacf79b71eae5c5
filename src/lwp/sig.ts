/**
 * The LWP side of signal delivery (kern_sig.c's sigpost / signotify as far
 * as they touch the LWP): flagging an LWP that has a deliverable signal
 * (LW_PENDSIG, tested at its next syscall entry with the other userret
 * bits) and ending one of its interruptible sleeps, so that it takes the
 * signal now. The signal state itself is the signals subsystem's
 * (signals/sig.ts); this file only touches struct lwp, under l_lock.
 */
import { I32 } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { sq_flags, sq_lnext, sq_interrupt_quiet, sq_waitword, SQF_INTERRUPTIBLE } from '../kern/sleepq.js';
import { L, LSIDL, LSZOMB, LSSLEEP, LW_PENDSIG, lwp_byid } from './lwp.js';

/**
 * Flags LWP `lid` for delivery and interrupts one of its interruptible
 * sleeps: the synchronous one if it has one, else its most recently
 * registered async one (the first of its chain, built newest first; each
 * interrupted call fails with EINTR after the handler ran, or restarts). Takes the LWP's lock (after the caller's signal lock). The
 * sleeper's wait word goes to `wake`, to be notified once the caller has
 * dropped its locks. Returns LSP_GONE when the LWP is gone, LSP_WOKEN when
 * a sleep of it was ended (it takes the signal on its way out of that
 * sleep), else LSP_FLAGGED (it takes it at its next kernel entry, or its
 * event loop must be rung). `t` is the LWP's handle when the caller has
 * just looked it up ({@link lwp_live_handle}, under a lock that keeps the
 * LWP from being freed meanwhile): one lookup instead of two.
 */
export function lwp_signal_post(lid: number, wake: (w: number) => void, t = lwp_byid(lid)): number {
  if (t === 0) return LSP_GONE;
  Atomics.or(I32, t + L.flag, LW_PENDSIG);
  let r = LSP_FLAGGED;
  mutex_enter(t + L.lock);
  if (I32[t + L.lid] === lid && Atomics.load(I32, t + L.stat) === LSSLEEP) {
    const s = I32[t + L.sleeping]!;
    if (s !== 0 && (sq_flags(s) & SQF_INTERRUPTIBLE) !== 0) { if (sq_interrupt_quiet(s)) { wake(sq_waitword(s)); r = LSP_WOKEN; } }
    else {
      for (let sl = I32[t + L.asq]!; sl !== 0; sl = sq_lnext(sl)) {
        if ((sq_flags(sl) & SQF_INTERRUPTIBLE) !== 0 && sq_interrupt_quiet(sl)) { wake(sq_waitword(sl)); r = LSP_WOKEN; break; }
      }
    }
  }
  mutex_exit(t + L.lock);
  return r;
}
/** What lwp_signal_post did. */
export const LSP_GONE = 0, LSP_FLAGGED = 1, LSP_WOKEN = 2;

/** Clears the calling LWP's LW_PENDSIG (its own signal code found nothing left to take). */
export function lwp_signal_clear(h: number): void { Atomics.and(I32, h + L.flag, ~LW_PENDSIG); }
/** Sets it again (a signal became deliverable to the caller itself, e.g. by unblocking). */
export function lwp_signal_set(h: number): void { Atomics.or(I32, h + L.flag, LW_PENDSIG); }
/** Is LWP `h` flagged for delivery (a lock-free read: a generation sets the flag before it wakes anyone)? */
export function lwp_signal_flagged(h: number): boolean { return (Atomics.load(I32, h + L.flag) & LW_PENDSIG) !== 0; }

/** How a live LWP looks to the choice of a signal's taker. */
export const LWPV_NONE = 0, LWPV_RUNNING = 1, LWPV_SLEEPING = 2;
/**
 * How LWP `lid` looks to the choice of a signal's taker: LWPV_NONE when it
 * is not live (IDL, a zombie, gone), else whether it sleeps. A lock-free
 * read: a stale view only chooses a worse taker, never a wrong one (the
 * taker takes the signal under the signal lock).
 */
export function lwp_view(lid: number): number {
  const h = lwp_byid(lid);
  if (h === 0) return LWPV_NONE;
  const st = Atomics.load(I32, h + L.stat);
  return st === LSIDL || st === LSZOMB ? LWPV_NONE : st === LSSLEEP ? LWPV_SLEEPING : LWPV_RUNNING;
}

/** Is `lid` a live LWP (not IDL, not a zombie)? */
export function lwp_is_live(lid: number): boolean { return lwp_live_handle(lid) !== 0; }
/** The handle of LWP `lid` when it is live (not IDL, not a zombie), else 0. */
export function lwp_live_handle(lid: number): number {
  const h = lwp_byid(lid);
  if (h === 0) return 0;
  const st = Atomics.load(I32, h + L.stat);
  return st !== LSIDL && st !== LSZOMB ? h : 0;
}

/**
 * Does LWP `lid` have an interruptible sleep pending (sync or async)? Its
 * own thread asks, from its event loop: such a sleep was (or will be) ended
 * by the signal and takes it itself, so the event loop leaves it alone.
 */
export function lwp_sleeps_interruptibly(lid: number): boolean {
  const t = lwp_byid(lid);
  if (t === 0) return false;
  mutex_enter(t + L.lock);
  let n = false;
  const s = I32[t + L.sleeping]!;
  if (s !== 0 && (sq_flags(s) & SQF_INTERRUPTIBLE) !== 0) n = true;
  for (let sl = I32[t + L.asq]!; !n && sl !== 0; sl = sq_lnext(sl)) if ((sq_flags(sl) & SQF_INTERRUPTIBLE) !== 0) n = true;
  mutex_exit(t + L.lock);
  return n;
}
