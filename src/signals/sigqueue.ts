/**
 * The signal lock and the queues of pending signals (the seeds' sigqueue /
 * ksiginfo handling): making a signal pending on the process's or an LWP's
 * queue (standard signals coalesce, realtime ones queue), taking one off,
 * discarding, handing one to a sigwaiter, a timer's withdrawal. Everything
 * here runs under the signal lock except sig_unlock's deferred timer step.
 * The rules are in sig.ts's header; the layout in sigstate.ts.
 */
import { I32, f64_get, f64_set } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { TailQ } from '../kern/queue.js';
import { sq_wake_one } from '../kern/sleepq.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { type Errno } from '../kern/errno.js';
import { sig_is_rt } from './defaults.js';
import { sig_word, sig_bit, sig_first, sig_next } from './sigset.js';
import { SG, SA, LS, KS, sigacts_h, sigact_h, lwpsig_h, lwpsig_count, ksiginfos } from './sigstate.js';

const C_QUEUED = kstat_counter('sig', 'queued');
const C_COALESCED = kstat_counter('sig', 'coalesced');
export const C_DISCARDED = kstat_counter('sig', 'discarded');
const C_DROPPED = kstat_counter('sig', 'dropped_eagain');

/** A signal's information, as the handler and sigwaitinfo see it (siginfo_t). */
export interface siginfo_t {
  si_signo: number;
  si_code: number;
  si_value: number;
  si_pid: number;
  si_lid: number;
  si_overrun: number;
}


/** The process queue (head in sigacts) and an LWP's queue (head in its lwpsig entry). */
export const PQ = new TailQ(SG.qhead, SG.qtail, KS.next, KS.prev);
export const LQ = new TailQ(LS.qhead, LS.qtail, KS.next, KS.prev);
/**
 * The live LWP entries (lid set), so that the choice of a taker for a
 * process signal looks at the live LWPs only, not at every slot of the LWP
 * table (maxlwp of them: a scan of the default 1024 slots was ~90 % of a
 * kill + sigtimedwait pair when the signal was blocked by its sender).
 */
export const LIVE = new TailQ(SG.lhead, SG.ltail, LS.lnext, LS.lprev);

export function sig_lock(): void { mutex_enter(sigacts_h() + SG.lock); }
/**
 * Drops the signal lock, then finishes what a take or a discard of a
 * timer's signal left for after it (the timer's it_mutex comes before the
 * signal lock, so it is taken here, not under it): the timer's pending
 * expirations are taken and a taken siginfo gets its si_overrun.
 */
export function sig_unlock(): void {
  mutex_exit(sigacts_h() + SG.lock);
  // In the order they were queued: an ended sleep before any bell.
  for (let i = 0; i < wake_todo.length; i++) Atomics.notify(I32, wake_todo[i]!, 1);
  wake_todo.length = 0;
  while (timer_todo.length > 0) {
    const t = timer_todo.pop()!;
    const ov = timer_taken(t.it, t.tgen);
    if (t.info !== undefined) t.info.si_overrun = ov;
  }
}
/**
 * Words to notify once the lock is dropped (an interrupted sleeper, an LWP's
 * bell): woken under the lock, the LWP would run straight into it.
 */
const wake_todo: number[] = [];
export function sig_wake_later(w: number): void { wake_todo.push(w); }
/** Timer signals taken or discarded under the lock (this thread's, until sig_unlock). */
const timer_todo: { it: number; tgen: number; info?: siginfo_t }[] = [];
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
export function ls_init(h: number, lid: number, m0: number, m1: number): void {
  ls_drain(h);
  wait_forget(h);
  const live = I32[h + LS.lid] !== 0;
  mask_recount(live ? I32[h + LS.mask0]! : 0, live ? I32[h + LS.mask1]! : 0, m0, m1);
  I32.fill(0, h, h + LS.armed);
  if (!live) LIVE.insert_tail(sigacts_h(), h);
  I32[h + LS.lid] = lid;
  I32[h + LS.mask0] = m0;
  I32[h + LS.mask1] = m1;
}
/**
 * A live entry's mask goes from (w0, w1) to (n0, n1): the per-signal nblock
 * follows the signals that changed (lock held). Every write of a live
 * entry's mask goes through ls_init, sig_setmask or ls_retire, which call it.
 */
