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
 * With no taker it stays pending on the process, until an LWP unblocks it,
 * installs a handler, or waits for it.
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
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { TailQ } from '../kern/queue.js';
import { sq_wake_one } from '../kern/sleepq.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { type Errno } from '../kern/errno.js';
import { SI_TIMER } from './consts.js';
import { lwp_signal_post, lwp_signal_clear, lwp_signal_set, lwp_foreach_live, LWPV_SLEEPING } from '../lwp/kapi.js';
import {
  SIGKILL, SIGSTOP, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, } from './consts.js';
import { DA_IGN, DA_CONT, sig_default_action, sig_is_rt } from './defaults.js';
import { sig_word, sig_bit, sig_first, CANTMASK0 } from './sigset.js';
import { os_update_locked } from './route.js';
import {
  SG, SA, LS, KS, SK_DFL, SK_IGN, SK_FUNC, sigacts_h, sigact_h, lwpsig_h, lwpsig_count, ksiginfos,
  ks_value, ks_set_value,
} from './sigstate.js';

/** A signal's information, as the handler and sigwaitinfo see it (siginfo_t). */
export interface siginfo_t {
  si_signo: number;
  si_code: number;
  si_value: number;
  si_pid: number;
  si_lid: number;
  si_overrun: number;
}

const C_GENERATED = kstat_counter('sig', 'generated');
const C_QUEUED = kstat_counter('sig', 'queued');
const C_COALESCED = kstat_counter('sig', 'coalesced');
const C_DISCARDED = kstat_counter('sig', 'discarded');
const C_DROPPED = kstat_counter('sig', 'dropped_eagain');
const C_TAKEN = kstat_counter('sig', 'taken');

/** The process queue (head in sigacts) and an LWP's queue (head in its lwpsig entry). */
const PQ = new TailQ(SG.qhead, SG.qtail, KS.next, KS.prev);
const LQ = new TailQ(LS.qhead, LS.qtail, KS.next, KS.prev);

export function sig_lock(): void { mutex_enter(sigacts_h() + SG.lock); }
/**
 * Drops the signal lock, then finishes what a take or a discard of a
 * timer's signal left for after it (the timer's it_mutex comes before the
 * signal lock, so it is taken here, not under it): the timer's pending
 * expirations are taken and a taken siginfo gets its si_overrun.
 */
export function sig_unlock(): void {
  mutex_exit(sigacts_h() + SG.lock);
  while (timer_todo.length > 0) {
    const t = timer_todo.pop()!;
    const ov = timer_taken(t.it, t.tid);
    if (t.info !== undefined) t.info.si_overrun = ov;
  }
}
/** Timer signals taken or discarded under the lock (this thread's, until sig_unlock). */
const timer_todo: { it: number; tid: number; info?: siginfo_t }[] = [];
export function sig_lockword(): number { return sigacts_h() + SG.lock; }

// ---- per-LWP entries --------------------------------------------------------

/** The lwpsig entry of `lid` when it is set up for it, else 0 (lock held or not: a peek). */
export function ls_peek(lid: number): number {
  if (lid <= 0) return 0;
  const h = lwpsig_h((lid - 1) % lwpsig_count());
  return I32[h + LS.lid] === lid ? h : 0;
}
/**
 * The lwpsig entry of `lid`, set up on first use (signal lock held). LWPs
 * made by lwp_create get theirs at creation with their creator's mask
 * (sig_lwp_created); LWP 1 gets an empty mask here.
 */
export function ls_get(lid: number): number {
  const h = lwpsig_h((lid - 1) % lwpsig_count());
  if (I32[h + LS.lid] !== lid) ls_init(h, lid, 0, 0);
  return h;
}
function ls_init(h: number, lid: number, m0: number, m1: number): void {
  ls_drain(h);
  wait_forget(h);
  I32.fill(0, h, h + LS.armed);
  I32[h + LS.lid] = lid;
  I32[h + LS.mask0] = m0;
  I32[h + LS.mask1] = m1;
}
/**
 * Takes entry h's sigwait set out of the per-signal waiter counts (lock
 * held): its LWP exited in a wait it never came back from (an async one).
 */
