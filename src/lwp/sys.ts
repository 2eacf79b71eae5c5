/**
 * The LWP system calls of `ukern/sys` (NetBSD sys_lwp.c / kern_lwp.c
 * semantics, errno values included). The calling thread is an LWP; the
 * thread that booted the kernel is LWP 1. The states and locks these calls
 * work with are described in lwp/lwp.ts's header.
 */
import { is_main_thread } from '../kern/host.js';
import { I32 } from '../kern/kmem.js';
import { cur, panicked, H_PROC_EXIT, H_EXIT_STATUS, H_MAIN_LWP, PANIC_STATUS } from '../kern/hdr.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { fail, fail_status, type ErrnoCode } from '../kern/errno.js';
import { copyin_int, copyin_user, copyin_fields, copyin_ints, copyin_timespec, copyin_deadline, copyin_check, arg_type, copyin_async_options, type AsyncOptions } from '../kern/copyin.js';
import { panic_check, panic_status_at_exit } from '../kern/panic.js';
import { real_now, mono_now, ts_to_ns, type Timespec } from '../kern/time.js';
import { sysenter, sysent_sigintr } from '../kern/sysent.js';
import { on_boot } from '../kern/boot.js';
import { run_async, run_sync_restart, run_async_restart } from '../kern/sleeprun.js';
import { lwp_wait1 } from './wait.js';
import { sq_wake_all } from '../kern/sleepq.js';
import { sq_abandon_thread } from '../kern/sleepwait.js';
import { kstat_add } from '../kern/kstat.js';
import {
  L, LSIDL, LSZOMB, LSSLEEP, LSSUSPENDED, LW_DETACHED, LW_WEXIT, LW_MAIN, LW_WSUSPEND, LW_CANCELLED, lwp_byid, maxlwp, lwp_private, lwp_setprivate_,
} from './lwp.js';
import { P, curproc, lwp_create_hooks, lwp_exit_hooks, proc_main_exit } from '../kern/proc.js';
import {
  lwp_alloc, lwp_setrun, lwp_bind, lwp_startup, lwp_free, lwp_exit_common, lwp_suspend_locked,
  lwp_continue_locked, lwp_halt, lwp_orphan_sleepers, lwp_bind_exited, interruptible_sleepers, interrupt_sleepers, EXIT_LAST, C_CREATED, lwp_live_add, lwp_live_drop,
} from './ops.js';
import { park, park_sync, park_poll, unpark_one, count_targeted, count_broadcast, LWP_UNPARK_MAX } from './park.js';
import { lwp_pool_post_create } from './create.js';
import { LwpExit, exited_self } from './exit.js';
import { copyin_module_href } from './module-href.js';
import { diag_publish, dc_lwp_create } from '../kern/diag.js';

/** lwp_create flags (NetBSD values). */
export const LWP_DETACHED = 0x00000040;
export const LWP_SUSPENDED = 0x00000080;
export { LWP_UNPARK_MAX };
/** LWP states (NetBSD l_stat values). */
export { LSIDL, LSRUN, LSSLEEP, LSSTOP, LSZOMB, LSONPROC, LSSUSPENDED } from './lwp.js';

/** Where an LWP starts: the named export of a module, called with a structured clone of `arg`. */
export interface LwpStart { module: string | URL; export?: string; arg?: unknown }

// LWP 1 is the booting thread.
on_boot(() => {
  const p = curproc();
  I32[p + P.pid] = process.pid;
  cur.lid = 1; // provisional owner id for the proc lock: lwp_alloc hands out lid 1 first
  mutex_enter(p + P.lock);
  const h = lwp_alloc(false);
  lwp_setrun(h, false);
  Atomics.or(I32, h + L.flag, LW_MAIN);
  mutex_exit(p + P.lock);
  lwp_bind(h);
  lwp_startup(h);
  I32[H_MAIN_LWP] = h;
  panic_status_at_exit();
});

