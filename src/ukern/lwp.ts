/**
 * The idiomatic face of LWPs: `Lwp` objects over the lwp_* syscalls. Every
 * method is one syscall with the same semantics and errors, except that an
 * LWP made by {@link Lwp.create} hands back its outcome: it runs the user's
 * export through a start shim (lwp-start.ts) that records the return value
 * or the failure in a buffer of the Lwp object (lwp-result.ts), and
 * `wait()` resolves with the value or rejects with an {@link LwpError}
 * whose `cause` is the original error.
 */
import {
  lwp_create, lwp_wait, lwp_wait_async, lwp_detach, lwp_suspend, lwp_continue, lwp_wakeup,
  lwp_unpark, lwp_park, lwp_park_async, lwp_self, lwp_kill, LWP_DETACHED, LWP_SUSPENDED, type LwpStart,
  SysError,
} from '../sys/index.js';
import { arg_type, copyin_module_href, AbortError, copyin_fields, lwp_wait_timed, lwp_park_poll, lwp_ref } from '../sys/ext.js';
import { Refs } from './refs.js';
import { int_arg, num_arg, bool_opt, signal_opt, INT32_MAX } from './args.js';
import { wait_options, abort_check, realtime_deadline, timeout_signal, timeout_timespec, type WaitOptions } from './waitopts.js';
import { lwp_result_buffer, lwp_result_read, RES_VALUE, RES_NONE, type LwpFailure } from './lwp-result.js';
import type { LwpShimArg } from './lwp-start.js';
import { signal_number, type SignalLike } from './signals.js';
import {
  LwpError, LwpImportError, LwpExportError, LwpThrewError, LwpResultError, LwpNoResultError,
} from './errors.js';

/** The class layer's start shim, beside this module (in the bundle too: scripts/bundle.mjs). */
const SHIM = new URL('./lwp-start.js', import.meta.url);

/** Options of {@link Lwp.create}. */
export interface LwpOptions {
  /** Nobody will wait for it: its resources go when it exits (LWP_DETACHED), and its outcome is not kept. */
  detached?: boolean;
  /** Created suspended: runs after `continue()` (LWP_SUSPENDED). */
  suspended?: boolean;
  /** Already aborted: nothing is created (create throws an AbortError: it is synchronous, as lwp_create). */
  signal?: AbortSignal;
  /** false: created unref'd (as {@link Lwp.unref}): it does not keep the process alive. Default true. */
  ref?: boolean;
}

/**
 * Options of {@link Lwp.wait}: the class layer's timeout and signal
 * (ukern/waitopts.ts). Either ends the wait (timeout: a SysError ETIMEDOUT;
 * abort: an AbortError); the LWP runs on and can be waited for again.
 */
export type LwpWaitOptions = WaitOptions;

/** Options of {@link Lwp.park}: the class layer's timeout and signal (ukern/waitopts.ts; a timeout rejects with ETIMEDOUT) and the unpark hint. */
export interface ParkOptions extends WaitOptions {
  /** The hint that lwp_unpark must give to wake this park. */
  hint?: number;
}

/**
 * The park / unpark hint, a user word as Port.send's `user` (any finite
 * number; undefined: none). Checked here, with the class layer's errors
 * (ERR_OUT_OF_RANGE for one that is not finite), before the call.
 */
function hint_opt(hint: unknown, where: string): number | undefined {
  return hint === undefined ? undefined : num_arg(hint, 'hint', where);
}

/**
 * A lightweight process: a thread of this process running a module's
 * export. `T` is what the start function returns (resolved, if a Promise).
 */
export class Lwp<T = unknown> implements Disposable {
  /** Where the LWP records its outcome; undefined when it was not made by create() or is detached. */
  readonly #out: SharedArrayBuffer | undefined;
  readonly #start: { module: string; export: string } | undefined;
  #collected = false;
  /**
   * Whether this object made the LWP (Lwp.create) and so may let it go at
   * dispose. One from self() or of() names an LWP someone else owns: its
   * dispose detached it, so the creator's wait() then failed ESRCH (and a
   * `using me = Lwp.self()` in the main thread detached LWP 1).
   */
  #owner = false;
  /** This object's ref state: its pending wait() follows it (the LWP's own is the kernel's, lwp_ref). */
  readonly #refs: Refs;

  private constructor(readonly lid: number, out?: SharedArrayBuffer, start?: { module: string; export: string }, ref = true) {
    this.#out = out;
    this.#start = start;
    this.#refs = new Refs(ref);
  }