function wait_forget(h: number): void {
  let w0 = I32[h + LS.wait0]!, w1 = I32[h + LS.wait1]!;
  for (let s = sig_first(w0, w1); s !== 0; s = sig_first(w0, w1)) {
    I32[sigact_h(s) + SA.nwait]--;
    if (sig_word(s) === 0) w0 &= ~sig_bit(s); else w1 &= ~sig_bit(s);
  }
  I32[h + LS.wait0] = 0; I32[h + LS.wait1] = 0;
}
/** Frees an entry's queued signals (lock held). */
function ls_drain(h: number): void {
  for (let k = LQ.remove_head(h); k !== 0; k = LQ.remove_head(h)) {
    if (I32[k + KS.timer] !== 0) timer_todo.push({ it: I32[k + KS.timer]!, tid: I32[k + KS.tid]! });
    ks_free(k);
  }
  I32[h + LS.pend0] = 0; I32[h + LS.pend1] = 0;
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
function has(h: number, off0: number, s: number): boolean {
  return (I32[h + off0 + sig_word(s)]! & sig_bit(s)) !== 0;
}
function bit_set(h: number, off0: number, s: number): void { I32[h + off0 + sig_word(s)] |= sig_bit(s); }
function bit_clear(h: number, off0: number, s: number): void { I32[h + off0 + sig_word(s)] &= ~sig_bit(s); }

/** Would LWP entry `ls` take signal s now (not blocked; a function handler here if caught by functions)? */
function takes(ls: number, s: number): boolean {
  if (has(ls, LS.mask0, s)) return false;
  return I32[sigact_h(s) + SA.kind] !== SK_FUNC || has(ls, LS.catch0, s);
}
/** Is LWP entry `ls` in sigwait for s? */
function waits_for(ls: number, s: number): boolean { return has(ls, LS.wait0, s); }

// ---- ksiginfo ---------------------------------------------------------------

function ks_free(k: number): void {
  if (sig_is_rt(I32[k + KS.signo]!)) I32[sigacts_h() + SG.nrt]--;
  ksiginfos.free(k);
}

/** What a generation carries besides the signal number. */
export interface SigSource { code: number; value: number; pid: number; lid: number; timer: number; tid?: number }

/**
 * Makes s pending on the queue whose head is `qh` (process: PQ on sigacts;
 * LWP: LQ on its entry), its pending set at `pend0`. Lock held. Returns 0,
 * or EAGAIN for a realtime signal past the limit or with no entry left.
 */
let put_entry = false;
function sigput(q: TailQ, qh: number, pend0: number, s: number, src: SigSource): Errno {
  const rt = sig_is_rt(s);
  if (!rt && has(qh, pend0, s)) { kstat_add(C_COALESCED); return 0; }
  const sg = sigacts_h();
  if (rt && I32[sg + SG.nrt]! >= ksiginfos.count - 4 * lwpsig_count() - 64) { kstat_add(C_DROPPED); return 'EAGAIN'; }
  const k = ksiginfos.alloc();
  if (k === 0) {
    if (rt) { kstat_add(C_DROPPED); return 'EAGAIN'; }
  } else {
    I32[k + KS.signo] = s; I32[k + KS.code] = src.code; I32[k + KS.pid] = src.pid;
    I32[k + KS.lid] = src.lid; I32[k + KS.timer] = src.timer; I32[k + KS.tid] = src.tid ?? 0;
    put_entry = true;
    ks_set_value(k, src.value);
    if (rt) I32[sg + SG.nrt]++;
    q.insert_tail(qh, k);
  }
  bit_set(qh, pend0, s);
  kstat_add(C_QUEUED);
  return 0;
}

/** Takes the first entry of s from queue `q` at `qh` into `out`; keeps the bit while another s is queued. Lock held. */
function sigget(q: TailQ, qh: number, pend0: number, s: number, out: siginfo_t): boolean {
  if (!has(qh, pend0, s)) return false;
  let found = 0, more = false;
  for (let k = q.head(qh); k !== 0; k = q.after(k)) {
    if (I32[k + KS.signo] !== s) continue;
    if (found === 0) found = k; else { more = true; break; }
  }
  if (!more) bit_clear(qh, pend0, s);
  out.si_signo = s;
  if (found === 0) {
    // Pending with no entry (the cache was exhausted): as from kill.
    out.si_code = 0; out.si_value = 0; out.si_pid = process.pid; out.si_lid = 0; out.si_overrun = 0;
    return true;
  }
  q.remove(qh, found);
  out.si_code = I32[found + KS.code]!; out.si_value = ks_value(found);
  out.si_pid = I32[found + KS.pid]!; out.si_lid = I32[found + KS.lid]!;
  const timer = I32[found + KS.timer]!;
  out.si_overrun = 0;
  if (timer !== 0) timer_todo.push({ it: timer, tid: I32[found + KS.tid]!, info: out });
  ks_free(found);
  return true;
}

/** Discards every pending s, process-wide (lock held): SIG_IGN set, SIGCONT vs stops. */
export function sig_discard_all(s: number): void {
  const sg = sigacts_h();
  const tmp = blank();
  while (sigget(PQ, sg, SG.pend0, s, tmp)) kstat_add(C_DISCARDED);
  const n = lwpsig_count();
  for (let i = 0; i < n; i++) {
    const ls = lwpsig_h(i);
    if (I32[ls + LS.lid] === 0) continue;
    while (sigget(LQ, ls, LS.pend0, s, tmp)) kstat_add(C_DISCARDED);
  }
}

export function blank(): siginfo_t { return { si_signo: 0, si_code: 0, si_value: 0, si_pid: 0, si_lid: 0, si_overrun: 0 }; }

// ---- hooks for the other subsystems (signals/kapi.ts) ---------------------

/** A SIGEV_SIGNAL timer's signal was taken or discarded: the timer takes its pending expirations and returns the overrun (timers/signfy.ts). */
let timer_taken: (it: number, tid: number) => number = () => 0;
export function sig_set_timer_ops(taken: (it: number, tid: number) => number): void { timer_taken = taken; }
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
    for (const h of generated_hooks) h(s);
  }
  return e;
}

