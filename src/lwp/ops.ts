/**
 * LWP lifecycle inside the kernel: creation, exit, freeing, suspension at
 * the syscall boundary (userret), and the sleep hooks that keep an LWP's
 * state truthful while it sleeps. The states, the transitions each function
 * here makes, the l_flag bits and the locks are tabled in lwp/lwp.ts's
 * header; each function below names the locks it expects.
 */
import { I32, f64_set } from '../kern/kmem.js';
import { cur, panicked, H_PROC_EXIT, H_SCRATCH } from '../kern/hdr.js';
import { LwpExit } from './exit.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { on_panic, panic_error } from '../kern/panic.js';
import { mono_now } from '../kern/time.js';
import { sysent_set_userret_hook, sysent_set_unbound_hook, sysent_sigret, sysent_sigcheck } from '../kern/sysent.js';
import { sq_flags, sq_lnext, sq_setlnext, sq_lid, sq_wake_all, sq_orphan, sq_free, sq_wmesg, sq_kick, sq_interrupt, sq_unsleep, sq_spare_drop, SQF_INTERRUPTIBLE } from '../kern/sleepq.js';
import { sq_set_sleep_ops, SQC_CANCELLED, SQC_SIGNAL } from '../kern/sleepwait.js';
import { WM_PARKED } from './park.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { wmesg_register } from '../kern/wmesg.js';
import { mutex_set_sleep_hook } from '../kern/mutex.js';
import { spin_set_running_hook } from '../kern/spin.js';

const WM_KMUTEX = wmesg_register('kmutex');
import {
  L, LSIDL, LSRUN, LSSLEEP, LSZOMB, LSONPROC, LSSUSPENDED, LSSTOP, LW_WSUSPEND, LW_DETACHED, LW_WAITING,
  LW_WEXIT, LW_MAIN, LW_THREW, LW_DIED, LW_USERRET, LW_CANCELLED, LW_PENDING, LW_PENDSIG, LW_NUDGE, LW_NOREF, LWP, maxlwp, slot_handle, lwp_byid,
  lwp_dead_handle,
} from './lwp.js';
import { P, curproc, proc_exit, lwp_exit_hooks, lwp_userret_hooks, lwp_nudge_hooks } from '../kern/proc.js';
import { SYSID_BASE } from '../kern/hdr.js';
import { diag_publish, diag_listened, dc_lwp_exit } from '../kern/diag.js';

export const C_CREATED = kstat_counter('lwp', 'created');
const C_EXITED = kstat_counter('lwp', 'exited');
const C_COLLECTED = kstat_counter('lwp', 'collected');
const C_SUSPENDS = kstat_counter('lwp', 'suspended');

/**
 * LWP `h` (not LWP 1) counts as live from its create until it is a zombie
 * or found never to have existed: p_nlive, and p_nkeep unless unref'd
 * (LW_NOREF: lwp_ref). Under p.
 */
export function lwp_live_add(p: number): void {
  I32[p + P.nlive]++;
  I32[p + P.nkeep]++;
}
export function lwp_live_drop(p: number, h: number): void {
  I32[p + P.nlive]--;
  if ((Atomics.load(I32, h + L.flag) & LW_NOREF) === 0) I32[p + P.nkeep]--;
}

/** Is this state counted in p_nrlwps (running or likely to run)? */
export function counted(stat: number): boolean {
  return stat === LSRUN || stat === LSONPROC || stat === LSSLEEP;
}

/**
 * Allocates and initialises an LWP (proc lock held by the caller). The new
 * LWP is IDL; the caller sets it running or suspended. Returns 0 at maxlwp
 * (the caller drops the lock and fails with EAGAIN): nothing here throws.
 */
export function lwp_alloc(detached: boolean): number {
  const p = curproc();
  const max = maxlwp();
  if (I32[p + P.nlwps] >= max) return 0;
  let lid = I32[p + P.nlwpid];
  let h = 0;
  for (let tries = 0; tries < max; tries++) {
    lid = lid + 1 >= SYSID_BASE ? 1 : lid + 1;
    const c = slot_handle((lid - 1) % max);
    if (Atomics.load(I32, c + L.stat) === 0) { h = c; break; }
  }
  if (h === 0) return 0;
  I32.fill(0, h, h + LWP.words);
  I32[h + L.lid] = lid;
  f64_set(h, L.created, mono_now());
  if (detached) { I32[h + L.flag] = LW_DETACHED; I32[p + P.ndlwps]++; }
  Atomics.store(I32, h + L.stat, LSIDL);
  I32[p + P.nlwpid] = lid;
  I32[p + P.nlwps]++;
  kstat_add(C_CREATED);
  return h;
}

