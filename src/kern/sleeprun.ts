/**
 * One body for both forms of a sleeping syscall. The syscall is written as a
 * generator that yields a sleep request whenever it must block, and gets the
 * sleep's outcome (SQ_WOKEN / SQ_INTR / SQ_TIMEDOUT) back; {@link run_sync}
 * blocks the thread for each request, {@link run_async} awaits it.
 *
 * Abort: the one path from an AbortSignal into the sleep machinery. Every
 * _async syscall takes `{ signal }` (kern/copyin.ts AsyncOptions) and hands
 * it to run_async, and every class passes its signal through them. An abort
 * interrupts the current sleep (SQ_INTR, as lwp_wakeup would, but only this
 * sleep, not the LWP's other pending ones); the syscall body sees an
 * interrupted sleep as it always does, so what it took before it slept is
 * returned, not lost: only a body that ends in EINTR turns into an
 * AbortError (cause: the signal's reason). An abort between two sleeps of
 * one call ends the next sleep at once; a signal already aborted at entry
 * starts nothing.
 */
import { sq_interrupt, sq_flags, SQF_INTERRUPTIBLE } from './sleepq.js';
import { sq_block, sq_sleep_async, sq_relock, sq_thread_abandoned, sq_never, type AsyncCall, type SpinPolicy, type HostWait } from './sleepwait.js';
import { SysError, AbortError } from './errno.js';
import { sysent_sigintr, ps_combine, PS_NONE, PS_RESTART } from './sysent.js';
import { hold_scope_current, hold_in, type HoldScope } from './keepalive.js';
import { cur } from './hdr.js';
import { abort_listen } from './copyin.js';

/** Block on sleeper `sl` (enqueued on a list guarded by the held mutex `lock`) until `deadline`. */
export interface SleepReq {
  sl: number; lock: number; deadline: number; spin?: SpinPolicy;
  /** When woken (SQ_WOKEN), come back without the lock held. */
  norelock?: boolean;
  /** A blocking sleep may wait in the host instead (sleepwait.ts HostWait); the async form ignores it. */
  host?: HostWait;
}
export type SleepGen<T> = Generator<SleepReq, T, number>;

export function run_sync<T>(g: SleepGen<T>): T {
  try {
    return run_sync_inner(g);
  } catch (e) {
    if (is_eintr(e)) sysent_sigintr();
    throw e;
  }
}

function is_eintr(e: unknown): boolean { return e instanceof SysError && e.code === 'EINTR'; }

/**
 * Signals and interrupted sleeps: a body that ends in EINTR has the
 * caller's signals taken (their handlers run) before the error reaches the
 * caller (kern/sysent.ts). A restartable call (lwp_wait, sigwaitinfo: under
 * SA_RESTART; sigwait: `always`) is made again from `make` instead, as a
 * kernel restarts a syscall after ERESTART. An interruption that ran no
 * handler (lwp_wakeup, an abort) is never restarted.
 */
export function run_sync_restart<T>(make: () => SleepGen<T>, always = false): T {
  const me = cur.lwp;
  for (;;) {
    try {
      return run_sync_inner(make());
    } catch (e) {
      // A handler that ended the LWP (lwp_exit in it): nothing to restart for.
      if (!is_eintr(e) || cur.lwp !== me) throw e;
      const ps = sysent_sigintr();
      if (ps === PS_NONE || (ps !== PS_RESTART && !always)) throw e;
    }
  }
}
function run_sync_inner<T>(g: SleepGen<T>): T {
  let r = g.next();
  while (!r.done) r = g.next(sq_block(r.value.sl, r.value.lock, r.value.deadline, r.value.spin, r.value.norelock, r.value.host));
  return r.value;
}

