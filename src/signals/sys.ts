/**
 * The signal system calls of `ukern/sys` (the "Signals" section of the
 * contract): masks, dispositions, and sending. Waiting for signals is
 * signals/wait.ts. Every call copies its arguments in before it takes the
 * signal lock and runs no user code under it; the theory is in sig.ts.
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { fail } from '../kern/errno.js';
import { copyin_int, copyin_i32, copyin_user, copyin_fields, arg_type, copyin_revoked } from '../kern/copyin.js';
import { sysenter } from '../kern/sysent.js';
import { on_boot } from '../kern/boot.js';
import { on_lwp_create, on_lwp_exit, proc_set_main_exit_hook } from '../kern/proc.js';
import { sysent_set_signal_hooks } from '../kern/sysent.js';
import { is_main_thread } from '../kern/host.js';
import { lwp_is_live, lwp_live_handle, copyin_module_href } from '../lwp/kapi.js';
import {
  SIGKILL, SIGSTOP, SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK, SIG_DFL, SIG_IGN, SA_KNOWN, SI_USER, SI_QUEUE,
} from './consts.js';
import {
  sigset_t, sigset_of, copyin_signo, copyin_sigset, sig_word, sig_bit, CANTMASK0,
} from './sigset.js';
import {
  SG, SA, LS, SK_DFL, SK_IGN, SK_MODULE, SK_FUNC, SA_TEXT_BYTES, sigacts_h, sigact_h, sigact_text,
} from './sigstate.js';
import {
  sig_lock, sig_unlock, ls_get, sig_generate, sig_setmask, sig_recheck_self, sig_redistribute, sig_ignored,
  sig_lwp_created, sig_lwp_exited, sig_set_lwp_alive, sig_discard_all, clear_catch_locked,
} from './sig.js';
import { os_update_locked } from './route.js';
import { router_start, router_sync } from './router.js';
import {
  postsig, fn_handlers, load_module_handler, module_text, sig_arm_bell, die_now, type sighandler_t,
} from './post.js';

export * from './consts.js';
export { sigset_t, sigemptyset, sigfillset, sigaddset, sigdelset, sigismember } from './sigset.js';
export type { siginfo_t } from './sig.js';
export type { sighandler_t } from './post.js';

// The kernel's seams: LWPs get their signal state at creation and lose it
// at exit; userret and interrupted sleeps take signals (kern/sysent.ts).
sig_set_lwp_alive(lwp_live_handle);
on_lwp_create(sig_lwp_created);
on_lwp_exit(sig_lwp_exited);
sysent_set_signal_hooks(() => { postsig(); }, postsig, () => {
  sig_lock();
  const now = sig_recheck_self(ls_get(cur.lid));
  sig_unlock();
  return now;
});
// The main thread listens for its bell from boot: a signal that ends the
// process must reach it even when it never called a signal function.
on_boot(() => {
  sig_lock(); ls_get(1); sig_unlock(); // LWP 1's entry (the others get theirs at lwp_create)
  if (!is_main_thread()) return;
  sig_arm_bell();
  router_start();
});
// LWP 1 waiting in lwp_exit for the end: a process dying of a signal dies of it.
proc_set_main_exit_hook(() => { if (Atomics.load(I32, sigacts_h() + SG.dying) !== 0) die_now(); });

/** A disposition given to sigaction (C's struct sigaction). */
export interface sigaction_t {
  sa_handler: number | sighandler_t | { module: string | URL; export?: string };
  sa_mask?: sigset_t;
  sa_flags?: number;
}

/** After a change that may have made a signal deliverable to the caller: take it before returning. */
function deliver_now(ls: number): void {
  const now = sig_recheck_self(ls);
  sig_unlock();
  if (now) postsig();
}

/**
 * Examines and changes the calling LWP's mask (pthread_sigmask); returns
 * the old mask. SIGKILL and SIGSTOP are never blocked. A signal it unblocks
 * that is pending is taken before this returns. EINVAL for a bad `how`.
 */
export function sigprocmask(how: number, set: sigset_t | null): sigset_t {
  sysenter();
  const h = copyin_int(how, 'how', 'sigprocmask');
  const w = set === null || set === undefined ? null : copyin_sigset(set, 'set', 'sigprocmask');
  if (w !== null && h !== SIG_BLOCK && h !== SIG_UNBLOCK && h !== SIG_SETMASK) fail('EINVAL', 'sigprocmask', `how ${h}`);
  sig_arm_bell();
  sig_lock();
  const ls = ls_get(cur.lid);
  const o0 = I32[ls + LS.mask0]!, o1 = I32[ls + LS.mask1]!;
  if (w !== null) {
    let m0 = w[0], m1 = w[1];
    if (h === SIG_BLOCK) { m0 |= o0; m1 |= o1; }
    else if (h === SIG_UNBLOCK) { m0 = o0 & ~m0; m1 = o1 & ~m1; }
    sig_setmask(ls, m0, m1);
  }
  deliver_now(ls);
  return sigset_of(o0, o1);
}