/** Sets an IDL LWP running or suspended (proc lock held). */
export function lwp_setrun(h: number, suspended: boolean): void {
  const p = curproc();
  mutex_enter(h + L.lock);
  if (suspended) {
    I32[h + L.resume] = LSRUN;
    Atomics.or(I32, h + L.flag, LW_WSUSPEND);
    Atomics.store(I32, h + L.stat, LSSUSPENDED);
  } else {
    Atomics.store(I32, h + L.stat, LSRUN);
    I32[p + P.nrlwps]++;
  }
  mutex_exit(h + L.lock);
}

/** Binds the calling thread to LWP h (the trampoline, and boot for LWP 1). */
export function lwp_bind(h: number): void {
  cur.lid = I32[h + L.lid];
  cur.lwp = h;
  cur.nlocksw = h + L.nlocks;
  cur.sparew = h + L.sparesl;
}

/**
 * A worker whose LWP has just exited itself (lwp_exit, about to throw its
 * LwpExit) stops being that LWP: code the unwinding runs (a `finally`, a
 * catch-all) may call the kernel again, and the LWP is a zombie by then, or
 * already freed and its slot another LWP's. Bound to it still, such a call
 * wrote its l_stat (a sleep took the zombie to SLEEP and back to ONPROC,
 * and lwp_wait never collected it) and could act for the slot's next LWP.
 * Bound to the dead struct, every kernel entry unwinds again (lwp_userret),
 * as lwp_exit's "does not return" says; the trampoline unbinds the thread.
 */
export function lwp_bind_exited(): void {
  const d = lwp_dead_handle();
  Atomics.or(I32, d + L.flag, LW_PENDING); // constant; set here because kernel memory is zeroed at boot
  cur.lwp = d;
  cur.nlocksw = H_SCRATCH;
  cur.sparew = 0;
}

/** The thread has started running LWP h: RUN -> ONPROC. */
export function lwp_startup(h: number): void {
  mutex_enter(h + L.lock);
  if (Atomics.load(I32, h + L.stat) === LSRUN) Atomics.store(I32, h + L.stat, LSONPROC);
  else if (Atomics.load(I32, h + L.stat) === LSSUSPENDED) I32[h + L.resume] = LSONPROC;
  mutex_exit(h + L.lock);
}

/** Frees a zombie's slot (proc lock held): lwp_free. */
export function lwp_free(h: number): void {
  const p = curproc();
  sq_spare_drop(h + L.sparesl); // one its worker kept when it died (an exit gives it back itself)
  I32[p + P.nlwps]--;
  I32[p + P.nzlwps]--;
  if (Atomics.load(I32, h + L.flag) & LW_DETACHED) I32[p + P.ndlwps]--;
  Atomics.store(I32, h + L.stat, 0);
  kstat_add(C_COLLECTED);
  sq_wake_all(p + P.lwpcv);
}

/**
 * Detaches every async sleeper of LWP h from the queues it sleeps on
 * (its thread will not resume them). With `free`, also returns them to the
 * cache, for a thread that is gone or about to end.
 */
export function lwp_orphan_sleepers(h: number): number {
  const lid = I32[h + L.lid];
  // Take the whole chain under the LWP lock (no allocation there); the
  // entries are then ours alone: the thread that owned them runs no more.
  mutex_enter(h + L.lock);
  let sl = I32[h + L.asq]!;
  I32[h + L.asq] = 0; I32[h + L.nasync] = 0;
  mutex_exit(h + L.lock);
  let n = 0;
  while (sl !== 0) {
    const next = sq_lnext(sl);
    n++;
    if (sq_lid(sl) === lid) { sq_orphan(sl); sq_free(sl); }
    sl = next;
  }
  return n;
}

/** Outcome of {@link lwp_exit_common}. */
export const EXIT_DONE = 0, EXIT_LAST = 1, EXIT_ALREADY = 2;

/**
 * The exit of LWP h (the caller's own, or on behalf of a dead worker):
 * becomes a zombie for lwp_wait, or is freed at once when detached; the
 * last LWP out ends the process (exit1 with status 0, as NetBSD and
 * Solaris do for a controlled exit).
 */
