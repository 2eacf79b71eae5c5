/**
 * Signals: the theory of the subsystem, and its kernel core (NetBSD
 * kern_sig.c's kpsignal / sigpost / issignal / postsig, as sys_lwp.c and
 * kern_lwp.c use them; illumos timer.c's SIGEV_SIGNAL; DragonFly's filt_sig).
 *
 * ---- Generation ------------------------------------------------------------
 *
 * A signal is generated for the process (kill, sigqueue, a timer, the host)
 * or for one LWP (lwp_kill). Generation, under the signal lock:
 *
 *   1. counts it for EVFILT_SIGNAL (sigact ngen: also when it is then
 *      ignored, blocked or coalesced);
 *   2. discards it when its action is to ignore it (SIG_IGN, or SIG_DFL of a
 *      signal whose default is to ignore) and no LWP blocks it — a blocked
 *      one stays pending, so that sigwait can take it (Linux and NetBSD);
 *   3. makes it pending: a ksiginfo on the process's or the LWP's queue
 *      and a bit in that pending set. A standard signal already pending
 *      coalesces; a realtime one queues (EAGAIN at `sigqueue_max`);
 *   4. chooses who takes it (below) and tells that LWP: a sigwait sleeper
 *      is woken (SQ_WOKEN: it takes the signal itself), any other taker is
 *      flagged LW_PENDSIG and one interruptible sleep of it is ended
 *      (lwp/sig.ts), and its thread's event loop is rung (its `bell`).
 *
 * SIGKILL and SIGSTOP are not made pending: SIGKILL kills the process at
 * once, SIGSTOP stops it at once, through the host (kill(2) of our own pid),
 * whichever LWP sends them and whatever they are sent to. A stop signal
 * discards a pending SIGCONT and SIGCONT a pending stop signal (POSIX).
 *
 * ---- Who takes a signal ----------------------------------------------------
 *
 * An LWP-directed signal is taken by its LWP only. A process-directed one is
 * taken by one LWP: first an LWP in sigwait for it; else one that does not
 * block it and, when the signal is caught by function handlers, has one
 * (a JS function cannot move between threads: it runs in the thread that
 * installed it): the caller itself if it qualifies, else one asleep (it
 * wakes now), else one whose event loop listens (`armed`), else any. The
 * signal stays on the process queue until the chosen LWP takes it there; if
 * that LWP blocks it or exits first, it is offered again (sig_redistribute).
 * A sigwaiter is handed its signal at once, onto its own queue; it stays a
 * waiter until it runs again, so a burst may follow the first there, but
 * its wait returns one: the rest go back to the process queue when it
 * takes it, as does everything handed to it when its wait ends in EINTR
 * or its LWP exits (ls_unhand), in the order they were generated (before
 * any younger one of their number there), and are offered again, one to
 * each LWP in sigwait for them.
 * With no taker it stays pending on the process, until an LWP unblocks it,
 * installs a handler, or waits for it. Function handlers go with their
 * thread: when the last LWP holding one for a signal exits, the signal's
 * disposition is SIG_DFL again (handlers_gone), so a caught signal always
 * has a thread that can take it.
 *
 * ---- Delivery (postsig) ----------------------------------------------------
 *
 * An LWP takes its signals in its own thread with no kernel lock held:
 *
 *   - at syscall entry (sysenter: LW_PENDSIG is a userret bit);
 *   - when an interruptible sleep ended because of it: the sleeping call
 *     runs the handlers, then fails with EINTR or, when every handler had
 *     SA_RESTART and the call is restartable (lwp_wait, sigwait,
 *     sigwaitinfo), starts again; never restarted: lwp_park, port_get(n),
 *     kevent, sigsuspend, sigtimedwait. The async forms likewise: their
 *     Promise rejects with EINTR after the handler ran;
 *   - when its event loop runs and its bell rang (an idle LWP's thread);
 *   - before sigprocmask or sigsuspend returns, when they unblocked one.
 *
 * JavaScript that makes no system call and does not return to its event
 * loop cannot be preempted: a signal for an LWP running such code waits
 * until it enters the kernel or yields.
 *
 * Taking a signal: the lowest-numbered deliverable one (a pending signal
 * not blocked; a caught-by-function one only where this thread has the
 * function), its ksiginfo taken off the queue (the LWP's first). Then, by
 * disposition: a handler runs with the mask | sa_mask | the signal (unless
 * SA_NODEFER), the mask restored after; SA_RESETHAND resets the disposition
 * first. SIG_DFL acts by the default action (consts.ts): terminate (exit
 * hooks run — ports closed, timers deleted — then the process dies of the
 * signal through the host, or exits 128 + signo where Node keeps the signal
 * for itself: SIGUSR1, SIGPIPE), stop (the host stops the process), or
 * nothing. A handler that throws is reported as an uncaught exception of
 * its thread, after the kernel has finished with the signal.
 *
 * ---- Locks -----------------------------------------------------------------
 *
 * The signal lock (class sig: after proc and timer, before lwp; see
 * sigstate.ts) guards dispositions, pending sets, queues, masks and the
 * sigwait queues. It is held while generating and while taking, never while
 * a handler runs, and never across a host kill(2).
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { type Errno } from '../kern/errno.js';
import { NSIG, SI_TIMER, SI_QUEUE, SIGKILL, SIGSTOP, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU } from './consts.js';
import { lwp_signal_post, LSP_WOKEN, lwp_signal_clear, lwp_signal_set, lwp_view, LWPV_NONE, LWPV_SLEEPING } from '../lwp/kapi.js';
import { DA_IGN, DA_CONT, sig_default_action } from './defaults.js';
import { sig_first, sig_next, sig_word, sig_bit, CANTMASK0 } from './sigset.js';
import { os_update_locked } from './route.js';
import { SG, SA, LS, SK_DFL, SK_IGN, SK_FUNC, sigacts_h, sigact_h, lwpsig_h, lwpsig_count } from './sigstate.js';
import { sq_wake_one } from '../kern/sleepq.js';
import {
  PQ, LQ, LIVE, sig_lock, sig_unlock, ls_peek, ls_init, ls_drain, ls_unhand, ls_retire, mask_recount, wait_forget, has, sigput, sigget, hand_to_waiter,
  put_entry, put_entry_reset, C_DISCARDED, sig_discard_all, sig_wake_later, type siginfo_t, type SigSource,
} from './sigqueue.js';

export {
  sig_lock, sig_unlock, sig_lockword, ls_get, ls_peek, ls_unhand, blank, sig_discard_all, sig_set_timer_ops, sig_withdraw_timer,
  ks_held, ks_release, type siginfo_t, type SigSource,
} from './sigqueue.js';

const C_GENERATED = kstat_counter('sig', 'generated');
const C_TAKEN = kstat_counter('sig', 'taken');
/** Generations per cause: kill of this process, lwp_kill, sigqueue, a timer, another process (the host). */
const C_BY_KILL = kstat_counter('sig', 'gen_kill');
const C_BY_LWP_KILL = kstat_counter('sig', 'gen_lwp_kill');
const C_BY_QUEUE = kstat_counter('sig', 'gen_sigqueue');
const C_BY_TIMER = kstat_counter('sig', 'gen_timer');
const C_BY_HOST = kstat_counter('sig', 'gen_host');
/** Signals whose last function handler went with its thread: back to SIG_DFL (handlers_gone). */
const C_ORPHANED = kstat_counter('sig', 'handlers_orphaned');
function count_cause(lid: number, src: SigSource): void {
  kstat_add(src.timer !== 0 ? C_BY_TIMER : src.code === SI_QUEUE ? C_BY_QUEUE : src.pid === 0 ? C_BY_HOST : lid !== 0 ? C_BY_LWP_KILL : C_BY_KILL);
}

