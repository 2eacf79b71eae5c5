/**
 * The idiomatic face of signals, over the sigaction / sigprocmask /
 * sigwaitinfo syscalls, in the class layer's convention: signals named as
 * Node names them ('SIGUSR1') or by number; `onSignal` returns a disposable
 * (several listeners per signal in one thread, as process.on allows, behind
 * one kernel handler); `signals()` is an async iterator of siginfo_t whose
 * `return()` puts the mask back; every wait takes an AbortSignal.
 *
 * What runs where (the kernel's rule, signals/sig.ts): a listener is a JS
 * function of the thread that added it, so a caught signal is taken by an
 * LWP that has one and does not block the signal. Code that makes no
 * kernel call and never returns to its event loop is not interrupted: a
 * signal waits for its next kernel entry.
 */
import {
  sigaction, sigprocmask, sigwaitinfo_async, sigemptyset, sigaddset, sigismember, kill as sys_kill, lwp_self,
  SIG_BLOCK, SIG_UNBLOCK, SIG_DFL, SA_RESTART, SIGRTMIN, SIGRTMAX, NSIG,
  type siginfo_t, type sigaction_t, type sigset_t,
} from '../sys/index.js';
import { arg_type, ArgRangeError, copyin_fields, copyin_array, copyin_fault } from '../sys/ext.js';
import { int_arg, bool_opt, signal_opt, INT32_MIN, INT32_MAX } from './args.js';
import { Refs } from './refs.js';
import { constants } from 'node:os';
import { step_iterator, more } from './iter.js';

/** A signal as the class layer takes it: its number, or its name ('SIGUSR1', 'SIGRTMIN+3'). */
export type SignalLike = number | NodeJS.Signals | `SIGRTMIN+${number}` | 'SIGRTMIN' | 'SIGRTMAX';
export type { siginfo_t };

const BY_NAME = constants.signals as Readonly<Record<string, number>>;

/**
 * The number of a SignalLike (ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE /
 * ERR_UNKNOWN_SIGNAL). `zero`: 0 is taken too, the null signal of kill(2)
 * (only the checks, the existence test process.kill(pid, 0) makes).
 */
export function signal_number(sig: unknown, where: string, zero = false): number {
  if (typeof sig === 'number') {
    const min = zero ? 0 : 1;
    if (!Number.isInteger(sig) || sig < min || sig >= NSIG) throw new ArgRangeError(where, `signal must be an integer from ${min} to ${NSIG - 1}, got ${sig}`);
    return sig;
  }
  if (typeof sig !== 'string') arg_type(where, `signal must be a number or a signal name, got ${sig === null ? 'null' : typeof sig}`);
  if (sig === 'SIGRTMIN') return SIGRTMIN;
  if (sig === 'SIGRTMAX') return SIGRTMAX;
  const rt = /^SIGRTMIN\+(\d+)$/.exec(sig);
  if (rt !== null && SIGRTMIN + Number(rt[1]) <= SIGRTMAX) return SIGRTMIN + Number(rt[1]);
  const n = BY_NAME[sig];
  if (n === undefined) throw Object.assign(new TypeError(`${where}: unknown signal: ${sig}`), { code: 'ERR_UNKNOWN_SIGNAL' });
  return n;
}

function set_of(sigs: unknown, where: string): sigset_t {
  // Read once (copy-in): its length and each element; a revoked Proxy is an argument error.
  let isarr = false;
  try { isarr = Array.isArray(sigs); } catch (e) { copyin_fault(e, sigs, 'signals', where, true); }
  if (!isarr) arg_type(where, 'signals must be an array of signal numbers or names');
  const set = sigemptyset();
  for (const s of copyin_array(sigs, 'signals', where)) sigaddset(set, signal_number(s, where));
  return set;
}

/** A listener added by {@link onSignal}. */
export type SignalListener = (info: siginfo_t) => void;