export function lwp_exit_common(h: number, lid: number, extraFlags: number): number {
  const p = curproc();
  // An exiting thread keeps no spare sleeper from here on: its struct may be
  // freed (lwp_free) as soon as it is a zombie, while the thread still runs.
  if (cur.lwp === h && cur.sparew !== 0) { sq_spare_drop(cur.sparew); cur.sparew = 0; }
  if (I32[h + L.lid] === lid) lwp_exit_hooks(lid);
  mutex_enter(p + P.lock);
  const stat = Atomics.load(I32, h + L.stat);
  if (I32[h + L.lid] !== lid || stat === 0 || stat === LSZOMB) { mutex_exit(p + P.lock); return EXIT_ALREADY; }
  Atomics.or(I32, h + L.flag, LW_WEXIT | extraFlags);
  if (I32[p + P.nlwps] - I32[p + P.nzlwps] === 1) {
    mutex_exit(p + P.lock);
    kstat_add(C_EXITED);
    diag_exit(h, lid, extraFlags);
    proc_exit(0);
    return EXIT_LAST;
  }
  if (I32[h + L.nwait] !== 0) lwp_drop_waits(h, lid, counted(stat));
  I32[p + P.nzlwps]++;
  if (counted(stat)) I32[p + P.nrlwps]--;
  if ((Atomics.load(I32, h + L.flag) & LW_MAIN) === 0) lwp_live_drop(p, h);
  mutex_enter(h + L.lock);
  Atomics.store(I32, h + L.stat, LSZOMB);
  mutex_exit(h + L.lock);
  kstat_add(C_EXITED);
  if (Atomics.load(I32, h + L.flag) & LW_DETACHED) lwp_free(h);
  else sq_wake_all(p + P.lwpcv);
  mutex_exit(p + P.lock);
  diag_exit(h, lid, extraFlags);
  return EXIT_DONE;
}

/**
 * Takes back the lwp_wait calls LWP h leaves in progress as it exits (proc
 * lock held): lwp_wait_async sleeps its thread abandons (lwp_orphan_sleepers
 * freed their sleepers; nothing will run the rest of lwp_wait1, which would
 * have undone these itself), or a wait its worker died in. A blocking one
 * left counted in p_nlwpwait made every later lwp_wait see one waiter more
 * than there is (EDEADLK while the target still ran); left as a target's first waiter,
 * they kept lwp_wait(0) from ever collecting it. Its waiters (lwp_wait1
 * sleeping on p_lwpcv) re-check: the exit wakes them (a zombie's
 * sq_wake_all, or lwp_free's).
 */
function lwp_drop_waits(h: number, lid: number, running: boolean): void {
  const p = curproc();
  // A blocking wait its worker died in (lwp_wait1); not while suspended (uncount).
  if ((Atomics.and(I32, h + L.flag, ~LW_WAITING) & LW_WAITING) !== 0 && running) I32[p + P.nlwpwait]--;
  I32[h + L.nwait] = 0;
  I32[h + L.waitingfor] = 0;
  for (let i = 0, m = maxlwp(); i < m; i++) {
    const h2 = slot_handle(i);
    if (Atomics.load(I32, h2 + L.stat) !== 0 && I32[h2 + L.waiter] === lid) I32[h2 + L.waiter] = 0;
  }
}

/**
 * Publishes LWP lid's exit (h its struct; no lock held). In the LWP's own
 * thread the subscribers run with the thread bound to the dead handle, as
 * the code lwp_exit unwinds through: the LWP is a zombie by now (or freed,
 * its slot perhaps another LWP's), and a syscall a subscriber made while
 * still bound to it ran as that LWP (a sleep took the zombie back to
 * ONPROC: lwp_wait never collected it). Such a call throws LwpExit now.
 */
function diag_exit(h: number, lid: number, fl: number): void {
  if (!diag_listened(dc_lwp_exit)) return;
  const make = (): object => ({ lid, threw: (fl & LW_THREW) !== 0, died: (fl & LW_DIED) !== 0 });
  if (h !== cur.lwp) { diag_publish(dc_lwp_exit, make); return; }
  const nlocksw = cur.nlocksw, sparew = cur.sparew;
  lwp_bind_exited();
  try {
    diag_publish(dc_lwp_exit, make);
  } finally {
    cur.lwp = h; cur.nlocksw = nlocksw; cur.sparew = sparew;
  }
}