export function mask_recount(w0: number, w1: number, n0: number, n1: number): void {
  const c0 = w0 ^ n0, c1 = w1 ^ n1;
  for (let s = sig_first(c0, c1); s !== 0; s = sig_next(c0, c1, s)) {
    I32[sigact_h(s) + SA.nblock] += ((sig_word(s) === 0 ? n0 : n1) & sig_bit(s)) !== 0 ? 1 : -1;
  }
}
/** An entry's LWP is gone (lock held): its mask no longer counts, and the entry is free. */
export function ls_retire(h: number): void {
  if (I32[h + LS.lid] === 0) return;
  mask_recount(I32[h + LS.mask0]!, I32[h + LS.mask1]!, 0, 0);
  LIVE.remove(sigacts_h(), h);
  I32[h + LS.lid] = 0;
}
/**
 * Takes entry h's sigwait set out of the per-signal waiter counts (lock
 * held): its LWP exited in a wait it never came back from (an async one).
 */
export function wait_forget(h: number): void {
  const w0 = I32[h + LS.wait0]!, w1 = I32[h + LS.wait1]!;
  for (let s = sig_first(w0, w1); s !== 0; s = sig_next(w0, w1, s)) I32[sigact_h(s) + SA.nwait]--;
  I32[h + LS.wait0] = 0; I32[h + LS.wait1] = 0;
}
/** Frees an entry's queued signals (lock held). */
export function ls_drain(h: number): void {
  for (let k = LQ.remove_head(h); k !== 0; k = LQ.remove_head(h)) {
    if (I32[k + KS.timer] !== 0) timer_todo.push({ it: I32[k + KS.timer]!, tgen: I32[k + KS.tgen]! });
    ks_free(k);
  }
  const s = I32[h + LS.isig]!;
  if (s !== 0) {
    if (I32[h + LS.itimer] !== 0) timer_todo.push({ it: I32[h + LS.itimer]!, tgen: I32[h + LS.itgen]! });
    if (sig_is_rt(s)) I32[sigacts_h() + SG.nrt]--;
    I32[h + LS.isig] = 0;
  }
  I32[h + LS.pend0] = 0; I32[h + LS.pend1] = 0;
}


export function has(h: number, off0: number, s: number): boolean {
  return (I32[h + off0 + sig_word(s)]! & sig_bit(s)) !== 0;
}
export function bit_set(h: number, off0: number, s: number): void { I32[h + off0 + sig_word(s)] |= sig_bit(s); }
export function bit_clear(h: number, off0: number, s: number): void { I32[h + off0 + sig_word(s)] &= ~sig_bit(s); }


// ---- ksiginfo ---------------------------------------------------------------

export function ks_free(k: number): void {
  ks_uncount(k);
  ksiginfos.free(k);
}
/** The queue-limit side of a free (lock held): a realtime entry no longer counts. */
function ks_uncount(k: number): void {
  if (sig_is_rt(I32[k + KS.signo]!)) I32[sigacts_h() + SG.nrt]--;
}
/**
 * The entry the last sigget with `hold` took, or 0: off every queue and out
 * of the count, but not yet back in the cache. Its taker returns it with
 * ks_release once it is done with what is urgent (a handler to run), so
 * that the cache's lock is not on that path. Read at once, under the lock.
 */
export let ks_held = 0;
export function ks_release(k: number): void { ksiginfos.free(k); }

/** What a generation carries besides the signal number. */
export interface SigSource { code: number; value: number; pid: number; lid: number; timer: number; tgen?: number }

/**
 * Where a siginfo's fields are in a record: a ksiginfo (KS), or the inline
 * slot of an LWP's signal entry (INLINE, sigstate.ts). One writer and one
 * reader serve both.
 */
interface SiFields { readonly signo: number; readonly code: number; readonly pid: number; readonly lid: number; readonly timer: number; readonly tgen: number; readonly value: number; readonly pdir: number; readonly seq: number }
const INLINE: SiFields = { signo: LS.isig, code: LS.icode, pid: LS.ipid, lid: LS.ilid, timer: LS.itimer, tgen: LS.itgen, value: LS.ivalue, pdir: LS.ipdir, seq: LS.iseq };