// ---- dispositions -----------------------------------------------------------

/** Does signal s get ignored when it is taken (SIG_IGN, or SIG_DFL with a default of ignore)? */
export function sig_ignored(s: number): boolean {
  const k = I32[sigact_h(s) + SA.kind]!;
  if (k === SK_IGN) return true;
  if (k !== SK_DFL) return false;
  const da = sig_default_action(s);
  return da === DA_IGN || da === DA_CONT;
}
/** Back to SIG_DFL (lock held): SA_RESETHAND as a signal is delivered, or its last function handler's thread gone. */
export function reset_locked(s: number): void {
  const sa = sigact_h(s);
  I32[sa + SA.kind] = SK_DFL;
  I32[sa + SA.flags] = 0;
  I32[sa + SA.mask0] = 0; I32[sa + SA.mask1] = 0;
  I32[sa + SA.gen] = ++I32[sigacts_h() + SG.gen];
  clear_catch_locked(s);
}
/** Drops every thread's function handler of s (lock held; the functions are dropped lazily). */
export function clear_catch_locked(s: number): void {
  const n = lwpsig_count();
  for (let i = 0; i < n; i++) I32[lwpsig_h(i) + LS.catch0 + sig_word(s)] &= ~sig_bit(s);
}
/** Would LWP entry `ls` take signal s now (not blocked; a function handler here if caught by functions)? */
function takes(ls: number, s: number): boolean {
  if (has(ls, LS.mask0, s)) return false;
  return I32[sigact_h(s) + SA.kind] !== SK_FUNC || has(ls, LS.catch0, s);
}
/** Is LWP entry `ls` in sigwait for s? */
function waits_for(ls: number, s: number): boolean { return has(ls, LS.wait0, s); }