/**
 * lwp_suspend's core (proc lock held): flags the target; a target asleep
 * interruptibly is nudged so it suspends at once. A park is made runnable
 * (kern_lwp.c's lwp_suspend, LSSLEEP with LW_SINTR: setrunnable): it
 * returns 0 once continued. Other interruptible sleeps suspend in place and
 * resume their sleep. Suspension of the caller itself happens in userret,
 * at the end of the syscall.
 */
export function lwp_suspend_locked(t: number): void {
  mutex_enter(t + L.lock);
  const stat = Atomics.load(I32, t + L.stat);
  if (stat !== LSSUSPENDED) {
    Atomics.or(I32, t + L.flag, LW_WSUSPEND);
    if (stat === LSSLEEP || stat === LSSTOP) kick_sleepers(t);
  }
  mutex_exit(t + L.lock);
}

/**
 * A waiter counts in p_nlwpwait only while it counts in p_nrlwps, as a
 * NetBSD waiter always does (asleep in cv_wait_sig; its suspension waits
 * for userret): lwp_wait1's check takes every waiter for one of the
 * running. Ours halts in place, out of p_nrlwps; left a waiter, it made
 * the check see one LWP fewer that can still exit (EDEADLK while one ran).
 * Proc lock held; `h` leaves (uncount) or re-enters (recount) the
 * RUN/ONPROC/SLEEP states.
 */
function uncount(p: number, h: number): void {
  I32[p + P.nrlwps]--;
  if (Atomics.load(I32, h + L.flag) & LW_WAITING) I32[p + P.nlwpwait]--;
}
function recount(p: number, h: number): void {
  I32[p + P.nrlwps]++;
  if (Atomics.load(I32, h + L.flag) & LW_WAITING) I32[p + P.nlwpwait]++;
}

/** lwp_continue's core (proc lock held). */
export function lwp_continue_locked(t: number): void {
  const p = curproc();
  mutex_enter(t + L.lock);
  Atomics.and(I32, t + L.flag, ~LW_WSUSPEND);
  if (Atomics.load(I32, t + L.stat) === LSSUSPENDED) {
    const to = I32[t + L.resume] || LSRUN;
    Atomics.store(I32, t + L.stat, to);
    if (counted(to)) recount(p, t);
    Atomics.store(I32, t + L.suspw, 1);
    Atomics.notify(I32, t + L.suspw);
  }
  mutex_exit(t + L.lock);
}

function kick_sleepers(t: number): void {
  const s = I32[t + L.sleeping];
  if (s !== 0) kick_one(s);
  for (let sl = I32[t + L.asq]; sl !== 0; sl = sq_lnext(sl)) kick_one(sl);
}
function kick_one(sl: number): void {
  if (sq_wmesg(sl) === WM_PARKED && (sq_flags(sl) & SQF_INTERRUPTIBLE) !== 0 && sq_unsleep(sl)) return;
  sq_kick(sl);
}

/** How many interruptible sleepers t has (t's lock held). */
export function interruptible_sleepers(t: number): number {
  let n = 0;
  const s = I32[t + L.sleeping];
  if (s !== 0 && (sq_flags(s) & SQF_INTERRUPTIBLE)) n++;
  for (let sl = I32[t + L.asq]; sl !== 0; sl = sq_lnext(sl)) if (sq_flags(sl) & SQF_INTERRUPTIBLE) n++;
  return n;
}
/** Interrupts every interruptible sleeper of t (t's lock held); allocates nothing. */
export function interrupt_sleepers(t: number): void {
  const s = I32[t + L.sleeping];
  if (s !== 0 && (sq_flags(s) & SQF_INTERRUPTIBLE)) sq_interrupt(s);
  for (let sl = I32[t + L.asq]; sl !== 0; sl = sq_lnext(sl)) if (sq_flags(sl) & SQF_INTERRUPTIBLE) sq_interrupt(sl);
}

/**
 * The calling LWP stops here while it is suspended: the kernel boundary
 * where it holds no locks (NetBSD's lwp_userret).
 */