  /**
   * Starts `start.export` (default `'default'`) of `start.module` in a new
   * LWP with a structured clone of `start.arg`. Unless detached, `wait()`
   * gives back what it returns.
   */
  static create<T = unknown>(start: LwpStart, options: LwpOptions = {}): Lwp<T> {
    // Everything is checked (each property read once) before anything is
    // created: a wrong option was read as a truthy flag or ignored (a
    // signal that is not an AbortSignal), and a start that is not an
    // object failed with a TypeError that had no code.
    const o = copyin_fields(options, ['detached', 'suspended', 'signal', 'ref'], 'options', 'Lwp.create');
    const detached = bool_opt(o.detached, 'options.detached', 'Lwp.create') === true;
    const suspended = bool_opt(o.suspended, 'options.suspended', 'Lwp.create') === true;
    const signal = signal_opt(o.signal, 'options.signal', 'Lwp.create');
    const ref = bool_opt(o.ref, 'options.ref', 'Lwp.create') !== false;
    const st = copyin_fields(start, ['module', 'export', 'arg'], 'start', 'Lwp.create');
    const module = copyin_module_href(st.module, 'start.module', 'Lwp.create', true);
    const exp = st.export ?? 'default';
    if (typeof exp !== 'string') arg_type('Lwp.create', 'start.export must be a string');
    if (signal?.aborted) throw new AbortError(signal.reason);
    const flags = (detached ? LWP_DETACHED : 0) | (suspended ? LWP_SUSPENDED : 0);
    let lwp: Lwp<T>;
    if (detached) lwp = new Lwp<T>(lwp_create({ module, export: exp, arg: st.arg }, flags), undefined, undefined, ref);
    else {
      const out = lwp_result_buffer();
      const arg: LwpShimArg = { module, export: exp, arg: st.arg, out };
      lwp = new Lwp<T>(lwp_create({ module: SHIM, export: 'run', arg }, flags), out, { module, export: exp }, ref);
    }
    lwp.#owner = true;
    // A detached LWP may be gone already (ESRCH): it keeps nothing alive then.
    if (!ref) unref_lwp(lwp.lid);
    return lwp;
  }
  /** The calling LWP. */
  static self(): Lwp { return new Lwp(lwp_self()); }
  /**
   * An existing LWP by lid (its wait() resolves with undefined: its outcome
   * was not kept for this object). Lids start at 1: 0, lwp_wait's "any",
   * names no LWP (its wait() collected whichever LWP exited first).
   */
  static of(lid: number): Lwp { return new Lwp(int_arg(lid, 'lid', 'Lwp.of', 1, INT32_MAX)); }

  /**
   * Waits (without blocking the event loop) for it to exit, collects it and
   * resolves with its start function's return value; rejects with an
   * LwpError subclass (import, export, threw, result, no result) whose
   * `cause` is the original error, or with a SysError from lwp_wait.
   */
  async wait(options?: LwpWaitOptions): Promise<T> {
    const { timeout, signal } = wait_options(options, 'lwp_wait');
    abort_check(signal);
    const w = timeout_signal(timeout, signal, false);
    try {
      await this.#refs.wait(() => lwp_wait_async(this.lid, { signal: w.signal }));
    } catch (e) {
      if (e instanceof AbortError && signal?.aborted !== true && w.timedOut()) {
        throw new SysError('ETIMEDOUT', 'lwp_wait', `lid ${this.lid} still running after ${timeout} ms`);
      }
      throw e;
    } finally {
      w.clear();
    }
    return this.#outcome();
  }
  /**
   * Blocks the thread until it exits, collects it and returns its start
   * function's return value (throws as wait() rejects). `timeout`: a
   * SysError ETIMEDOUT when it still runs then, as wait()'s (the LWP is
   * neither collected nor changed: wait again); `signal`: an AbortError
   * when already aborted (nothing can abort a blocked thread later).
   */
  waitSync(options?: LwpWaitOptions): T {
    const { timeout, signal } = wait_options(options, 'lwp_wait');
    abort_check(signal);
    const ts = timeout_timespec(timeout);
    if (ts === null) lwp_wait(this.lid);
    else {
      try { lwp_wait_timed(this.lid, ts); } catch (e) {
        if (e instanceof SysError && e.code === 'ETIMEDOUT') throw new SysError('ETIMEDOUT', 'lwp_wait', `lid ${this.lid} still running after ${timeout} ms`);
        throw e;
      }
    }
    return this.#outcome();
  }