/**
 * Copies in start.arg: its structured clone, made here, on entry. The clone
 * reads the user's object (its getters run), and the post to the LWP's
 * worker then reads only the kernel's copy. Cloned by the post alone, the
 * getters ran once the LWP existed, unstarted until they returned: one that
 * waited for it (lwp_wait) waited for ever, and one that threw made the
 * create fail EAGAIN (try again: it would throw again) instead of throwing.
 * TypeError for what cannot be cloned.
 */
function copyin_start_arg(arg: unknown): unknown {
  const t = typeof arg;
  if (t !== 'object' && t !== 'function' && t !== 'symbol') return arg; // a primitive: already a copy
  if (arg === null) return arg;
  try {
    return structuredClone(arg);
  } catch (e) {
    if (e instanceof Error && e.name === 'DataCloneError') arg_type('lwp_create', `start.arg cannot be cloned: ${e.message}`);
    throw e; // the user's own, from a getter
  }
}

/** Creates an LWP running `start`; returns its lid. EAGAIN at maxlwp. */
export function lwp_create(start: LwpStart, flags = 0): number {
  sysenter();
  // Copy-in: each field of start read once, before any lock.
  const st = copyin_fields(start, ['module', 'export', 'arg'], 'start', 'lwp_create');
  const module = copyin_module_href(st.module, 'start.module', 'lwp_create');
  const exp = st.export ?? 'default';
  if (typeof exp !== 'string') arg_type('lwp_create', 'start.export must be a string');
  const f = copyin_int(flags, 'flags', 'lwp_create');
  const arg = copyin_start_arg(st.arg);
  panic_check('lwp_create');
  const p = curproc();
  mutex_enter(p + P.lock);
  const h = lwp_alloc((f & LWP_DETACHED) !== 0);
  if (h === 0) { mutex_exit(p + P.lock); fail('EAGAIN', 'lwp_create', `maxlwp (${maxlwp()}) reached`); }
  // A suspended creator's new LWPs start suspended too (NetBSD: L_WSUSPEND on the creator).
  const suspended = (f & LWP_SUSPENDED) !== 0 || (Atomics.load(I32, cur.lwp + L.flag) & (LW_WSUSPEND | LW_WEXIT)) !== 0;
  lwp_setrun(h, suspended);
  lwp_live_add(p);
  const lid = I32[h + L.lid];
  mutex_exit(p + P.lock);
  lwp_create_hooks(cur.lid, lid);
  try {
    lwp_pool_post_create(lid, module, exp, arg);
  } catch (e) {
    // The argument could not be cloned (or no worker could be started): the LWP never existed.
    // Its create hooks ran (the signals subsystem's live entry with the
    // creator's mask): its exit hooks undo them, before the LWP is freed,
    // with no lock held, as lwp_exit_common runs them.
    if (Atomics.load(I32, h + L.stat) !== LSZOMB) lwp_exit_hooks(lid);
    mutex_enter(p + P.lock);
    if (Atomics.load(I32, h + L.stat) !== LSZOMB) {
      const st = Atomics.load(I32, h + L.stat);
      if (st !== LSSUSPENDED) I32[p + P.nrlwps]--;
      I32[p + P.nzlwps]++;
      lwp_live_drop(p, h);
      lwp_free(h);
    }
    mutex_exit(p + P.lock);
    kstat_add(C_CREATED, -1); // it never existed: created - exited stays the LWPs alive
    if (e instanceof Error && e.name === 'DataCloneError') arg_type('lwp_create', `start.arg cannot be cloned: ${e.message}`);
    // Not the argument's fault: no worker could be started for it (new
    // Worker threw: ERR_WORKER_INIT_FAILED, a RangeError; resources short).
    fail('EAGAIN', 'lwp_create', `no worker could be started: ${e instanceof Error ? e.message : String(e)}`);
  }
  diag_publish(dc_lwp_create, () => ({ lid, module, export: exp, flags: f }));
  return lid;
}

/** How long LWP 1's wait for the process's end goes without looking at the panic mark again, ms. */
const EXIT_PANIC_BACKSTOP_MS = 1000;

