/**
 * Signal state in kernel memory (NetBSD's sigacts, p_sigpend and the LWP's
 * l_sigmask / l_sigpend; the queued siginfo of ksiginfo_t). The theory of
 * the subsystem — generation, choice of a taker, delivery, the sleeps it
 * interrupts, default actions — is in signals/sig.ts; this file is only the
 * layout and the guards.
 *
 * A set of signals is two words (sigset.ts). Every pending signal is one
 * ksiginfo on a queue — the process's or one LWP's — and a bit in that
 * queue's pending set; a standard signal that is already pending coalesces
 * (no second entry), a realtime one queues (EAGAIN past `sigqueue_max`).
 * When the cache is exhausted a standard signal still becomes pending: its
 * bit is set with no entry, and its siginfo is made up when it is taken.
 * One exception to "one ksiginfo each": an LWP's entry holds one siginfo
 * inline (isig), which a signal put on the LWP's queue — directed at it
 * (lwp_kill), or handed to it in sigwait (a timer's, say) — takes instead
 * of a ksiginfo when the slot is free and none of its number is pending on
 * the LWP. Every later one of its number is then younger, so the slot is
 * taken first and where a siginfo lives changes no order (but for an older
 * one that another waiter gave back and that is handed on to this one:
 * each siginfo carries its generation order, `seq`, which sigget compares);
 * a realtime one counts against `sigqueue_max` all the same. Why: a delivery wakes a
 * thread asleep on another vCPU (or one that slept a timer's period), and
 * each line its path touches is a cache miss there; held inline it touches
 * no line but the LWP entry's (no cache lock, no entry to fill, no queue
 * walk to take it).
 *
 * Locks: one mutex, class `sig` (the process's signal lock), guards all of
 * it except the words marked [a]. It comes after proc and timer in the lock
 * order (a timer's expiry generates its signal holding it_mutex) and before
 * everything a generation touches next: an LWP's l_lock (to interrupt its
 * sleep) and the sleep queue of sigwait. A knote activation for
 * EVFILT_SIGNAL happens after it is dropped.
 */
import { SAB, define_struct, kregion_create, kcache_create } from '../kern/kmem.js';
import { mutex_class } from '../kern/lockdebug.js';
import { define_tunable } from '../kern/options.js';
import { NSIG } from './consts.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /**
     * Realtime signals queued at once, process-wide (RLIMIT_SIGPENDING;
     * default 1024). sigqueue, kill of a realtime signal, lwp_kill and a
     * SIGEV_SIGNAL timer's first expiry get EAGAIN past it.
     */
    sigqueue_max?: number;
  }
}
define_tunable('sigqueue_max', 1024, 16, 1 << 20);

/** Dispositions (sa_kind). */
export const SK_DFL = 0, SK_IGN = 1, SK_MODULE = 2, SK_FUNC = 3;

/** Bytes of a { module, export } handler's UTF-8 text, per signal. */
export const SA_TEXT_BYTES = 1024;

/**
 * The process's signal state. `[key]` as in kern/lockorder.ts; `S` is the
 * signal lock.
 */
export const SIGACTS = define_struct('sigacts', {
  lock: 'i32',      // the signal lock (class sig)
  pend0: 'i32', pend1: 'i32', // [S] signals pending on the process
  qhead: 'i32', qtail: 'i32', // [S] their ksiginfo entries, in generation order
  nrt: 'i32',       // [S] realtime entries queued, process and LWPs (the sigqueue_max limit)
  os0: 'i32', os1: 'i32',     // [S,a] signals the program catches, waits for or watches: the main thread routes them from the host
  osbell: 'i32',    // [a] bumped when the router must add a listener; the main thread waits on it with waitAsync
  osl0: 'i32', osl1: 'i32',   // [a] signals the router has host listeners for now (written by the main thread only)
  osr0: 'i32', osr1: 'i32',   // [a] signals a sigwait rang the router for: it adds their listeners even if the wait ended before it ran
  dying: 'i32',     // [a] the signal the process is dying of (0: none); set once
  gen: 'i32',       // [S] bumped by every sigaction (threads cache handlers by it)
  lhead: 'i32', ltail: 'i32', // [S] the live LWP entries, in the order they were set up (choose_taker walks them)
  seq: 'i32',       // [S] the last siginfo's seq (wraps): generation order, for what goes back to the process queue
});
export const SG = SIGACTS.F;

