/**
 * The syscall boundary. Every syscall starts with {@link sysenter}: it boots
 * the kernel on first use and runs the LWP's pending work (NetBSD's
 * lwp_userret: suspension now, signals later) when its flag word says there
 * is some. The common case costs one plain load.
 */
import { I32 } from './kmem.js';
import { cur } from './hdr.js';
import { booted, boot } from './boot.js';

let flagOff = 0;
let userretMask = 0;
let userretFn: () => void = () => {};

/** Installed by the LWP layer: where the LWP flag word is, which bits need userret, and the handler. */
export function sysent_set_userret_hook(flagWordOffset: number, mask: number, fn: () => void): void {
  flagOff = flagWordOffset; userretMask = mask; userretFn = fn;
}

/**
 * Installed by the LWP layer: what a syscall made in a booted thread with no
 * LWP and no owner id does (it throws). Such a thread is a worker whose LWP
 * is over, unbound by its trampoline; the code still running in it is the
 * gone LWP's (the continuation of an async call that settled after the
 * exit, a class's cleanup after it), and a syscall it made ran for no LWP:
 * the first kernel mutex it took, with no owner id, was a kernel panic.
 */
let unboundFn: () => void = () => {};
export function sysent_set_unbound_hook(fn: () => void): void { unboundFn = fn; }

/** Syscall entry. */
export function sysenter(): void {
  const l = cur.lwp;
  if (l === 0) { if (!booted()) boot(); else if (cur.lid === 0) unboundFn(); return; }
  if ((I32[l + flagOff] & userretMask) !== 0) userretFn();
}

let sigretFn: () => void = () => {};
/** What the signal step did after an interrupted sleep (sysent_sigintr). */
export const PS_NONE = 0, PS_RAN = 1, PS_RESTART = 2;
/**
 * Installed by the signals subsystem: takes the signals deliverable to the
 * calling LWP and runs their handlers or default actions (NetBSD's postsig
 * from lwp_userret). Called at syscall entry when the LWP's LW_PENDSIG is
 * set, and after an interrupted sleep (kern/sleeprun.ts), never with a
 * kernel lock held. Returns PS_NONE (no handler ran: the interruption was
 * lwp_wakeup's or an abort's), PS_RAN, or PS_RESTART (every handler had
 * SA_RESTART: a restartable call starts again).
 */
let sigintrFn: () => number = () => PS_NONE;
let sigcheckFn: () => boolean = () => false;
/**
 * `check`: whether the calling LWP has a signal to take now (it clears a
 * stale LW_PENDSIG); asked by an interruptible sleep that finds the flag set.
 */
export function sysent_set_signal_hooks(ret: () => void, intr: () => number, check: () => boolean): void {
  sigretFn = ret; sigintrFn = intr; sigcheckFn = check;
}
/** Is a signal deliverable to the calling LWP (no kernel lock held)? */
export function sysent_sigcheck(): boolean { return sigcheckFn(); }
/** The userret's signal step (lwp/ops.ts). */
export function sysent_sigret(): void { sigretFn(); }
/** Two outcomes of the signal step, as one (a restart only when every handler that ran allows it). */
export function ps_combine(a: number, b: number): number {
  if (a === PS_NONE) return b;
  if (b === PS_NONE) return a;
  return a === PS_RESTART && b === PS_RESTART ? PS_RESTART : PS_RAN;
}
/**
 * What the signal step did inside this thread's last interrupted synchronous
 * sleep (kern/sleepwait.ts): its call reads it before anything else can run
 * in the thread. An async call keeps its own (sleepwait.ts AsyncCall).
 */
let sleepPs = PS_NONE;
/** A sleep starts: forget an outcome no call collected. */
export function sysent_sleep_begin(): void { sleepPs = PS_NONE; }
/** An interruptible sleep ended interrupted: take the LWP's signals now, before the relock (no lock held). */
export function sysent_sigsleep(): void {
  const l = cur.lwp;
  if (l !== 0 && (I32[l + flagOff]! & userretMask) !== 0) sleepPs = ps_combine(sleepPs, sigintrFn());
}
/** After a sleep ended with EINTR: runs what is left of the caller's signals; PS_* for the whole call. */
export function sysent_sigintr(): number {
  const r = ps_combine(sleepPs, cur.lwp === 0 ? PS_NONE : sigintrFn());
  sleepPs = PS_NONE;
  return r;
}