// ---- hooks for the other subsystems (signals/kapi.ts) ---------------------

/** Signal s was generated for the process (EVFILT_SIGNAL): called without the signal lock. */
const generated_hooks: ((s: number) => void)[] = [];
export function sig_on_generate(fn: (s: number) => void): void { generated_hooks.push(fn); }

// ---- generation -------------------------------------------------------------

/**
 * Generates s for LWP `lid` (or for the process when lid is 0): the steps of
 * the header. Returns 0, ESRCH (no such LWP) or EAGAIN. Takes and drops the
 * signal lock; the caller holds none of the locks that come after it.
 */
export function sig_generate(lid: number, s: number, src: SigSource): Errno {
  if (s === SIGKILL || s === SIGSTOP) {
    for (const h of generated_hooks) h(s);
    kstat_add(C_GENERATED);
    host_kill(s);
    return 0;
  }
  sig_lock();
  const e = lid === 0 ? generate_proc(s, src) : generate_lwp(lid, s, src);
  sig_unlock();
  if (e === 0) {
    Atomics.add(I32, sigact_h(s) + SA.ngen, 1);
    kstat_add(C_GENERATED);
    count_cause(lid, src);
    for (const h of generated_hooks) h(s);
  }
  return e;
}

function job_control(s: number): void {
  if (s === SIGCONT) { sig_discard_all(SIGTSTP); sig_discard_all(SIGTTIN); sig_discard_all(SIGTTOU); }
  else if (s === SIGTSTP || s === SIGTTIN || s === SIGTTOU) sig_discard_all(SIGCONT);
}

/** Does any live LWP block s, or wait for it? (lock held: the per-signal counts, no look at the entries) */
function blocked_somewhere(s: number): boolean {
  const sa = sigact_h(s);
  return I32[sa + SA.nblock]! > 0 || I32[sa + SA.nwait]! > 0;
}

/**
 * The per-signal counts against a look at every entry (tests): null when
 * they agree, else what differs. Takes the signal lock.
 */
export function sig_counts_audit(): string | null {
  sig_lock();
  const bad: string[] = [];
  for (let s = 1; s < NSIG; s++) {
    let nb = 0, nw = 0;
    for (let i = 0; i < lwpsig_count(); i++) {
      const ls = lwpsig_h(i);
      if (I32[ls + LS.lid] === 0) continue;
      if (has(ls, LS.mask0, s)) nb++;
      if (waits_for(ls, s)) nw++;
    }
    const sa = sigact_h(s);
    if (I32[sa + SA.nblock] !== nb || I32[sa + SA.nwait] !== nw) bad.push(`signal ${s}: nblock ${I32[sa + SA.nblock]} (entries ${nb}), nwait ${I32[sa + SA.nwait]} (entries ${nw})`);
  }
  // The list of live entries holds exactly the entries with an LWP, once each.
  let onList = 0, live = 0;
  for (let ls = LIVE.head(sigacts_h()); ls !== 0 && onList <= lwpsig_count(); ls = LIVE.after(ls)) {
    onList++;
    if (I32[ls + LS.lid] === 0) bad.push(`a free entry on the live list`);
  }
  for (let i = 0; i < lwpsig_count(); i++) if (I32[lwpsig_h(i) + LS.lid] !== 0) live++;
  if (onList !== live) bad.push(`live list ${onList} entries, live entries ${live}`);
  sig_unlock();
  return bad.length === 0 ? null : bad.join('; ');
}