/** Ends the calling LWP. The last LWP to exit ends the process with status 0. */
export function lwp_exit(): never {
  sysenter();
  const h = cur.lwp, lid = cur.lid;
  if (lwp_orphan_sleepers(h) > 0) sq_abandon_thread();
  const r = lwp_exit_common(h, lid, 0);
  exited_self(true);
  if ((I32[h + L.flag] & LW_MAIN) !== 0 || is_main_thread()) {
    // LWP 1 has no trampoline to return to: its thread waits for the process
    // to end (a panic, which wakes this wait, ends it too: status 70). The
    // panic notifies the word without changing it: one marked after the look
    // and notified before the wait began was lost, and the wait had no end;
    // the bound is the backstop for that (as a kernel mutex's wait has).
    if (r !== EXIT_LAST) {
      while (Atomics.load(I32, H_PROC_EXIT) === 0 && !panicked()) Atomics.wait(I32, H_PROC_EXIT, 0, EXIT_PANIC_BACKSTOP_MS);
    }
    // The program's 'exit' listeners run next, in this thread: not as LWP 1,
    // which has exited (a zombie, or the last LWP's slot kept as it was). A
    // kernel call there unwinds with LwpExit, as after an LWP's lwp_exit;
    // bound to LWP 1 it acted as it, and an lwp_wait(0) slept for ever for
    // the last LWP, which ends the process instead of becoming a zombie.
    lwp_bind_exited();
    proc_main_exit(Atomics.load(I32, H_PROC_EXIT) !== 0 ? Atomics.load(I32, H_EXIT_STATUS) : PANIC_STATUS);
  }
  lwp_bind_exited();
  throw new LwpExit();
}

/** The caller's lid. */
export function lwp_self(): number {
  sysenter();
  return cur.lid;
}

/** lwp_find: a live LWP (not IDL, not a zombie). */
function lwp_find(lid: number): number {
  const h = lwp_byid(lid);
  if (h === 0) return 0;
  const st = Atomics.load(I32, h + L.stat);
  return st === LSIDL || st === LSZOMB ? 0 : h;
}

function wait_arg(lid: unknown): number {
  const n = copyin_int(lid, 'lid', 'lwp_wait', 'ESRCH');
  return n < 0 ? fail('ESRCH', 'lwp_wait', `lid ${n}`) : n;
}

/** Waits for LWP `lid` (0 for whichever) to exit and collects it; returns its lid. ESRCH, EDEADLK, EINTR. */
export function lwp_wait(lid: number): number {
  sysenter();
  const n = wait_arg(lid);
  return run_sync_restart(() => lwp_wait1(n, false));
}
/**
 * {@link lwp_wait} that gives up after `timeout` (a relative timespec; null:
 * for ever) with ETIMEDOUT, the LWP left as it was (not collected, still
 * waitable). Not of the seed's, whose _lwp_wait has no timeout: the class
 * layer's `Lwp.waitSync({ timeout })` (sys/ext.ts). The deadline holds
 * across restarts after a signal handler.
 */
export function lwp_wait_timed(lid: number, timeout: Timespec | null): number {
  sysenter();
  const n = wait_arg(lid);
  const deadline = copyin_deadline(timeout, 'lwp_wait');
  return run_sync_restart(() => lwp_wait1(n, false, deadline));
}
/** The Promise form of {@link lwp_wait}. */
export async function lwp_wait_async(lid: number, opts?: AsyncOptions): Promise<number> {
  sysenter();
  const n = wait_arg(lid);
  const signal = copyin_async_options(opts, 'lwp_wait');
  return run_async_restart(() => lwp_wait1(n, true), false, signal);
}

/** Detaches LWP `lid`: it will not be waited for; a zombie is freed at once. ESRCH, EINVAL. */
export function lwp_detach(lid: number): void {
  sysenter();
  const n = copyin_int(lid, 'lid', 'lwp_detach', 'ESRCH');
  const p = curproc();
  mutex_enter(p + P.lock);
  const t = n === cur.lid ? cur.lwp : lwp_byid(n);
  let error: ErrnoCode | undefined;
  if (t !== 0 && Atomics.load(I32, t + L.stat) !== LSIDL) {
    if ((Atomics.load(I32, t + L.flag) & LW_DETACHED) === 0) {
      I32[p + P.ndlwps]++;
      Atomics.or(I32, t + L.flag, LW_DETACHED);
      if (Atomics.load(I32, t + L.stat) === LSZOMB) lwp_free(t);
    } else error = 'EINVAL';
  } else error = 'ESRCH';
  sq_wake_all(p + P.lwpcv);
  mutex_exit(p + P.lock);
  if (error) fail(error, 'lwp_detach', `lid ${n}`);
}

