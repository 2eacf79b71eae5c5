/**
 * The idiomatic face of LWPs: `Lwp` objects over the lwp_* syscalls. Thin:
 * every method is one syscall with the same semantics and errors.
 */
import {
  lwp_create, lwp_wait, lwp_wait_async, lwp_detach, lwp_suspend, lwp_continue, lwp_wakeup,
  lwp_unpark, lwp_park, lwp_park_async, lwp_self, LWP_DETACHED, LWP_SUSPENDED, type LwpStart,
} from './sys.js';
import { nsToTs, realNow } from '../kern/time.js';
import { SysError } from '../kern/errno.js';

export interface LwpOptions {
  /** Nobody will wait for it: its resources go when it exits (LWP_DETACHED). */
  detached?: boolean;
  /** Created suspended: runs after `continue()` (LWP_SUSPENDED). */
  suspended?: boolean;
}

export interface ParkOptions {
  /** Give up after this many milliseconds (rejects with ETIMEDOUT). */
  timeoutMs?: number;
  /** The hint that lwp_unpark must give to wake this park. */
  hint?: number;
  /** Aborting wakes the park (as lwp_wakeup) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A lightweight process: a thread of this process running a module's export. */
export class Lwp {
  private constructor(readonly lid: number) {}

  /** Starts `fn` (a named export of `module`) in a new LWP with a structured clone of `arg`. */
  static create(start: LwpStart, options: LwpOptions = {}): Lwp {
    const flags = (options.detached ? LWP_DETACHED : 0) | (options.suspended ? LWP_SUSPENDED : 0);
    return new Lwp(lwp_create(start, flags));
  }
  /** The calling LWP. */
  static self(): Lwp { return new Lwp(lwp_self()); }
  /** An existing LWP by lid. */
  static of(lid: number): Lwp { return new Lwp(lid); }

  /** Waits (without blocking the event loop) for it to exit and collects it. */
  wait(): Promise<number> { return lwp_wait_async(this.lid); }
  /** Blocks the thread until it exits and collects it. */
  waitSync(): number { return lwp_wait(this.lid); }
  detach(): void { lwp_detach(this.lid); }
  suspend(): void { lwp_suspend(this.lid); }
  continue(): void { lwp_continue(this.lid); }
  /** Interrupts its interruptible sleep (EINTR there). */
  wakeup(): void { lwp_wakeup(this.lid); }
  unpark(hint?: number): void { lwp_unpark(this.lid, hint); }

  /**
   * Parks the calling LWP until unparked. Resolves `true` when unparked
   * (or an unpark was already pending), rejects with ETIMEDOUT or EINTR.
   */
  static async park(options: ParkOptions = {}): Promise<boolean> {
    const { timeoutMs, hint, signal } = options;
    signal?.throwIfAborted();
    const abstime = timeoutMs === undefined ? null : nsToTs(realNow() + timeoutMs * 1e6);
    const me = lwp_self();
    const onAbort = (): void => { try { lwp_wakeup(me); } catch { /* not asleep yet or any more */ } };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await lwp_park_async(abstime, hint);
      return true;
    } catch (e) {
      if (e instanceof SysError && e.code === 'EALREADY') return true;
      if (signal?.aborted) throw signal.reason;
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
  /** The blocking form of {@link Lwp.park}. */
  static parkSync(options: Omit<ParkOptions, 'signal'> = {}): boolean {
    const abstime = options.timeoutMs === undefined ? null : nsToTs(realNow() + options.timeoutMs * 1e6);
    try { lwp_park(abstime, options.hint); } catch (e) {
      if (e instanceof SysError && e.code === 'EALREADY') return true;
      throw e;
    }
    return true;
  }
}