function generate_lwp(lid: number, s: number, src: SigSource): Errno {
  const t = lwp_alive(lid);
  if (t === 0) return 'ESRCH';
  // No entry: the LWP is on its way out (its exit hook cleared it). A signal
  // for an exiting LWP is dropped (NetBSD: LW_WEXIT); making an entry again
  // would strand the signal with nobody to take or free it.
  const ls = ls_peek(lid);
  if (ls === 0) { kstat_add(C_DISCARDED); return 0; }
  job_control(s);
  if (sig_ignored(s) && !has(ls, LS.mask0, s) && !waits_for(ls, s)) { kstat_add(C_DISCARDED); return 0; }
  const e = sigput(LQ, ls, LS.pend0, s, src);
  if (e !== 0) return e;
  if (waits_for(ls, s)) sq_wake_one(ls + LS.wq);
  else if (takes(ls, s)) post(ls, lid, t);
  return 0;
}

function generate_proc(s: number, src: SigSource): Errno {
  job_control(s);
  if (sig_ignored(s) && !blocked_somewhere(s)) { kstat_add(C_DISCARDED); return 0; }
  const sg = sigacts_h();
  // A sigwaiter takes s first. With none of s pending on the process, the
  // signal is put on the waiter's queue at once, where choose_taker would
  // move it (hand_to_waiter) from the process queue, the only one of s there:
  // the same place and order, without the detour through the process queue,
  // and in the waiter's inline siginfo when that is free. This is the path
  // of a SIGEV_SIGNAL expiry that a sigwaitinfo in its deadline-aware wait
  // fires in its own thread (signals/wait.ts), every step of which comes
  // before the waiter returns.
  if (I32[sigact_h(s) + SA.nwait]! > 0 && !has(sg, SG.pend0, s)) {
    const w = waiter_for(s);
    if (w !== 0) {
      const e = sigput(LQ, w, LS.pend0, s, src, false);
      if (e === 0) sq_wake_one(w + LS.wq);
      return e;
    }
  }
  const e = sigput(PQ, sg, SG.pend0, s, src);
  if (e !== 0) return e;
  choose_taker(s);
  return 0;
}

/** The entry of an LWP in sigwait for s, or 0 (lock held): the caller's own first (it fired a timer in its wait). */
function waiter_for(s: number): number {
  const me = cur.lid;
  if (me !== 0 && me !== exiting) {
    const ls = ls_peek(me);
    if (ls !== 0 && waits_for(ls, s)) return ls;
  }
  for (let ls = LIVE.head(sigacts_h()); ls !== 0; ls = LIVE.after(ls)) {
    if (I32[ls + LS.lid] !== exiting && waits_for(ls, s)) return ls;
  }
  return 0;
}

/** Offers process-pending s to one LWP (lock held): the order of the header. */
function choose_taker(s: number): void {
  // Nobody waits for s and the caller takes it: the caller is the choice,
  // without a look at every LWP slot (kill or sigqueue of the process by an
  // LWP that can take the signal: the common case).
  const me = cur.lid;
  if (me !== 0 && me !== exiting && I32[sigact_h(s) + SA.nwait] === 0) {
    const ls = ls_peek(me);
    if (ls !== 0 && takes(ls, s)) { post(ls, me); return; }
  }
  let self = 0, sleeping = 0, armed = 0, any = 0, handed = false;
  const sg = sigacts_h();
  // Every LWP has its entry from creation (LWP 1: from boot) until its exit
  // hook cleared it: the live entries are the live LWPs (an LWP on its way
  // out takes nothing more).
  for (let ls = LIVE.head(sg); ls !== 0; ls = LIVE.after(ls)) {
    const lid = I32[ls + LS.lid]!;
    if (lid === exiting) continue;
    if (waits_for(ls, s)) {
      // One to each waiter while the process has more of s: a burst that
      // a waiter gave back (ls_unhand) is offered in this one call, and a
      // waiter passed over here would sleep on with its signal pending
      // until the next generation of s.
      hand_to_waiter(ls, s);
      if (!has(sg, SG.pend0, s)) return;
      handed = true;
      continue;
    }
    if (handed || !takes(ls, s)) continue;
    const how = lwp_view(lid);
    if (how === LWPV_NONE) continue;
    if (lid === cur.lid) self = lid;
    else if (how === LWPV_SLEEPING) { if (sleeping === 0) sleeping = lid; }
    else if (I32[ls + LS.armed] !== 0) { if (armed === 0) armed = lid; }
    else if (any === 0) any = lid;
  }
  if (handed) return; // each waiter has one: the rest is theirs before any other taker's, as before
  const lid = self || sleeping || armed || any;
  if (lid !== 0) post(ls_peek(lid), lid);
}