/** Fills record r (fields f) with a generation of s; `pdir`: process-directed. */
function si_put(r: number, f: SiFields, s: number, src: SigSource, pdir: boolean): void {
  I32[r + f.signo] = s; I32[r + f.code] = src.code; I32[r + f.pid] = src.pid; I32[r + f.lid] = src.lid;
  I32[r + f.timer] = src.timer; I32[r + f.tgen] = src.tgen ?? 0; I32[r + f.pdir] = pdir ? 1 : 0;
  I32[r + f.seq] = ++I32[sigacts_h() + SG.seq];
  f64_set(r, f.value, src.value);
}
/** Copies record r (fields f) into ksiginfo k. */
function si_copy(r: number, f: SiFields, k: number): void {
  I32[k + KS.signo] = I32[r + f.signo]!; I32[k + KS.code] = I32[r + f.code]!; I32[k + KS.pid] = I32[r + f.pid]!; I32[k + KS.lid] = I32[r + f.lid]!;
  I32[k + KS.timer] = I32[r + f.timer]!; I32[k + KS.tgen] = I32[r + f.tgen]!; I32[k + KS.pdir] = I32[r + f.pdir]!;
  I32[k + KS.seq] = I32[r + f.seq]!;
  f64_set(k, KS.value, f64_get(r, f.value));
}

/** Reads record r (fields f) into out; a timer's signal leaves its overrun to sig_unlock (timer_todo). */
function si_get(r: number, f: SiFields, out: siginfo_t): void {
  out.si_code = I32[r + f.code]!; out.si_value = f64_get(r, f.value);
  out.si_pid = I32[r + f.pid]!; out.si_lid = I32[r + f.lid]!; out.si_overrun = 0;
  const timer = I32[r + f.timer]!;
  if (timer !== 0) timer_todo.push({ it: timer, tgen: I32[r + f.tgen]!, info: out });
}

/** Whether the last sigput made an entry (sig_generate_timer reads it). */
export let put_entry = false;
export function put_entry_reset(): void { put_entry = false; }
/**
 * Makes s pending on the queue whose head is `qh` (process: PQ on sigacts;
 * LWP: LQ on its entry), its pending set at `pend0`. Lock held. Returns 0,
 * or EAGAIN for a realtime signal past the limit or with no entry left.
 * Without `coalesce` a standard signal pending there already is queued
 * again: a process signal handed straight to a sigwaiter, which coalesces
 * only with one pending on the process, as it would have on its way.
 */
export function sigput(q: TailQ, qh: number, pend0: number, s: number, src: SigSource, coalesce = true): Errno {
  const rt = sig_is_rt(s);
  if (!rt && coalesce && has(qh, pend0, s)) { kstat_add(C_COALESCED); return 0; }
  const sg = sigacts_h();
  if (rt && I32[sg + SG.nrt]! >= ksiginfos.count - 4 * lwpsig_count() - 64) { kstat_add(C_DROPPED); return 'EAGAIN'; }
  // For an LWP with its inline siginfo free and none of s pending: held
  // there (sigstate.ts), not in a ksiginfo.
  let r: number, f: SiFields = KS;
  if (q === LQ && I32[qh + LS.isig] === 0 && !has(qh, pend0, s)) { r = qh; f = INLINE; }
  else {
    r = ksiginfos.alloc();
    if (r === 0 && rt) { kstat_add(C_DROPPED); return 'EAGAIN'; }
  }
  if (r !== 0) {
    // On the process queue, or handed straight to a sigwaiter (no coalesce): the process's.
    si_put(r, f, s, src, q === PQ || !coalesce);
    put_entry = true;
    if (rt) I32[sg + SG.nrt]++;
    if (f === KS) q.insert_tail(qh, r);
  }
  bit_set(qh, pend0, s);
  kstat_add(C_QUEUED);
  return 0;
}

/**
 * Takes the first entry of s from queue `q` at `qh` into `out`; keeps the
 * bit while another s is queued. Lock held. With `hold`, the entry is left
 * in ks_held for the caller to release instead of freed.
 */