export function lwp_halt(): void {
  const h = cur.lwp;
  if (h === 0) return;
  const p = curproc();
  mutex_enter(p + P.lock);
  while (Atomics.load(I32, h + L.flag) & LW_WSUSPEND) {
    mutex_enter(h + L.lock);
    const stat = Atomics.load(I32, h + L.stat);
    if (stat !== LSSUSPENDED) {
      I32[h + L.resume] = stat;
      if (counted(stat)) uncount(p, h);
      Atomics.store(I32, h + L.stat, LSSUSPENDED);
      kstat_add(C_SUSPENDS);
      // lwp_wait's deadlock check counts running LWPs: let waiters re-check.
      sq_wake_all(p + P.lwpcv);
    }
    Atomics.store(I32, h + L.suspw, 0);
    mutex_exit(h + L.lock);
    mutex_exit(p + P.lock);
    if (!panicked()) Atomics.wait(I32, h + L.suspw, 0);
    if (panicked()) throw panic_error('lwp_halt');
    mutex_enter(p + P.lock);
  }
  mutex_exit(p + P.lock);
}

// After a panic nobody will continue a suspended LWP or end the process
// normally: wake them so they fail (EIO) or end (the main thread).
on_panic(() => {
  for (let i = 0; i < maxlwp(); i++) {
    const h = slot_handle(i);
    Atomics.store(I32, h + L.suspw, 1);
    Atomics.notify(I32, h + L.suspw);
  }
  Atomics.notify(I32, H_PROC_EXIT);
});

function on_sleep_enter(sl: number): void {
  const h = cur.lwp;
  if (h === 0) return;
  mutex_enter(h + L.lock);
  I32[h + L.sleeping] = sl;
  I32[h + L.wmesg] = sq_wmesg(sl);
  Atomics.store(I32, h + L.stat, LSSLEEP);
  mutex_exit(h + L.lock);
}
function on_sleep_leave(): void {
  const h = cur.lwp;
  if (h === 0) return;
  mutex_enter(h + L.lock);
  I32[h + L.sleeping] = 0;
  // A plain read: every writer of l_stat holds l_lock, as we do, or is this
  // thread (the kernel-mutex hook).
  if (I32[h + L.stat] === LSSLEEP && I32[h + L.nasync] === 0) {
    Atomics.store(I32, h + L.stat, LSONPROC);
    I32[h + L.wmesg] = 0;
  }
  mutex_exit(h + L.lock);
}
function on_async_enter(sl: number): void {
  const h = cur.lwp;
  if (h === 0) return;
  mutex_enter(h + L.lock);
  sq_setlnext(sl, I32[h + L.asq]);
  I32[h + L.asq] = sl;
  I32[h + L.nasync]++;
  I32[h + L.wmesg] = sq_wmesg(sl);
  if (Atomics.load(I32, h + L.stat) === LSONPROC) Atomics.store(I32, h + L.stat, LSSLEEP);
  mutex_exit(h + L.lock);
}
function on_async_leave(sl: number): void {
  const h = cur.lwp;
  // The LWP may have exited (and its slot been reused) while this wait was pending.
  if (h === 0 || I32[h + L.lid] !== sq_lid(sl)) return;
  mutex_enter(h + L.lock);
  let prev = 0;
  for (let s = I32[h + L.asq]; s !== 0; prev = s, s = sq_lnext(s)) {
    if (s !== sl) continue;
    if (prev === 0) I32[h + L.asq] = sq_lnext(s); else sq_setlnext(prev, sq_lnext(s));
    I32[h + L.nasync]--;
    break;
  }
  if (I32[h + L.nasync] === 0 && I32[h + L.sleeping] === 0 && Atomics.load(I32, h + L.stat) === LSSLEEP) {
    Atomics.store(I32, h + L.stat, LSONPROC);
    I32[h + L.wmesg] = 0;
  }
  mutex_exit(h + L.lock);
}
function consume_cancel(start: boolean): number {
  const h = cur.lwp;
  if (h === 0) return 0;
  const f = Atomics.load(I32, h + L.flag);
  if ((f & (LW_CANCELLED | LW_PENDSIG)) === 0) return 0;
  const cancelled = (f & LW_CANCELLED) !== 0 && (Atomics.and(I32, h + L.flag, ~LW_CANCELLED) & LW_CANCELLED) !== 0;
  // A deliverable signal ends the sleep too, but stays pending: the signal
  // code clears LW_PENDSIG once it has taken the signal. The flag may be
  // stale (the process signal it was set for went to another taker): the
  // signal code checks, under its lock, so that no sleep ends in a spurious
  // EINTR (called with no lock held: before the sleep, or after it, before
  // the object lock is taken again).
  if (cancelled) return SQC_CANCELLED;
  return start && (f & LW_PENDSIG) !== 0 && sysent_sigcheck() ? SQC_SIGNAL : 0;
}
/** consume_cancel's flag, taken by a sleep that had already ended otherwise: the next sleep's (sleepwait.ts sq_begin_intr). */
function cancel_again(): void {
  const h = cur.lwp;
  if (h !== 0) Atomics.or(I32, h + L.flag, LW_CANCELLED);
}
function must_halt(): boolean {
  const h = cur.lwp;
  return h !== 0 && (Atomics.load(I32, h + L.flag) & LW_WSUSPEND) !== 0;
}
/** The nudge hooks, when another thread asked for them (LW_NUDGE); from a sleep or userret, no lock held. */
function nudged(): void {
  const h = cur.lwp;
  if (h !== 0 && (Atomics.load(I32, h + L.flag) & LW_NUDGE) !== 0 && (Atomics.and(I32, h + L.flag, ~LW_NUDGE) & LW_NUDGE) !== 0) lwp_nudge_hooks();
}