function job_control(s: number): void {
  if (s === SIGCONT) { sig_discard_all(SIGTSTP); sig_discard_all(SIGTTIN); sig_discard_all(SIGTTOU); }
  else if (s === SIGTSTP || s === SIGTTIN || s === SIGTTOU) sig_discard_all(SIGCONT);
}

/** Does any live LWP block s? (lock held) */
function blocked_somewhere(s: number): boolean {
  const n = lwpsig_count();
  for (let i = 0; i < n; i++) {
    const ls = lwpsig_h(i);
    if (I32[ls + LS.lid] !== 0 && (has(ls, LS.mask0, s) || waits_for(ls, s))) return true;
  }
  return false;
}

function generate_lwp(lid: number, s: number, src: SigSource): Errno {
  if (!lwp_alive(lid)) return 'ESRCH';
  const ls = ls_get(lid);
  job_control(s);
  if (sig_ignored(s) && !has(ls, LS.mask0, s) && !waits_for(ls, s)) { kstat_add(C_DISCARDED); return 0; }
  const e = sigput(LQ, ls, LS.pend0, s, src);
  if (e !== 0) return e;
  if (waits_for(ls, s)) sq_wake_one(ls + LS.wq);
  else if (takes(ls, s)) post(ls, lid);
  return 0;
}

function generate_proc(s: number, src: SigSource): Errno {
  job_control(s);
  if (sig_ignored(s) && !blocked_somewhere(s)) { kstat_add(C_DISCARDED); return 0; }
  const e = sigput(PQ, sigacts_h(), SG.pend0, s, src);
  if (e !== 0) return e;
  choose_taker(s);
  return 0;
}