/** Options of {@link onSignal}. */
export interface OnSignalOptions {
  /**
   * Whether an interrupted restartable call (lwp_wait, sigwaitinfo) starts
   * again after the listeners ran (SA_RESTART; default true). Calls that are
   * never restarted (port_get, kevent, lwp_park, ...) fail with EINTR either
   * way. The first listener of a signal in a thread sets it.
   */
  restart?: boolean;
}

/** This thread's listeners per signal, behind one kernel handler each; the action they replaced. */
const table = new Map<number, { listeners: Set<SignalListener>; previous: sigaction_t }>();
/**
 * The LWP whose listeners `table` holds. A function handler goes with its
 * LWP (docs/sys.md: when it exits, the signal is SIG_DFL again), and a pooled
 * worker runs LWP after LWP with this module loaded: an LWP that ended with
 * a listener left its entry here, so the next LWP of the worker found the
 * signal handled, installed no handler of its own, and the signal met its
 * default action (a SIGUSR1 ended the process) instead of its listener.
 */
let table_lid = 0;

/** `table`, of the calling LWP (an earlier LWP's entries dropped: its handlers went with it). */
function lwp_table(): Map<number, { listeners: Set<SignalListener>; previous: sigaction_t }> {
  const lid = lwp_self();
  if (lid !== table_lid) { table.clear(); table_lid = lid; }
  return table;
}

function dispatch(signo: number, info: siginfo_t): void {
  const e = table.get(signo);
  if (e === undefined) return;
  for (const fn of [...e.listeners]) fn(info);
}