/** The Promise form of {@link run_sync_restart}. */
export async function run_async_restart<T>(make: () => SleepGen<T>, always: boolean, signal?: AbortSignal): Promise<T> {
  const sc = hold_scope_current(); // (a restart runs after an await: outside the caller's scope)
  const me = cur.lwp;
  for (;;) {
    // This attempt's own record of its interrupted sleeps (sleepwait.ts
    // AsyncCall): by the time its EINTR arrives here, other async calls of
    // the thread may have slept and settled.
    const call: AsyncCall = { ps: PS_NONE };
    try {
      return await run_async_inner(make(), signal, sc, call);
    } catch (e) {
      // The thread is no longer on the LWP the call started on: a handler
      // of the interrupting signal ended it (lwp_exit in the handler; its
      // LwpExit reached the thread as an uncaught exception before this
      // continuation, and the worker was unbound). Made again, the call ran
      // for no LWP: it took the proc lock with no owner id, a kernel panic.
      if (!is_eintr(e) || cur.lwp !== me) throw e;
      const ps = ps_combine(call.ps, sysent_sigintr());
      if (ps === PS_NONE || (ps !== PS_RESTART && !always)) throw e;
    }
  }
}

export async function run_async<T>(g: SleepGen<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await run_async_inner(g, signal);
  } catch (e) {
    if (is_eintr(e)) sysent_sigintr();
    throw e;
  }
}

/*
 * Abandoned calls. A call whose LWP exited while it was between a sleep that had ended and
 * its resumption (user code of the thread ran in that gap: the rest of the
 * synchronous run that started the call, when its sleep ended without
 * waiting, or other microtasks): the LWP layer has orphaned and freed its
 * sleeper (lwp_orphan_sleepers: it was still on the LWP's async chain, which
 * only the resumption's sq_relock leaves) and given back what the call held
 * for it, and the thread is abandoned. Resumed, it settled a freed sleeper,
 * ran on for an exited LWP and freed the sleeper again; so, as an abandoned
 * sq_sleep_async does, it never settles (sq_never).
 */

/**
 * Runs a sleeping call's generator, each sleep an async one. Each sleep's
 * hold on the event loop is taken in the hold scope the call started in
 * (`sc`, captured in its synchronous start: kern/keepalive.ts), also the
 * sleeps after the first, which run after an await.
 */
async function run_async_inner<T>(g: SleepGen<T>, signal?: AbortSignal, sc = hold_scope_current(), call: AsyncCall = { ps: PS_NONE }): Promise<T> {
  if (signal !== undefined) return run_abortable(g, signal, sc, call);
  let r = g.next();
  while (!r.done) {
    const q = r.value;
    const v = await hold_in(sc, () => sq_sleep_async(q.sl, q.lock, q.deadline));
    if (sq_thread_abandoned()) return sq_never(); // (see below)
    // Relock and resume in one synchronous step (see sq_sleep_async).
    r = g.next(sq_relock(q.sl, q.lock, v, q.norelock, call));
  }
  return r.value;
}

/** Ends sleeper sl's sleep for an abort, when it may be interrupted. */
function abort_sleep(sl: number): void {
  if ((sq_flags(sl) & SQF_INTERRUPTIBLE) !== 0) sq_interrupt(sl);
}

async function run_abortable<T>(g: SleepGen<T>, signal: AbortSignal, sc: HoldScope | undefined, call: AsyncCall): Promise<T> {
  if (signal.aborted) throw new AbortError(signal.reason);
  let sl = 0;
  // The signal's state as the kernel knows it: set by the abort event, and
  // read between g.next() and the sleep, where the body's lock is held. The
  // signal itself is the user's: its `aborted` may be a getter (an own
  // property of a real AbortSignal), which ran there under the lock, and a
  // syscall made from it was a kernel panic.
  let aborted = false;
  const onAbort = (): void => { aborted = true; if (sl !== 0) abort_sleep(sl); };
  // (Aborted while the listener was added, by the signal's own addEventListener: onAbort has run.)
  const off = abort_listen(signal, onAbort);
  try {
    if (aborted) throw new AbortError(signal.reason);
    let r = g.next();
    while (!r.done) {
      const q = r.value;
      sl = q.sl;
      if (aborted) abort_sleep(sl);
      const v = await hold_in(sc, () => sq_sleep_async(q.sl, q.lock, q.deadline));
      if (sq_thread_abandoned()) return sq_never(); // (see run_async_inner)
      sl = 0;
      r = g.next(sq_relock(q.sl, q.lock, v, q.norelock, call));
    }
    return r.value;
  } catch (e) {
    if (signal.aborted && e instanceof SysError && e.code === 'EINTR') throw new AbortError(signal.reason);
    throw e;
  } finally {
    off();
  }
}