/**
 * Hands process-pending s to the sigwait sleeper of entry `ls`: its first
 * entry moves from the process queue to the LWP's (lock held), so that no
 * other LWP takes it before the waiter wakes (NetBSD gives a sigwaiter its
 * signal directly for the same reason).
 */
function hand_to_waiter(ls: number, s: number): void {
  const sg = sigacts_h();
  let k = PQ.head(sg);
  while (k !== 0 && I32[k + KS.signo] !== s) k = PQ.after(k);
  let more = false;
  for (let j = k === 0 ? 0 : PQ.after(k); j !== 0; j = PQ.after(j)) if (I32[j + KS.signo] === s) { more = true; break; }
  if (!more) bit_clear(sg, SG.pend0, s);
  if (k !== 0) { PQ.remove(sg, k); LQ.insert_tail(ls, k); }
  bit_set(ls, LS.pend0, s);
  sq_wake_one(ls + LS.wq);
}

/** Offers process-pending s to one LWP (lock held): the order of the header. */
function choose_taker(s: number): void {
  // Nobody waits for s and the caller takes it: the caller is the choice,
  // without a look at every LWP slot (kill or sigqueue of the process by an
  // LWP that can take the signal: the common case).
  const me = cur.lid;
  if (me !== 0 && me !== exiting && I32[sigact_h(s) + SA.nwait] === 0) {
    const ls = me === 1 ? ls_get(1) : ls_peek(me);
    if (ls !== 0 && takes(ls, s)) { post(ls, me); return; }
  }
  let waiter = 0, self = 0, sleeping = 0, armed = 0, any = 0;
  lwp_foreach_live((lid, how) => {
    // Every LWP but LWP 1 has its entry from creation until its exit hook
    // cleared it: an LWP on its way out takes nothing more.
    if (lid === exiting) return false;
    const ls = lid === 1 ? ls_get(1) : ls_peek(lid);
    if (ls === 0) return false;
    if (waits_for(ls, s)) { waiter = ls; return true; }
    if (!takes(ls, s)) return false;
    if (lid === cur.lid) self = lid;
    else if (how === LWPV_SLEEPING) { if (sleeping === 0) sleeping = lid; }
    else if (I32[ls + LS.armed] !== 0) { if (armed === 0) armed = lid; }
    else if (any === 0) any = lid;
    return false;
  });
  if (waiter !== 0) { hand_to_waiter(waiter, s); return; }
  const lid = self || sleeping || armed || any;
  if (lid !== 0) post(ls_get(lid), lid);
}