/** The signals pending for the process or for the calling LWP. */
export function sigpending(): sigset_t {
  sysenter();
  sig_lock();
  const ls = ls_get(cur.lid), sg = sigacts_h();
  const r = sigset_of(I32[ls + LS.pend0]! | I32[sg + SG.pend0]!, I32[ls + LS.pend1]! | I32[sg + SG.pend1]!);
  sig_unlock();
  return r;
}

/** A disposition after copy-in. */
interface NewAct { kind: number; fn?: sighandler_t; text?: Uint8Array; flags: number; m0: number; m1: number }

/** A handler of another thread, returned as the old action where the function cannot be: see sigaction. */
function foreign_handler(): void { throw new TypeError('a signal handler of another thread cannot run here'); }

function copyin_act(act: unknown): NewAct {
  const a = copyin_fields(act, ['sa_handler', 'sa_mask', 'sa_flags'], 'act', 'sigaction');
  const flags = a.sa_flags === undefined ? 0 : copyin_user(a.sa_flags, 'act.sa_flags', 'sigaction');
  if (!Number.isInteger(flags) || flags < -0x80000000 || flags > 0xffffffff || (flags & ~SA_KNOWN) !== 0) {
    fail('EINVAL', 'sigaction', `sa_flags ${flags}`);
  }
  const [m0, m1] = a.sa_mask === undefined ? [0, 0] : copyin_sigset(a.sa_mask, 'act.sa_mask', 'sigaction');
  const h = a.sa_handler;
  if (typeof h === 'number') {
    if (h !== SIG_DFL && h !== SIG_IGN) fail('EINVAL', 'sigaction', `sa_handler ${h}`);
    return { kind: h === SIG_IGN ? SK_IGN : SK_DFL, flags, m0, m1 };
  }
  if (typeof h === 'function') {
    if (h === foreign_handler) fail('EINVAL', 'sigaction', 'the handler belongs to another thread');
    // A revoked Proxy of a function is a function to typeof, and fails only when called: when the signal comes.
    if (copyin_revoked(h)) fail('EFAULT', 'sigaction', 'act.sa_handler is a revoked Proxy (it cannot be called)');
    return { kind: SK_FUNC, fn: h as sighandler_t, flags, m0, m1 };
  }
  if (h === null || typeof h !== 'object') arg_type('sigaction', 'act.sa_handler must be SIG_DFL, SIG_IGN, a function or { module, export }');
  const m = copyin_fields(h, ['module', 'export'], 'act.sa_handler', 'sigaction');
  const href = copyin_module_href(m.module, 'act.sa_handler.module', 'sigaction');
  const exp = m.export ?? 'default';
  if (typeof exp !== 'string') arg_type('sigaction', 'act.sa_handler.export must be a string');
  load_module_handler(href, exp); // fails here, in the caller, if it cannot be loaded
  const text = Buffer.from(`${href}\n${exp}`, 'utf8');
  if (text.length > SA_TEXT_BYTES) fail('EINVAL', 'sigaction', `handler module name longer than ${SA_TEXT_BYTES} bytes`);
  return { kind: SK_MODULE, text, flags, m0, m1 };
}

/**
 * Examines and changes the disposition of `signo`; returns the old one in
 * the shape it was given. A function handler belongs to the calling thread
 * (other LWPs may install their own for the same signal); where the old
 * action is a function of another thread, the returned `sa_handler` is a
 * placeholder that cannot be installed again. EINVAL for a change of
 * SIGKILL or SIGSTOP (a query, `act` null, answers SIG_DFL), a bad signal,
 * handler or flag.
 */
export function sigaction(signo: number, act: sigaction_t | null): sigaction_t {
  sysenter();
  const s = copyin_signo(signo, 'sigaction');
  const n = act === null || act === undefined ? null : copyin_act(act);
  if (n !== null && (s === SIGKILL || s === SIGSTOP)) fail('EINVAL', 'sigaction', `signal ${s} cannot be caught or ignored`);
  sig_arm_bell();
  sig_lock();
  const ls = ls_get(cur.lid);
  const old = old_action(s, ls);
  if (n !== null) set_action(s, ls, n);
  deliver_now(ls);
  // LWP 1 changing what it wants from the host: in force before this returns.
  if (n !== null) router_sync();
  return old;
}