/**
 * Tells LWP `lid` (entry ls) it has a signal to take: LW_PENDSIG, a sleep
 * ended, its event loop rung. `t`: its handle, when the caller has it.
 */
function post(ls: number, lid: number, t?: number): void {
  // An ended sleep takes the signal on its way out: its bell would only cost
  // this thread a wake of that LWP's event loop (an async send) ahead of it.
  if (lwp_signal_post(lid, sig_wake_later, t) === LSP_WOKEN) return;
  Atomics.add(I32, ls + LS.bell, 1);
  sig_wake_later(ls + LS.bell);
}

/** Wakes LWP `lid` to look at its signals (no lock held): the main thread when the process dies. */
export function sig_kick(lid: number): void {
  sig_lock();
  const ls = ls_peek(lid);
  if (ls !== 0) post(ls, lid);
  sig_unlock();
}

/** Offers every process-pending signal again (lock held): after a taker blocked it, exited, or a handler appeared. */
export function sig_redistribute(): void {
  const sg = sigacts_h();
  const w0 = I32[sg + SG.pend0]!, w1 = I32[sg + SG.pend1]!;
  for (let s = sig_first(w0, w1); s !== 0; s = sig_next(w0, w1, s)) choose_taker(s);
}

/** Generations of s so far (EVFILT_SIGNAL's counter; wraps, compare differences). Lock-free. */
export function sig_generations(s: number): number { return Atomics.load(I32, sigact_h(s) + SA.ngen); }

/** An EVFILT_SIGNAL knote starts (+1) or stops (-1) watching s: watched signals are routed from the host. */
export function sig_watch(s: number, d: number): void {
  sig_lock();
  I32[sigact_h(s) + SA.nwatch] += d;
  os_update_locked(s);
  sig_unlock();
}

/**
 * A SIGEV_SIGNAL timer's expiry (it_mutex held, as timer.c holds it): the
 * signal for the process, si_code SI_TIMER, with its own entry so that its
 * delivery is seen. Returns false when no entry of the timer was queued
 * (ignored, coalesced with a pending instance from elsewhere, or the queue
 * limit): the caller takes the expirations now (they count as overruns of
 * nothing), so the next expiry can signal again.
 */
export function sig_generate_timer(s: number, value: number, it: number, tgen: number): boolean {
  put_entry_reset();
  const e = sig_generate(0, s, { code: SI_TIMER, value, pid: process.pid, lid: 0, timer: it, tgen });
  return e === 0 && put_entry;
}

/** The handle of a live LWP, else 0 (lwp_live_handle). */
let lwp_alive: (lid: number) => number = () => 0;
export function sig_set_lwp_alive(fn: (lid: number) => number): void { lwp_alive = fn; }

// ---- taking -----------------------------------------------------------------

/**
 * The lowest signal the calling LWP (entry ls) would take now, or 0 (lock
 * held): pending on it or on the process, not blocked, and caught by a
 * function only where this thread has one.
 */
export function deliverable(ls: number): number {
  const sg = sigacts_h();
  const w0 = (I32[ls + LS.pend0]! | I32[sg + SG.pend0]!) & ~I32[ls + LS.mask0]!;
  const w1 = (I32[ls + LS.pend1]! | I32[sg + SG.pend1]!) & ~I32[ls + LS.mask1]!;
  for (let s = sig_first(w0, w1); s !== 0; s = sig_next(w0, w1, s)) if (takes(ls, s)) return s;
  return 0;
}

/** Takes s for the LWP (entry ls), its own queue first (lock held); `hold`: see sigget. */
export function sig_take(ls: number, s: number, out: siginfo_t, hold = false): boolean {
  const ok = sigget(LQ, ls, LS.pend0, s, out, hold) || sigget(PQ, sigacts_h(), SG.pend0, s, out, hold);
  if (ok) kstat_add(C_TAKEN);
  return ok;
}