export function sigget(q: TailQ, qh: number, pend0: number, s: number, out: siginfo_t, hold = false): boolean {
  ks_held = 0;
  if (!has(qh, pend0, s)) return false;
  // The oldest: the LWP's inline siginfo or the first entry of s on its
  // queue (kept in generation order). The inline one is older as a rule
  // (one put there while s is pending on the LWP would have coalesced: only
  // hand_to_waiter adds one behind it), unless hand_to_waiter moved an
  // older one there (given back to the process by another waiter).
  let found = 0, more = false, f: SiFields = KS;
  if (q === LQ && I32[qh + LS.isig] === s) { found = qh; f = INLINE; }
  for (let k = q.head(qh); k !== 0; k = q.after(k)) {
    if (I32[k + KS.signo] !== s) continue;
    if (found === 0) { found = k; continue; }
    if (f === INLINE && ((I32[k + KS.seq]! - I32[qh + LS.iseq]!) | 0) < 0) { found = k; f = KS; }
    more = true; break;
  }
  if (!more) bit_clear(qh, pend0, s);
  out.si_signo = s;
  if (found === 0) {
    // Pending with no entry (the cache was exhausted): as from kill.
    out.si_code = 0; out.si_value = 0; out.si_pid = process.pid; out.si_lid = 0; out.si_overrun = 0;
    return true;
  }
  si_get(found, f, out);
  if (f === INLINE) {
    I32[qh + LS.isig] = 0;
    if (sig_is_rt(s)) I32[sigacts_h() + SG.nrt]--;
    return true;
  }
  q.remove(qh, found);
  if (hold) { ks_uncount(found); ks_held = found; } else ks_free(found);
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


/** A SIGEV_SIGNAL timer's signal was taken or discarded: the timer takes its pending expirations and returns the overrun (timers/signfy.ts). */
let timer_taken: (it: number, tgen: number) => number = () => 0;
export function sig_set_timer_ops(taken: (it: number, tgen: number) => number): void { timer_taken = taken; }

/**
 * Hands process-pending s to the sigwait sleeper of entry `ls`: its first
 * entry moves from the process queue to the LWP's (lock held), so that no
 * other LWP takes it before the waiter wakes (NetBSD gives a sigwaiter its
 * signal directly for the same reason).
 */
export function hand_to_waiter(ls: number, s: number): void {
  const sg = sigacts_h();
  let k = PQ.head(sg);
  while (k !== 0 && I32[k + KS.signo] !== s) k = PQ.after(k);
  let more = false;
  for (let j = k === 0 ? 0 : PQ.after(k); j !== 0; j = PQ.after(j)) if (I32[j + KS.signo] === s) { more = true; break; }
  if (!more) bit_clear(sg, SG.pend0, s);
  if (k !== 0) { PQ.remove(sg, k); insert_in_order(LQ, ls, k); }
  bit_set(ls, LS.pend0, s);
  sq_wake_one(ls + LS.wq);
}


/**
 * Gives the process back what was handed to LWP entry h as a sigwaiter and
 * is still on its queue (lock held): the signals a waiter was given after
 * the one its wait returned (all that came before it ran again: it stays a
 * waiter until then), the one an interrupted wait did not take, or any of
 * them when the LWP exits. Left there they would be out of reach of every
 * other LWP (another waiter, a thread that unblocks them), and discarded
 * with the LWP's own signals at its exit: a process-directed signal lost.
 * They go back to the process queue in generation order (give_back; a
 * standard one pending there already coalesces with it, as it would have
 * on its way); the caller offers them again (sig_redistribute). Returns
 * whether any went.
 */
export function ls_unhand(h: number): boolean {
  const sg = sigacts_h();
  let w0 = 0, w1 = 0;
  const s0 = I32[h + LS.isig]!;
  if (s0 !== 0 && I32[h + LS.ipdir] !== 0) {
    // Into a ksiginfo; with none left it becomes pending with no entry, as
    // sigput makes a standard one then (its siginfo made up when taken).
    const k = ksiginfos.alloc();
    if (k !== 0) si_copy(h, INLINE, k);
    else if (sig_is_rt(s0)) I32[sg + SG.nrt]--;
    I32[h + LS.isig] = 0;
    give_back(k, s0);
    if (sig_word(s0) === 0) w0 |= sig_bit(s0); else w1 |= sig_bit(s0);
  }
  for (let k = LQ.head(h); k !== 0;) {
    const next = LQ.after(k);
    if (I32[k + KS.pdir] !== 0) {
      const s = I32[k + KS.signo]!;
      LQ.remove(h, k);
      give_back(k, s);
      if (sig_word(s) === 0) w0 |= sig_bit(s); else w1 |= sig_bit(s);
    }
    k = next;
  }
  for (let s = sig_first(w0, w1); s !== 0; s = sig_next(w0, w1, s)) {
    if (I32[h + LS.isig] !== s && !queued(LQ, h, s)) bit_clear(h, LS.pend0, s);
  }
  return (w0 | w1) !== 0;
}
/** Puts entry k (0: none) of s on the process queue, or coalesces it there (lock held). */
function give_back(k: number, s: number): void {
  const sg = sigacts_h();
  if (!sig_is_rt(s) && has(sg, SG.pend0, s)) {
    kstat_add(C_COALESCED);
    if (k === 0) return;
    // A timer's signal that is not queued: the timer takes its expirations (sigput's caller does the same).
    if (I32[k + KS.timer] !== 0) timer_todo.push({ it: I32[k + KS.timer]!, tgen: I32[k + KS.tgen]! });
    ks_free(k);
    return;
  }
  if (k !== 0) insert_in_order(PQ, sg, k);
  bit_set(sg, SG.pend0, s);
}
/**
 * Puts ksiginfo k on queue `q` at `qh` before the first younger entry of
 * its signal there, else at the tail (lock held). An entry given back by a
 * sigwaiter, or handed to one from the process queue, may be older than
 * some there (generated for the process or handed to that waiter while it
 * was held elsewhere, or given back first by another waiter), and the
 * instances of a realtime signal are taken in the order they were
 * generated: each queue is kept in that order for each signal.
 */
function insert_in_order(q: TailQ, qh: number, k: number): void {
  const s = I32[k + KS.signo]!, seq = I32[k + KS.seq]!;
  let j = q.head(qh);
  while (j !== 0 && !(I32[j + KS.signo] === s && ((I32[j + KS.seq]! - seq) | 0) > 0)) j = q.after(j);
  if (j === 0) q.insert_tail(qh, k);
  else if (q.before(j) === 0) q.insert_head(qh, k);
  else q.insert_after(qh, q.before(j), k);
}

/**
 * timer_delete: withdraws the timer's queued signal, if any (no lock held).
 * It may wait on the process queue, or on an LWP's: one handed to a
 * sigwaiter (generate_proc, hand_to_waiter) that has not run yet, in its
 * inline siginfo or a ksiginfo. Each place is looked at: one left behind
 * would outlive the timer, and the next timer_create reuses the struct and
 * the lowest free id, and its take would take the new timer's pending
 * expirations (its signal then reporting no overruns, the stale one
 * reporting them) if it named its timer by (handle, id): it names it by
 * (handle, creation generation), which a new timer never repeats.
 */
export function sig_withdraw_timer(it: number, tgen: number): void {
  sig_lock();
  if (!withdraw_from(PQ, sigacts_h(), SG.pend0, it, tgen)) {
    for (let ls = LIVE.head(sigacts_h()); ls !== 0; ls = LIVE.after(ls)) {
      if (withdraw_inline(ls, it, tgen) || withdraw_from(LQ, ls, LS.pend0, it, tgen)) break;
    }
  }
  sig_unlock();
}

/** Takes the timer's entry off queue `q` at `qh` (lock held); its bit stays while another of its signal is there. */
function withdraw_from(q: TailQ, qh: number, pend0: number, it: number, tgen: number): boolean {
  for (let k = q.head(qh); k !== 0; k = q.after(k)) {
    if (I32[k + KS.timer] !== it || I32[k + KS.tgen] !== tgen) continue;
    const s = I32[k + KS.signo]!;
    q.remove(qh, k);
    ks_free(k);
    if (!(q === LQ && I32[qh + LS.isig] === s) && !queued(q, qh, s)) bit_clear(qh, pend0, s);
    return true;
  }
  return false;
}
/** The timer's signal in LWP entry ls's inline siginfo: freed (lock held). */
function withdraw_inline(ls: number, it: number, tgen: number): boolean {
  const s = I32[ls + LS.isig]!;
  if (s === 0 || I32[ls + LS.itimer] !== it || I32[ls + LS.itgen] !== tgen) return false;
  I32[ls + LS.isig] = 0;
  if (sig_is_rt(s)) I32[sigacts_h() + SG.nrt]--;
  if (!queued(LQ, ls, s)) bit_clear(ls, LS.pend0, s);
  return true;
}
/** Is an entry of s on queue `q` at `qh`? (lock held) */
function queued(q: TailQ, qh: number, s: number): boolean {
  for (let k = q.head(qh); k !== 0; k = q.after(k)) if (I32[k + KS.signo] === s) return true;
  return false;
}