function old_action(s: number, ls: number): sigaction_t {
  const sa = sigact_h(s);
  const kind = I32[sa + SA.kind]!;
  const r: sigaction_t = {
    sa_handler: kind === SK_IGN ? SIG_IGN : SIG_DFL,
    sa_mask: sigset_of(I32[sa + SA.mask0]!, I32[sa + SA.mask1]!),
    sa_flags: I32[sa + SA.flags]! >>> 0,
  };
  if (kind === SK_MODULE) r.sa_handler = module_text(s);
  else if (kind === SK_FUNC) {
    const mine = (I32[ls + LS.catch0 + sig_word(s)]! & sig_bit(s)) !== 0;
    r.sa_handler = mine ? fn_handlers[s] ?? foreign_handler : foreign_handler;
  }
  return r;
}

/** Installs a copied-in disposition (lock held; nothing here throws). */
function set_action(s: number, ls: number, n: NewAct): void {
  const sa = sigact_h(s);
  I32[sa + SA.kind] = n.kind;
  I32[sa + SA.flags] = n.flags | 0;
  I32[sa + SA.mask0] = n.m0 & ~CANTMASK0; I32[sa + SA.mask1] = n.m1;
  I32[sa + SA.gen] = ++I32[sigacts_h() + SG.gen];
  if (n.kind === SK_FUNC) {
    fn_handlers[s] = n.fn;
    I32[ls + LS.catch0 + sig_word(s)] |= sig_bit(s);
  } else {
    clear_catch_locked(s);
    fn_handlers[s] = undefined;
  }
  if (n.kind === SK_MODULE) {
    sigact_text(s).set(n.text!);
    I32[sa + SA.textlen] = n.text!.length;
  }
  // POSIX: setting SIG_IGN discards what is pending, blocked or not.
  if (sig_ignored(s)) sig_discard_all(s);
  else sig_redistribute();
  os_update_locked(s);
}

// ---- sending ----------------------------------------------------------------

function host_kill_other(pid: number, s: number, syscall: string): void {
  try {
    process.kill(pid, s);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM' || code === 'EINVAL') fail(code, syscall, `pid ${pid}`);
    throw e;
  }
}

/**
 * Sends `signo` to process `pid`: process.pid or 0 is this process (the
 * signal is process-directed); any other pid, negative ones included, goes
 * to the host's kill(2). Signal 0 only checks. EINVAL, ESRCH, EPERM, EAGAIN
 * (a realtime signal at the queue limit).
 */
export function kill(pid: number, signo: number): void {
  sysenter();
  const p = copyin_i32(pid, 'pid', 'kill', 'ESRCH'); // a pid_t: 2^31.. is no process (C's conversion would make 2^32 - 1 the -1 of every process)
  const s = copyin_signo(signo, 'kill', true);
  if (p !== 0 && p !== process.pid) { host_kill_other(p, s, 'kill'); return; }
  if (s === 0) return;
  const e = sig_generate(0, s, { code: SI_USER, value: 0, pid: process.pid, lid: cur.lid, timer: 0 });
  if (e !== 0) fail(e, 'kill', `signal ${s}`);
}

/**
 * Queues `signo` with `value` for process `pid` (SI_QUEUE). This process
 * only: another pid is ENOTSUP (Node has no sigqueue(3) to the host; use
 * kill). EAGAIN at the queue limit, EINVAL, ESRCH.
 */
export function sigqueue(pid: number, signo: number, value: number): void {
  sysenter();
  const p = copyin_i32(pid, 'pid', 'sigqueue', 'ESRCH');
  const s = copyin_signo(signo, 'sigqueue', true);
  const v = copyin_user(value, 'value', 'sigqueue');
  if (p !== 0 && p !== process.pid) {
    if (s === 0) { host_kill_other(p, 0, 'sigqueue'); return; }
    fail('ENOTSUP', 'sigqueue', `queueing to another process (pid ${p}); kill() sends without a value`);
  }
  if (s === 0) return;
  const e = sig_generate(0, s, { code: SI_QUEUE, value: v, pid: process.pid, lid: cur.lid, timer: 0 });
  if (e !== 0) fail(e, 'sigqueue', `signal ${s}`);
}

/**
 * Sends `signo` to LWP `lid` (si_code SI_USER, si_lid the target); signal 0
 * only checks that it exists. EINVAL for a bad signal, ESRCH, EAGAIN.
 */
export function lwp_kill(lid: number, signo: number): void {
  sysenter();
  const s = copyin_signo(signo, 'lwp_kill', true);
  const n = copyin_int(lid, 'lid', 'lwp_kill', 'ESRCH');
  // Another signal is checked under the signal lock (sig_generate: ESRCH),
  // where the same lookup serves to post it; these three never get there.
  if (s === 0 || s === SIGKILL || s === SIGSTOP) {
    if (!lwp_is_live(n)) fail('ESRCH', 'lwp_kill', `lid ${n}`);
    if (s === 0) return;
  }
  const e = sig_generate(n, s, { code: SI_USER, value: 0, pid: process.pid, lid: n, timer: 0 });
  if (e !== 0) fail(e, 'lwp_kill', e === 'ESRCH' ? `lid ${n}` : `signal ${s}`);
}
