/**
 * struct proc: the process that owns the LWPs, with NetBSD's LWP counters,
 * and the process's hook points (exit, LWP exit, userret) that every
 * subsystem registers with: a core service (kern_proc.c / kern_exit.c),
 * which is why it lives in kern/ and not in the LWP subsystem that keeps
 * the counters.
 * The LWP states they count, and every transition that changes them, are
 * in lwp/lwp.ts's header (the LWP subsystem's theory). The process exits
 * when its last LWP exits (exit1): see {@link proc_exit}.
 */
import { I32, define_struct, kregion_create } from './kmem.js';
import { H_PROC_EXIT, H_EXIT_STATUS } from './hdr.js';
import { mutex_class } from './lockdebug.js';

/** struct proc. `[key]`: what guards the field (legend in kern/lockorder.ts). */
const PROC = define_struct('proc', {
  lock: 'i32',          // p_lock (class proc)
  pid: 'i32',           // [c] set at boot
  nlwps: 'i32',         // [p] LWPs that exist (not yet freed), zombies included
  nzlwps: 'i32',        // [p] zombies
  nrlwps: 'i32',        // [p] LWPs running or likely to run (RUN, ONPROC, SLEEP)
  ndlwps: 'i32',        // [p] detached LWPs
  nlwpwait: 'i32',      // [p] LWPs blocked in lwp_wait (LW_WAITING; not lwp_wait_async) and in nrlwps
  nlwpid: 'i32',        // [p] last lid handed out
  lwpcv: 'i32', lwpcvTail: 'i32', // [p] lwp_wait's condition variable (a sleep-queue list)
  exiting: 'i32',       // [a] 0 -> 1 once, by the exchange in proc_exit
  nlive: 'i32',         // [p] LWPs other than LWP 1 not yet zombies
  nkeep: 'i32',         // [p,~] of nlive, those not unref'd (no LW_NOREF: lwp_ref); these keep the Node
                        //   process alive (spawn.ts reads the one word with Atomics.load, without p)
  kstarting: 'i32',     // [a] kernel threads lwp0 was asked to start for LWPs and that have not yet
                        //   said they are up (keeps the process alive too: lwp/kthread.ts)
});
export const P = PROC.F;
const procs = kregion_create('proc', () => PROC.words);
mutex_class('proc', procs, { field: P.lock, words: 1 });

/** The process (there is one per kernel for now; the struct is the seam for more). */
export function curproc(): number { return procs.base; }

type ExitHook = () => void;
const exitHooks: ExitHook[] = [];
/** Registers cleanup run once when the process exits (close ports, delete timers). */
export function on_proc_exit(fn: ExitHook): void { exitHooks.push(fn); }

type LwpExitHook = (lid: number) => void;
const lwpExitHooks: LwpExitHook[] = [];
/**
 * Registers cleanup run for every LWP that exits (itself, or on behalf of a
 * dead worker), before it becomes a zombie: e.g. a port's send lane it owns.
 * No kernel lock is held; the LWP runs no more user code.
 */
export function on_lwp_exit(fn: LwpExitHook): void { lwpExitHooks.push(fn); }
/** Runs the LWP exit hooks for `lid` (lwp/ops.ts). */
export function lwp_exit_hooks(lid: number): void {
  for (const h of lwpExitHooks) {
    try { h(lid); } catch (e) { console.error('ukern: LWP exit hook failed:', e); }
  }
}

type LwpCreateHook = (parent: number, child: number) => void;
const lwpCreateHooks: LwpCreateHook[] = [];
/**
 * Registers set-up run for every LWP lwp_create makes, in the creator's
 * thread, after the new LWP is allocated and before its thread can run it
 * (e.g. its signal mask, inherited from the creator). No kernel lock held.
 */
export function on_lwp_create(fn: LwpCreateHook): void { lwpCreateHooks.push(fn); }
/** Runs the LWP create hooks (lwp/sys.ts). */
export function lwp_create_hooks(parent: number, child: number): void {
  for (const h of lwpCreateHooks) h(parent, child);
}

let mainExitHook: () => void = () => {};
/** Set by the signals subsystem: a process dying of a signal dies of it, not of an exit status. */
export function proc_set_main_exit_hook(fn: () => void): void { mainExitHook = fn; }
/** The main thread ends the Node process (lwp/sys.ts lwp_exit): the hook, then exit(status). */
export function proc_main_exit(status: number): never {
  mainExitHook();
  process.exit(status);
}

type UserretHook = () => void;
const userretHooks: UserretHook[] = [];
/**
 * Registers work an LWP does for its subsystem at its next syscall entry
 * once someone posted it (`lwp_post_userret`): what only the LWP itself may
 * do, e.g. letting go of a port's send lane. Runs with no kernel lock held.
 */
export function on_userret(fn: UserretHook): void { userretHooks.push(fn); }
/** Runs the userret hooks (lwp/ops.ts). */
export function lwp_userret_hooks(): void {
  for (const h of userretHooks) h();
}
const nudgeHooks: UserretHook[] = [];
/**
 * Registers what an LWP does when another thread nudges it (`lwp_nudge`):
 * work that needs this thread's own JavaScript state and cannot wait for it
 * to leave a long sleep (answering a request for a SharedArrayBuffer only it
 * holds). Runs in the LWP's synchronous sleeps as well as at its syscall
 * entries, with no kernel lock held, so it must take none and be short.
 */
export function on_nudge(fn: UserretHook): void { nudgeHooks.push(fn); }
/** Runs the nudge hooks (lwp/ops.ts). */
export function lwp_nudge_hooks(): void {
  for (const h of nudgeHooks) h();
}

/**
 * exit1: the last LWP is leaving. Runs the subsystems' exit hooks, then
 * tells the main thread to end the Node process with `status` (it is either
 * the caller, or blocked in its own lwp_exit waiting for exactly this).
 */
export function proc_exit(status: number): void {
  const p = curproc();
  if (Atomics.exchange(I32, p + P.exiting, 1) !== 0) return;
  for (const h of exitHooks) {
    try { h(); } catch (e) { console.error('ukern: process exit hook failed:', e); }
  }
  Atomics.store(I32, H_EXIT_STATUS, status);
  Atomics.store(I32, H_PROC_EXIT, 1);
  Atomics.notify(I32, H_PROC_EXIT);
}