sq_set_sleep_ops({
  enter: on_sleep_enter,
  leave: on_sleep_leave,
  consume_cancel,
  cancel_again,
  must_halt,
  nudged,
  halt: lwp_halt,
  // A suspended LWP runs nothing, not even its event loop: halt blocks the thread.
  haltAsync: async () => lwp_halt(),
  asyncEnter: on_async_enter,
  asyncLeave: on_async_leave,
});
/**
 * NetBSD's lwp_userret, at syscall entry: the work other LWPs posted for
 * this one, then a pending suspension.
 */
function lwp_userret(): void {
  const h = cur.lwp;
  if (h === 0) return;
  if (h === lwp_dead_handle()) throw new LwpExit(); // its LWP exited: lwp_bind_exited
  if ((Atomics.and(I32, h + L.flag, ~LW_PENDING) & LW_PENDING) !== 0) lwp_userret_hooks();
  nudged();
  if (Atomics.load(I32, h + L.flag) & LW_WSUSPEND) lwp_halt();
  if (Atomics.load(I32, h + L.flag) & LW_PENDSIG) sysent_sigret();
}

/**
 * Asks LWP `lid` to run the on_nudge hooks now (any thread; no lock
 * needed): at its next syscall, or at once in a sync sleep it is in, which
 * is kicked (woken to look, not ended: a kick that lands after the sleep
 * ended is a spurious wake-up, which every sleep tolerates). An LWP that
 * runs JavaScript without kernel calls, or waits outside the kernel, runs
 * them when it next enters the kernel.
 */
export function lwp_nudge(lid: number): void {
  const h = lwp_byid(lid);
  if (h === 0) return;
  Atomics.or(I32, h + L.flag, LW_NUDGE);
  const sl = Atomics.load(I32, h + L.sleeping);
  if (sl !== 0) sq_kick(sl);
}

/** Sends LWP `lid` through the on_userret hooks at its next syscall (any thread; no lock needed). */
export function lwp_post_userret(lid: number): void {
  const h = lwp_byid(lid);
  if (h !== 0) Atomics.or(I32, h + L.flag, LW_PENDING);
}

sysent_set_userret_hook(L.flag, LW_USERRET, lwp_userret);
// A syscall of an LWP that is over, in the worker its trampoline unbound: as on its dead handle.
sysent_set_unbound_hook(() => { throw new LwpExit(); });
spin_set_running_hook((lid) => {
  const h = lwp_byid(lid);
  if (h === 0) return false;
  const st = Atomics.load(I32, h + L.stat);
  return st === LSONPROC || st === LSRUN;
});
// Without the LWP lock (we may be waiting for it): the state is only for show here.
mutex_set_sleep_hook((asleep) => {
  const h = cur.lwp;
  if (h === 0) return;
  if (asleep) { if (Atomics.compareExchange(I32, h + L.stat, LSONPROC, LSSLEEP) === LSONPROC) I32[h + L.wmesg] = WM_KMUTEX; }
  else if (I32[h + L.wmesg] === WM_KMUTEX) { I32[h + L.wmesg] = 0; Atomics.compareExchange(I32, h + L.stat, LSSLEEP, LSONPROC); }
});