/**
 * The common prologue of the calls that act on another LWP: checks the lid,
 * takes the proc lock and finds the live LWP; ESRCH (lock dropped) if none.
 * Returns the LWP's handle with the proc lock held.
 */
function find_locked(lid: unknown, syscall: string): number {
  const n = copyin_int(lid, 'lid', syscall, 'ESRCH');
  const p = curproc();
  mutex_enter(p + P.lock);
  const t = lwp_find(n);
  if (t === 0) { mutex_exit(p + P.lock); fail('ESRCH', syscall, `lid ${n}`); }
  return t;
}

/**
 * Suspends LWP `lid`. It stops at its next syscall boundary, or at once if it
 * sleeps interruptibly (it resumes that sleep when continued). Suspending
 * oneself when no other LWP runs is EDEADLK. ESRCH.
 */
export function lwp_suspend(lid: number): void {
  sysenter();
  const t = find_locked(lid, 'lwp_suspend');
  const p = curproc();
  if ((t === cur.lwp && I32[p + P.nrlwps] === 1) || (Atomics.load(I32, cur.lwp + L.flag) & LW_WEXIT)) {
    mutex_exit(p + P.lock);
    fail('EDEADLK', 'lwp_suspend', `lid ${lid}`);
  }
  lwp_suspend_locked(t);
  mutex_exit(p + P.lock);
  if (t === cur.lwp) lwp_halt();
}

/** Resumes a suspended LWP (no effect on one that is not). ESRCH. */
export function lwp_continue(lid: number): void {
  sysenter();
  const t = find_locked(lid, 'lwp_continue');
  lwp_continue_locked(t);
  mutex_exit(curproc() + P.lock);
}

/** Interrupts LWP `lid`'s interruptible sleep (it fails with EINTR). ESRCH, ENODEV (not asleep), EBUSY (not interruptibly). */
export function lwp_wakeup(lid: number): void {
  sysenter();
  const t = find_locked(lid, 'lwp_wakeup');
  const p = curproc();
  mutex_enter(t + L.lock);
  let error: ErrnoCode | undefined;
  if (Atomics.load(I32, t + L.stat) !== LSSLEEP) error = 'ENODEV';
  else if (interruptible_sleepers(t) === 0) error = 'EBUSY';
  else {
    // Sticky until consumed: if the sleep we saw is just ending, the next one gets the EINTR.
    Atomics.or(I32, t + L.flag, LW_CANCELLED);
    interrupt_sleepers(t);
  }
  mutex_exit(t + L.lock);
  mutex_exit(p + P.lock);
  if (error) fail(error, 'lwp_wakeup', `lid ${lid}`);
}

/**
 * Copies in lwp_park's absolute CLOCK_REALTIME time: EINVAL when malformed
 * or beyond TIME_SEC_MAX either way, ETIMEDOUT when already past (as
 * sys__lwp_park: the remaining time is checked before it sleeps).
 */
function park_abstime_ns(abstime: Timespec | null | undefined): number {
  if (abstime === null || abstime === undefined) { copyin_check('lwp_park'); return Infinity; }
  const ts = copyin_timespec(abstime, 'abstime', 'lwp_park', true);
  const left = ts_to_ns(ts) - real_now();
  if (left <= 0) fail_status('ETIMEDOUT', 'lwp_park');
  return mono_now() + left;
}
function hint_arg(hint: unknown, syscall: string): number {
  return hint === undefined ? 0 : copyin_user(hint, 'hint', syscall);
}

/**
 * Parks the caller until unparked, woken (EINTR) or `abstime` (CLOCK_REALTIME)
 * passes (ETIMEDOUT). EALREADY when an unpark was already pending.
 */