/** One signal's disposition: NSIG entries, indexed by signo. */
export const SIGACT = define_struct('sigact', {
  kind: 'i32',      // [S] SK_*
  flags: 'i32',     // [S] SA_* (bit 31 is SA_RESETHAND: read with >>> 0)
  mask0: 'i32', mask1: 'i32', // [S] sa_mask
  textlen: 'i32',   // [S] bytes of the module handler's text (SK_MODULE)
  gen: 'i32',       // [S] the sigacts gen when it was last set
  nwatch: 'i32',    // [S] EVFILT_SIGNAL knotes watching it (they want it routed from the host too)
  ngen: 'i32',      // [a] generations, ever (EVFILT_SIGNAL counts from it)
  nwait: 'i32',     // [S] LWP entries whose sigwait set holds it (0: choose_taker need not look for a waiter)
  nblock: 'i32',    // [S] live LWP entries whose mask holds it (0: an ignored signal is discarded without a look at every entry)
});
export const SA = SIGACT.F;

/** Per-LWP signal state, one per LWP table slot (lwp/lwp.ts), indexed like it. */
export const LWPSIG = define_struct('lwpsig', {
  ivalue: 'f64',    // [S] si_value of the inline siginfo (isig)
  lid: 'i32',       // [S] the LWP the entry belongs to now (0: none): set at lwp_create, cleared at exit
  mask0: 'i32', mask1: 'i32', // [S] l_sigmask; written by the LWP itself (and by lwp_create before the LWP runs)
  pend0: 'i32', pend1: 'i32', // [S] signals directed at this LWP, pending
  isig: 'i32',      // [S] the signal whose siginfo is held inline here instead of in a ksiginfo (0: none)
  icode: 'i32', ipid: 'i32', ilid: 'i32', // [S] the rest of that siginfo
  itimer: 'i32', itgen: 'i32', // [S] as a ksiginfo's timer and tgen
  qhead: 'i32', qtail: 'i32', // [S] their ksiginfo entries
  catch0: 'i32', catch1: 'i32', // [S] signals whose function handler lives in this LWP's thread
  wait0: 'i32', wait1: 'i32', // [S] the set it is waiting for in sigwait (0, 0: not waiting)
  wq: 'i32', wqtail: 'i32',   // [S] its sigwait sleep queue (one sleeper at most)
  bell: 'i32',      // [a] bumped to wake the thread's event loop (a caught signal for it)
  armed: 'i32',     // [!] its thread waits on `bell` in its event loop (a taker that can run a handler while idle)
  lnext: 'i32', lprev: 'i32', // [S] on sigacts' list of live entries (kept by ls_init / ls_retire: after `armed`, which ls_init's clear stops at)
  ipdir: 'i32',     // [S] as a ksiginfo's pdir, for the inline siginfo (written with isig)
  iseq: 'i32',      // [S] as a ksiginfo's seq, for the inline siginfo (written with isig)
}, true); // a line each (two): lid to catch1, what a delivery reads, share the first
export const LS = LWPSIG.F;

/** A pending signal (ksiginfo_t). */
export const KSIGINFO = define_struct('ksiginfo', {
  value: 'f64',     // [S] si_value
  signo: 'i32', code: 'i32', pid: 'i32', lid: 'i32',
  overrun: 'i32',   // [S] si_overrun (a timer's, filled when it is taken)
  timer: 'i32',     // [S] handle of the SIGEV_SIGNAL timer it belongs to, 0 if none
  tgen: 'i32',      // [S] that timer's creation generation (its struct and id are reused after a delete: checked with it)
  pdir: 'i32',      // [S] 1: process-directed (on an LWP's queue: handed to it in sigwait, the process's again if it does not take it)
  seq: 'i32',       // [S] its place in generation order (sigacts seq; compare differences): where it goes back on the process queue
  next: 'i32', prev: 'i32',
});
export const KS = KSIGINFO.F;

const sigacts = kregion_create('sigacts', () => SIGACTS.words + NSIG * SIGACT.words + NSIG * (SA_TEXT_BYTES >> 2));
mutex_class('sig', sigacts, { field: SG.lock, words: 1 });
const lwpsig = kregion_create('lwpsig', (t) => t.maxlwp! * LWPSIG.words);
export const ksiginfos = kcache_create('ksiginfo', KSIGINFO, (t) => t.sigqueue_max! + 4 * t.maxlwp! + 64);

/** The process's sigacts. */
export function sigacts_h(): number { return sigacts.base; }
/** Signal `s`'s disposition entry. */
export function sigact_h(s: number): number { return sigacts.base + SIGACTS.words + s * SIGACT.words; }
/** The UTF-8 bytes of signal `s`'s module handler text (a view of kernel memory). */
export function sigact_text(s: number): Uint8Array {
  const off = (sigacts.base + SIGACTS.words + NSIG * SIGACT.words + s * (SA_TEXT_BYTES >> 2)) * 4;
  return new Uint8Array(SAB, off, SA_TEXT_BYTES);
}
/** The signal entry of LWP table slot `slot`. */
export function lwpsig_h(slot: number): number { return lwpsig.base + slot * LWPSIG.words; }
export function lwpsig_count(): number { return lwpsig.words / LWPSIG.words; }