/** Sets LW_PENDSIG on the calling LWP when it has something to take, clears it otherwise (lock held). */
export function sig_recheck_self(ls: number): boolean {
  if (deliverable(ls) !== 0) { lwp_signal_set(cur.lwp); return true; }
  lwp_signal_clear(cur.lwp);
  return false;
}

/** Sets the calling LWP's mask (lock held), never holding SIGKILL or SIGSTOP; offers what it newly blocks to others. */
export function sig_setmask(ls: number, m0: number, m1: number): void {
  const o0 = I32[ls + LS.mask0]!, o1 = I32[ls + LS.mask1]!;
  const b0 = m0 & ~o0, b1 = m1 & ~o1;
  I32[ls + LS.mask0] = m0 & ~CANTMASK0;
  I32[ls + LS.mask1] = m1;
  if (I32[ls + LS.lid] !== 0) mask_recount(o0, o1, I32[ls + LS.mask0]!, m1);
  const sg = sigacts_h();
  if ((b0 & I32[sg + SG.pend0]!) !== 0 || (b1 & I32[sg + SG.pend1]!) !== 0) sig_redistribute();
}

/** An LWP was made: its entry, with its creator's mask (kern/proc.ts hook; no lock held). */
export function sig_lwp_created(parent: number, child: number): void {
  sig_lock();
  const pl = parent > 0 ? ls_peek(parent) : 0;
  const h = lwpsig_h((child - 1) % lwpsig_count());
  ls_init(h, child, pl !== 0 ? I32[pl + LS.mask0]! : 0, pl !== 0 ? I32[pl + LS.mask1]! : 0);
  sig_unlock();
}

/**
 * The function handlers of LWP entry h's thread go with it (lock held): a
 * signal whose only function handlers were there has no thread left that
 * can run one, so its disposition returns to SIG_DFL, as a Node signal
 * whose last listener is removed gets its default action back (and the
 * host routing follows: route.ts). Left caught, it would be a disposition
 * no LWP can ever take, and what is sent meanwhile would stay pending for
 * ever (a fuzz finding: queued entries that no one could free). A pending
 * one then meets the default action: discarded when that is to ignore,
 * else offered again by the caller's sig_redistribute (and taken by any
 * LWP that does not block it).
 */
function handlers_gone(h: number): void {
  const c0 = I32[h + LS.catch0]!, c1 = I32[h + LS.catch1]!;
  if ((c0 | c1) === 0) return;
  I32[h + LS.catch0] = 0; I32[h + LS.catch1] = 0;
  for (let s = sig_first(c0, c1); s !== 0; s = sig_next(c0, c1, s)) {
    if (I32[sigact_h(s) + SA.kind] !== SK_FUNC || caught_in_some_thread(s)) continue;
    reset_locked(s);
    kstat_add(C_ORPHANED);
    if (sig_ignored(s)) sig_discard_all(s);
    os_update_locked(s);
  }
}
/** Does a live LWP's thread hold a function handler of s (lock held)? */
function caught_in_some_thread(s: number): boolean {
  const n = lwpsig_count(), w = LS.catch0 + sig_word(s), b = sig_bit(s);
  for (let i = 0; i < n; i++) {
    const ls = lwpsig_h(i);
    if (I32[ls + LS.lid] !== 0 && (I32[ls + w]! & b) !== 0) return true;
  }
  return false;
}

let exiting = 0;
/** An LWP exits: its directed signals are discarded, what it was offered goes to another (no lock held). */
export function sig_lwp_exited(lid: number): void {
  sig_lock();
  const h = ls_peek(lid);
  if (h !== 0) {
    ls_unhand(h); // a process signal handed to it in sigwait is the process's again, not dropped with it
    ls_drain(h);
    wait_forget(h);
    handlers_gone(h);
    ls_retire(h);
    exiting = lid;
    sig_redistribute();
    exiting = 0;
  }
  sig_unlock();
}

// ---- the host ---------------------------------------------------------------

/** Kills or stops the whole process through the host: SIGKILL, SIGSTOP, default stops. */
export function host_kill(s: number): void { process.kill(process.pid, s); }