export function lwp_park(abstime: Timespec | null, hint?: number): void {
  sysenter();
  // The hint's type first: a TypeError comes before any errno (ETIMEDOUT).
  const h = hint_arg(hint, 'lwp_park');
  const d = park_abstime_ns(abstime);
  panic_check('lwp_park');
  const err = park_sync(h, d);
  if (err === 'EINTR') {
    // Never restarted (the contract): the handlers run, then EINTR.
    sysent_sigintr();
    fail_status('EINTR', 'lwp_park');
  }
  if (err !== 0) fail_status(err, 'lwp_park'); // EALREADY, ETIMEDOUT
  userret_suspend();
}
/** The Promise form of {@link lwp_park}. */
export async function lwp_park_async(abstime: Timespec | null, hint?: number, opts?: AsyncOptions): Promise<void> {
  sysenter();
  const signal = copyin_async_options(opts, 'lwp_park');
  const h = hint_arg(hint, 'lwp_park');
  const d = park_abstime_ns(abstime);
  panic_check('lwp_park');
  await run_async(park(h, d, true), signal);
  userret_suspend();
}
/**
 * The class layer's park with a zero timeout, which polls (ukern/waitopts.ts):
 * consumes a pending unpark (true) or finds none (false), without sleeping.
 * Not of the contract's: lwp_park with a deadline already past fails
 * ETIMEDOUT and leaves a pending unpark pending, as sys__lwp_park does.
 */
export function lwp_park_poll(hint?: number): boolean {
  sysenter();
  const h = hint_arg(hint, 'lwp_park');
  panic_check('lwp_park');
  return park_poll(h);
}
/**
 * A park ended by lwp_suspend (setrunnable) returns 0, but only once the
 * LWP is continued: it suspends here, on its way out of the kernel.
 */
function userret_suspend(): void {
  const l = cur.lwp;
  // A plain read, as sysenter's peek: a suspension that ended this park set
  // the flag before it changed the wait word this thread has seen, and one
  // requested after the look is taken at the next syscall.
  if (l !== 0 && (I32[l + L.flag]! & LW_WSUSPEND) !== 0) lwp_halt();
}

/** Unparks LWP `lid` parked with `hint`, or leaves the unpark pending. ESRCH. */
export function lwp_unpark(lid: number, hint?: number): void {
  sysenter();
  const hh = hint_arg(hint, 'lwp_unpark');
  const n = copyin_int(lid, 'lid', 'lwp_unpark', 'ESRCH');
  const r = unpark_one(n, hh);
  if (r < 0) fail('ESRCH', 'lwp_unpark', `lid ${n}`);
  count_targeted(r);
}

/**
 * Unparks each LWP of `lids` (absent ones are skipped) and returns 0, as
 * sys__lwp_unpark_all does (it does not report how many were parked). With
 * null, returns LWP_UNPARK_MAX, the most one call takes. EINVAL for an empty
 * or too long list.
 */
export function lwp_unpark_all(lids: readonly number[] | null, hint?: number): number {
  sysenter();
  const hh = hint_arg(hint, 'lwp_unpark_all');
  if (lids === null) return LWP_UNPARK_MAX;
  const targets = copyin_ints(lids, 'lids', 'lwp_unpark_all', 'ESRCH', LWP_UNPARK_MAX);
  if (targets.length === 0) fail('EINVAL', 'lwp_unpark_all', '0 targets');
  let woken = 0;
  for (const lid of targets) if (unpark_one(lid, hh) > 0) woken++;
  count_broadcast(woken, targets.length - woken);
  return 0;
}

/** The caller's private word. */
export function lwp_getprivate(): number {
  sysenter();
  return lwp_private(cur.lwp);
}
/** Sets the caller's private word (any number, kept bit-exact). */
export function lwp_setprivate(value: number): void {
  sysenter();
  lwp_setprivate_(cur.lwp, copyin_user(value, 'value', 'lwp_setprivate'));
}

export { lwp_snapshot, lwp_check, type LwpInfo } from './snapshot.js';