/** What {@link onSignal} returns: removes its listener when disposed. */
export class SignalSubscription implements Disposable {
  #done = false;
  constructor(readonly signo: number, readonly listener: SignalListener) {}
  /** Removes the listener; the last one of a signal in this thread puts the previous action back. */
  dispose(): void {
    if (this.#done) return;
    this.#done = true;
    const table = lwp_table();
    const e = table.get(this.signo);
    if (e === undefined || !e.listeners.delete(this.listener) || e.listeners.size > 0) return;
    table.delete(this.signo);
    try { sigaction(this.signo, e.previous); } catch { sigaction(this.signo, { sa_handler: SIG_DFL }); }
  }
  [Symbol.dispose](): void { this.dispose(); }
}

/**
 * Calls `listener` with the siginfo_t of each `sig` this thread takes,
 * until the returned subscription is disposed. Catching a signal in any
 * thread changes its disposition for the whole process (it no longer
 * terminates, and is routed from other processes too).
 */
export function onSignal(sig: SignalLike, listener: SignalListener, options?: OnSignalOptions): SignalSubscription {
  const signo = signal_number(sig, 'onSignal');
  if (typeof listener !== 'function') arg_type('onSignal', 'listener must be a function');
  // Options as every class's (copy-in): not an object was accepted silently.
  const restart = (options === undefined ? undefined : copyin_fields(options, ['restart'], 'options', 'onSignal').restart) ?? true;
  if (typeof restart !== 'boolean') arg_type('onSignal', 'options.restart must be a boolean');
  const table = lwp_table();
  let e = table.get(signo);
  if (e === undefined) {
    const previous = sigaction(signo, { sa_handler: dispatch, sa_flags: restart ? SA_RESTART : 0 });
    e = { listeners: new Set(), previous };
    table.set(signo, e);
  }
  e.listeners.add(listener);
  return new SignalSubscription(signo, listener);
}

/** Options of {@link signals}. */
export interface SignalsOptions {
  /** Ends the iteration: the pending `next()` rejects with an AbortError. */
  signal?: AbortSignal;
  /** false: a pending `next()` does not keep the process alive (as `timers/promises`' `{ ref: false }`). Default true. */
  ref?: boolean;
}

/**
 * This thread's signals() iterators that run, per signal they block: how
 * many, and whether the first of them blocked it (it was not blocked
 * before). The last of them to end unblocks it, not the first: an iterator
 * that ended while another of the same signal ran unblocked it under the
 * other, whose signal, sent between two of its steps, then ran its default
 * action (the process ended) instead of waiting for its next step.
 */
const iter_blocks = new Map<number, { count: number; added: boolean }>();
/**
 * The LWP whose iterators iter_blocks counts. A signal mask is an LWP's,
 * and a pooled worker thread runs LWP after LWP with this module loaded:
 * the counts of an LWP that ended with an iterator running are not the
 * next one's (lids are never reused), which would otherwise find its
 * signal counted, not record that it blocked it, and leave it blocked.
 */
let iter_lid = 0;

/** iter_blocks, of the calling LWP. */
function lwp_iter_blocks(): Map<number, { count: number; added: boolean }> {
  const lid = lwp_self();
  if (lid !== iter_lid) { iter_blocks.clear(); iter_lid = lid; }
  return iter_blocks;
}

/** An iterator of `set` starts: blocks it, counting each signal. */
function iter_block(set: sigset_t): void {
  const iter_blocks = lwp_iter_blocks();
  const before = sigprocmask(SIG_BLOCK, set);
  for (const s of set.toArray()) {
    const e = iter_blocks.get(s);
    if (e !== undefined) e.count++;
    else iter_blocks.set(s, { count: 1, added: !sigismember(before, s) });
  }
}

/** An iterator of `set` ends: unblocks the signals it was the last to block that were not blocked before the first. */
function iter_unblock(set: sigset_t): void {
  const iter_blocks = lwp_iter_blocks();
  const added = sigemptyset();
  for (const s of set.toArray()) {
    const e = iter_blocks.get(s);
    if (e === undefined || --e.count > 0) continue;
    iter_blocks.delete(s);
    if (e.added) sigaddset(added, s);
  }
  sigprocmask(SIG_UNBLOCK, added);
}

/**
 * An async iterator of the signals of `sigs` this thread accepts, as
 * sigwaitinfo takes them: they are blocked in this thread while it runs
 * (so that they wait for it rather than run handlers), and unblocked again
 * when the iteration ends (`break`, `return()`, an abort), except those
 * that were blocked before, and those another of this thread's iterators
 * still runs for (the last to end unblocks them).
 */
export function signals(sigs: readonly SignalLike[], options?: SignalsOptions): AsyncGenerator<siginfo_t, void, undefined> {
  // Arguments are checked at the call, not at the first next().
  const set = set_of(sigs, 'signals');
  const o: { signal?: unknown; ref?: unknown } = options === undefined ? {} : copyin_fields(options, ['signal', 'ref'], 'options', 'signals');
  const signal = signal_opt(o.signal, 'options.signal', 'signals');
  // Each step's wait keeps the process alive unless { ref: false } (ukern/refs.ts).
  const refs = new Refs(bool_opt(o.ref, 'options.ref', 'signals') !== false);
  // Blocked at the first step, as a generator body would: an iterator made
  // and never iterated (never returned either) must not leave them blocked.
  let blocked = false;
  // return() with a step pending ends it at once (ukern/iter.ts), not at
  // the next of these signals, which may never come: the mask is put back then.
  return step_iterator(async (sig) => {
    if (!blocked) { iter_block(set); blocked = true; }
    return more(await refs.wait(() => sigwaitinfo_async(set, { signal: sig })));
  }, signal, () => {
    if (blocked) iter_unblock(set);
  });
}

/** Sends `sig` to process `pid` (this process: process.pid or 0), as kill(2); 0 only checks that it exists (ESRCH), as process.kill(pid, 0). */
export function kill(pid: number, sig: SignalLike): void {
  // A pid_t, an int: a fraction or 2**40 was kill's ESRCH, not an argument error.
  sys_kill(int_arg(pid, 'pid', 'kill', INT32_MIN, INT32_MAX), signal_number(sig, 'kill', true));
}