/** Tells LWP `lid` (entry ls) it has a signal to take: LW_PENDSIG, a sleep ended, its event loop rung. */
function post(ls: number, lid: number): void {
  lwp_signal_post(lid);
  Atomics.add(I32, ls + LS.bell, 1);
  Atomics.notify(I32, ls + LS.bell);
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
  let w0 = I32[sg + SG.pend0]!, w1 = I32[sg + SG.pend1]!;
  for (let s = sig_first(w0, w1); s !== 0; s = sig_first(w0, w1)) {
    if (sig_word(s) === 0) w0 &= ~sig_bit(s); else w1 &= ~sig_bit(s);
    choose_taker(s);
  }
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
export function sig_generate_timer(s: number, value: number, it: number, tid: number): boolean {
  put_entry = false;
  const e = sig_generate(0, s, { code: SI_TIMER, value, pid: process.pid, lid: 0, timer: it, tid });
  return e === 0 && put_entry;
}

/** timer_delete: withdraws the timer's queued signal, if any (no lock held). */
export function sig_withdraw_timer(it: number, tid: number): void {
  sig_lock();
  const sg = sigacts_h();
  for (let k = PQ.head(sg); k !== 0; k = PQ.after(k)) {
    if (I32[k + KS.timer] !== it || I32[k + KS.tid] !== tid) continue;
    const s = I32[k + KS.signo]!;
    PQ.remove(sg, k);
    let more = false;
    for (let j = PQ.head(sg); j !== 0; j = PQ.after(j)) if (I32[j + KS.signo] === s) { more = true; break; }
    if (!more) bit_clear(sg, SG.pend0, s);
    ks_free(k);
    break;
  }
  sig_unlock();
}

let lwp_alive: (lid: number) => boolean = () => false;
export function sig_set_lwp_alive(fn: (lid: number) => boolean): void { lwp_alive = fn; }

// ---- taking -----------------------------------------------------------------

/**
 * The lowest signal the calling LWP (entry ls) would take now, or 0 (lock
 * held): pending on it or on the process, not blocked, and caught by a
 * function only where this thread has one.
 */
export function deliverable(ls: number): number {
  const sg = sigacts_h();
  let w0 = (I32[ls + LS.pend0]! | I32[sg + SG.pend0]!) & ~I32[ls + LS.mask0]!;
  let w1 = (I32[ls + LS.pend1]! | I32[sg + SG.pend1]!) & ~I32[ls + LS.mask1]!;
  for (let s = sig_first(w0, w1); s !== 0; s = sig_first(w0, w1)) {
    if (takes(ls, s)) return s;
    if (sig_word(s) === 0) w0 &= ~sig_bit(s); else w1 &= ~sig_bit(s);
  }
  return 0;
}

/** Takes s for the LWP (entry ls), its own queue first (lock held). */
export function sig_take(ls: number, s: number, out: siginfo_t): boolean {
  const ok = sigget(LQ, ls, LS.pend0, s, out) || sigget(PQ, sigacts_h(), SG.pend0, s, out);
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
  const b0 = m0 & ~I32[ls + LS.mask0]!, b1 = m1 & ~I32[ls + LS.mask1]!;
  I32[ls + LS.mask0] = m0 & ~CANTMASK0;
  I32[ls + LS.mask1] = m1;
  const sg = sigacts_h();
  if ((b0 & I32[sg + SG.pend0]!) !== 0 || (b1 & I32[sg + SG.pend1]!) !== 0) sig_redistribute();
}

/** An LWP was made: its entry, with its creator's mask (kern/proc.ts hook; no lock held). */
export function sig_lwp_created(parent: number, child: number): void {
  sig_lock();
  const pl = parent > 0 ? ls_get(parent) : 0;
  const h = lwpsig_h((child - 1) % lwpsig_count());
  ls_init(h, child, pl !== 0 ? I32[pl + LS.mask0]! : 0, pl !== 0 ? I32[pl + LS.mask1]! : 0);
  sig_unlock();
}

let exiting = 0;
/** An LWP exits: its directed signals are discarded, what it was offered goes to another (no lock held). */
export function sig_lwp_exited(lid: number): void {
  sig_lock();
  const h = ls_peek(lid);
  if (h !== 0) {
    ls_drain(h);
    wait_forget(h);
    I32[h + LS.lid] = 0;
    exiting = lid;
    sig_redistribute();
    exiting = 0;
  }
  sig_unlock();
}

/** Does anyone block or wait for s, or is it pending? For tests and kstat. */
export function sig_pending_count(): number {
  let n = 0;
  const sg = sigacts_h();
  for (let k = PQ.head(sg); k !== 0; k = PQ.after(k)) n++;
  const c = lwpsig_count();
  for (let i = 0; i < c; i++) {
    const ls = lwpsig_h(i);
    if (I32[ls + LS.lid] === 0) continue;
    for (let k = LQ.head(ls); k !== 0; k = LQ.after(k)) n++;
  }
  return n;
}

// ---- the host ---------------------------------------------------------------

/** Kills or stops the whole process through the host: SIGKILL, SIGSTOP, default stops. */
export function host_kill(s: number): void { process.kill(process.pid, s); }