  #outcome(): T {
    this.#collected = true;
    if (this.#out === undefined) return undefined as T;
    const { state, payload } = lwp_result_read(this.#out);
    if (state === RES_VALUE) return payload as T;
    if (state === RES_NONE) throw new LwpNoResultError(this.lid, 'it ended without an outcome (it called lwp_exit(), or its thread died: process.exit() in it)');
    const f = payload as LwpFailure;
    const s = this.#start!;
    switch (f.phase) {
      case 'import': throw new LwpImportError(this.lid, s.module, f.error);
      case 'export': throw new LwpExportError(this.lid, s.module, s.export, f.error);
      case 'threw': throw new LwpThrewError(this.lid, f.error);
      case 'result': throw new LwpResultError(this.lid, f.error);
      default: throw new LwpError(this.lid, 'unknown failure', f.error);
    }
  }

  /**
   * Detaches it unless it was waited for: its resources go when it exits
   * (using, or explicitly). Only an object from {@link Lwp.create}: one from
   * self() or of() does not own its LWP, and its dispose does nothing.
   */
  [Symbol.dispose](): void {
    if (this.#collected || !this.#owner) return;
    this.#collected = true;
    try { lwp_detach(this.lid); } catch (e) { if (!(e instanceof SysError)) throw e; }
  }

  /**
   * The LWP keeps the process alive (the default), as a ref'd Worker does,
   * and so does a pending {@link Lwp.wait} on this object. The LWP's state
   * is the kernel's (every Lwp object for it sees the same); a zombie keeps
   * nothing alive. ESRCH once it has been collected or, detached, has exited.
   */
  ref(): this { lwp_ref(this.lid, true); this.#refs.ref(); return this; }
  /**
   * The LWP no longer keeps the process alive by itself, nor does a pending
   * {@link Lwp.wait} on this object: when nothing else does, the process
   * exits and its LWPs end with it, as with an unref'd Worker.
   */
  unref(): this { lwp_ref(this.lid, false); this.#refs.unref(); return this; }
  /** What this object last set with ref() / unref() (or `{ ref }` at create). */
  hasRef(): boolean { return this.#refs.refed; }

  /** Detaches it (lwp_detach): nobody will wait for it; its resources go when it exits. ESRCH, EINVAL if already detached. */
  detach(): void { lwp_detach(this.lid); }
  /** Suspends it (lwp_suspend) at its next kernel entry, or at once in an interruptible sleep. ESRCH, EDEADLK. */
  suspend(): void { lwp_suspend(this.lid); }
  /** Resumes it after {@link suspend} (lwp_continue; no effect when not suspended). ESRCH. */
  continue(): void { lwp_continue(this.lid); }
  /** Interrupts its interruptible sleep (EINTR there). */
  wakeup(): void { lwp_wakeup(this.lid); }
  /** Unparks it (lwp_unpark) if parked with `hint`, or leaves the unpark pending for its next park. ESRCH. */
  unpark(hint?: number): void { lwp_unpark(this.lid, hint_opt(hint, 'Lwp.unpark')); }
  /** Sends it `sig` (lwp_kill): its handler runs in it, or it waits pending while blocked. 0 only checks that it exists (ESRCH once it has exited), as lwp_kill(lid, 0). */
  kill(sig: SignalLike): void { lwp_kill(this.lid, signal_number(sig, 'Lwp.kill', true)); }

  /**
   * Parks the calling LWP until unparked. Resolves `true` when unparked
   * (or an unpark was already pending), rejects with ETIMEDOUT or EINTR.
   * `timeout: 0` polls: `true` for a pending unpark (taken), else ETIMEDOUT.
   */
  static async park(options?: ParkOptions): Promise<boolean> {
    const { timeout, hint, signal } = wait_options(options, 'lwp_park', ['hint']);
    const h = hint_opt(hint, 'Lwp.park');
    abort_check(signal);
    if (timeout === 0) return park_poll(h);
    try {
      await lwp_park_async(realtime_deadline(timeout), h, { signal });
    } catch (e) {
      if (e instanceof SysError && e.code === 'EALREADY') return true;
      throw e;
    }
    return true;
  }
  /** The blocking form of {@link Lwp.park} (a signal is only checked before the park). */
  static parkSync(options?: ParkOptions): boolean {
    const { timeout, hint, signal } = wait_options(options, 'lwp_park', ['hint']);
    const h = hint_opt(hint, 'Lwp.parkSync');
    abort_check(signal);
    if (timeout === 0) return park_poll(h);
    try { lwp_park(realtime_deadline(timeout), h); } catch (e) {
      if (e instanceof SysError && e.code === 'EALREADY') return true;
      throw e;
    }
    return true;
  }
}

/**
 * A park with timeout 0, which polls (the class layer's rule: waitopts.ts):
 * lwp_park with a deadline already past fails ETIMEDOUT before it looks for
 * a pending unpark, which a poll must take.
 */
function park_poll(hint: number | undefined): boolean {
  if (lwp_park_poll(hint)) return true;
  throw new SysError('ETIMEDOUT', 'lwp_park', 'no unpark pending (timeout 0)');
}

/** `{ ref: false }` at create: unref the new LWP; a detached one that has already exited (ESRCH) keeps nothing alive. */
function unref_lwp(lid: number): void {
  try { lwp_ref(lid, false); } catch (e) { if (!(e instanceof SysError) || e.code !== 'ESRCH') throw e; }
}
