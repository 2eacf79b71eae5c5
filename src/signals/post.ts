/**
 * Taking signals in the LWP's own thread (NetBSD's postsig): the handlers
 * that live in this thread (functions, and the module handlers it loaded),
 * running them with the right mask, the default actions, the death of the
 * process by a signal, and the thread's bell (an idle event loop woken to
 * take a signal). The rules are in sig.ts's header.
 */
import { user_rethrow } from '../kern/errno.js';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { is_main_thread, host_setImmediate } from '../kern/host.js';
import { I32 } from '../kern/kmem.js';
import { cur, H_PROC_EXIT } from '../kern/hdr.js';
import { proc_exit } from '../kern/proc.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { diag_publish, dc_signal } from '../kern/diag.js';
import { hold_in } from '../kern/keepalive.js';
import { lwp_sleeps_interruptibly, lwp_signal_clear } from '../lwp/kapi.js';
import {
  SIGUSR1, SIGPIPE, SIGSTOP, SA_NODEFER, SA_RESETHAND, SA_RESTART,
} from './consts.js';
import { DA_TERM, DA_CORE, DA_STOP, sig_default_action, sig_is_rt } from './defaults.js';
import { sig_word, sig_bit, CANTMASK0 } from './sigset.js';
import { os_update_locked } from './route.js';
import { SG, SA, LS, SK_IGN, SK_MODULE, SK_FUNC, sigacts_h, sigact_h, sigact_text } from './sigstate.js';
import {
  sig_lock, sig_unlock, ls_get, deliverable, sig_take, sig_setmask, blank, host_kill, sig_kick, reset_locked,
  ks_held, ks_release, type siginfo_t,
} from './sig.js';

/** A signal handler function (sa_handler). */
export type sighandler_t = (signo: number, info: siginfo_t) => void;

const C_HANDLED = kstat_counter('sig', 'handled');
const C_DEFAULT = kstat_counter('sig', 'default_action');

/** This thread's function handlers, by signal number (their catch bits are in kernel memory). */
export const fn_handlers: (sighandler_t | undefined)[] = [];
/** Module handlers this thread has loaded: signal -> [sigacts gen, function]. */
const mod_cache = new Map<number, { gen: number; fn: sighandler_t }>();

// The require module handlers are loaded with, resolving from the directory
// the program started in; made at the first module handler, not at load
// (createRequire + a file URL cost a fresh thread ~0.2-0.5 ms).
const cwdAtLoad = process.cwd();
let req: NodeRequire | undefined;

/** Splits a module handler's stored text. */
export function module_text(s: number): { module: string; export: string } {
  const n = I32[sigact_h(s) + SA.textlen]!;
  const t = Buffer.from(sigact_text(s).subarray(0, n)).toString('utf8');
  const i = t.indexOf('\n');
  return { module: t.slice(0, i), export: t.slice(i + 1) };
}

/**
 * Loads a module handler synchronously (Node 20's require of an ES module,
 * which a signal taken in the middle of a synchronous call needs): a file:
 * URL or a package name. Throws what the loader throws; a missing export is
 * a TypeError.
 */
export function load_module_handler(href: string, exp: string): sighandler_t {
  const spec = href.startsWith('file:') ? fileURLToPath(href) : href;
  const m = (req ??= createRequire(pathToFileURL(`${cwdAtLoad}/`).href))(spec) as Record<string, unknown>;
  const fn = m[exp];
  if (typeof fn !== 'function') {
    throw Object.assign(new TypeError(`signal handler: module ${href} has no function export '${exp}'`), { code: 'ERR_INVALID_ARG_VALUE' });
  }
  return fn as sighandler_t;
}

function module_handler(s: number, gen: number): sighandler_t | undefined {
  const c = mod_cache.get(s);
  if (c !== undefined && c.gen === gen) return c.fn;
  const t = module_text(s);
  try {
    const fn = load_module_handler(t.module, t.export);
    mod_cache.set(s, { gen, fn });
    return fn;
  } catch (e) {
    user_rethrow(e); // the thread's uncaught exception, once the kernel is done with the signal
    return undefined;
  }
}

import { PS_NONE, PS_RAN, PS_RESTART } from '../kern/sysent.js';


/**
 * Takes and acts on every signal deliverable to the calling LWP. Returns
 * PS_NONE when no handler ran, PS_RESTART when some ran and each had
 * SA_RESTART (an interrupted call may restart), else PS_RAN. No kernel lock
 * may be held (handlers are user code).
 */
export function postsig(): number {
  // Outside any hold scope (kern/keepalive.ts): taken at the entry of a
  // class-layer wait's call (an unref'd Port's get), a handler's own waits
  // (and the ukern:signal subscribers', a module handler's load) were that
  // object's, unref'd with it.
  return hold_in(undefined, postsig_run);
}
function postsig_run(): number {
  const lid = cur.lid;
  if (cur.lwp === 0) return PS_NONE;
  let ran = false, restart = true;
  // The mask a handler ran with is put back by the next look, in the same
  // hold of the lock (one acquisition per signal taken, not two).
  let restore = false, r0 = 0, r1 = 0;
  for (;;) {
    if (Atomics.load(I32, sigacts_h() + SG.dying) !== 0) die_now();
    sig_lock();
    const ls = ls_get(lid);
    if (restore) { sig_setmask(ls, r0, r1); restore = false; }
    const s = deliverable(ls);
    if (s === 0) { lwp_signal_clear(cur.lwp); sig_unlock(); break; }
    // Taken, with what its disposition asks, under the lock; its queue
    // entry goes back to the cache after the handler (ks_held), so that the
    // cache's lock, which the sender just had, is not on the way to it.
    const info = blank();
    sig_take(ls, s, info, true);
    const k = ks_held;
    const sa = sigact_h(s);
    const kind = I32[sa + SA.kind]!;
    if (kind !== SK_FUNC && kind !== SK_MODULE) {
      sig_unlock();
      if (k !== 0) ks_release(k);
      diag_publish(dc_signal, () => ({ lid, signo: s, action: kind === SK_IGN ? 'ignore' : 'default', info }));
      default_action(s, kind);
      continue;
    }
    const flags = I32[sa + SA.flags]! >>> 0, gen = I32[sa + SA.gen]!;
    const f = kind === SK_FUNC ? fn_handlers[s] : undefined;
    const o0 = I32[ls + LS.mask0]!, o1 = I32[ls + LS.mask1]!;
    let m0 = o0 | I32[sa + SA.mask0]!, m1 = o1 | I32[sa + SA.mask1]!;
    if ((flags & SA_NODEFER) === 0) { if (sig_word(s) === 0) m0 |= sig_bit(s); else m1 |= sig_bit(s); }
    // Back to SIG_DFL: the router must drop a host listener nothing wants
    // now, or the next SIGTERM from outside waits for LWP 1's event loop
    // instead of killing (os_update_locked rings it; a futex wake).
    if ((flags & SA_RESETHAND) !== 0) { reset_locked(s); os_update_locked(s); }
    sig_setmask(ls, m0 & ~CANTMASK0, m1);
    sig_unlock();
    const fn = kind === SK_FUNC ? f : module_handler(s, gen);
    kstat_add(C_HANDLED);
    diag_publish(dc_signal, () => ({ lid, signo: s, action: 'handler', info }));
    try { fn?.(s, info); } catch (e) { user_rethrow(e); }
    if (k !== 0) ks_release(k);
    restore = true; r0 = o0; r1 = o1;
    ran = true;
    if ((flags & SA_RESTART) === 0) restart = false;
  }
  return !ran ? PS_NONE : restart ? PS_RESTART : PS_RAN;
}


function default_action(s: number, kind: number): void {
  if (kind === SK_IGN) return;
  kstat_add(C_DEFAULT);
  const da = sig_default_action(s);
  if (da === DA_TERM || da === DA_CORE) sig_die(s);
  // The host stops the process with SIGSTOP whichever stop signal it was: the
  // host discards SIGTSTP/SIGTTIN/SIGTTOU for a process in an orphaned group.
  else if (da === DA_STOP) host_kill(SIGSTOP);
}

// ---- death by a signal ------------------------------------------------------

/** Signals the host's kill(2) cannot end this process with as its parent would see it (below). */
function not_killable(s: number): boolean { return s === SIGUSR1 || s === SIGPIPE || sig_is_rt(s); }

/**
 * Signals a death by which ends in exit(128 + s) instead of the host's kill:
 * those Node handles itself however the program is written (a kill(2) of
 * them would not end the process), and the real-time ones, which Node
 * cannot name: a Node parent's child_process sees both code and signal null
 * for a child killed by one, and `node --test` counts such a file as passed
 * (a test file killed by SIGRTMIN+1 reported 7 of its 28 tests and no
 * failure), so a death by one would read as success.
 */
function node_keeps(s: number): boolean {
  if (not_killable(s)) return true;
  const sg = sigacts_h();
  return (Atomics.load(I32, sg + SG.os0 + sig_word(s)) & sig_bit(s)) !== 0;
}

/** Hooks the main thread's signal router sets: remove its host listeners for s. */
let unlisten: (s: number) => void = () => {};
export function sig_set_unlisten(fn: (s: number) => void): void { unlisten = fn; }

/**
 * The process dies of signal s: the exit hooks run (proc_exit: ports closed,
 * timers deleted), then the host kills it with s, or it exits 128 + s where
 * Node keeps s for itself. Never returns.
 */
export function sig_die(s: number): never {
  const sg = sigacts_h();
  if (Atomics.compareExchange(I32, sg + SG.dying, 0, s) === 0) {
    proc_exit(128 + s);
    if (!node_keeps(s)) host_kill(s);
    sig_kick(1); // the main thread ends the process: wake it wherever it waits
  }
  return die_now();
}

/**
 * The process is dying of a signal: the main thread ends it (the host's
 * kill of s once its own listeners are gone, else exit 128 + s); any other
 * thread waits for that (the main thread was woken by proc_exit's notify,
 * its bell, or an interrupted sleep).
 */
export function die_now(): never {
  const s = Atomics.load(I32, sigacts_h() + SG.dying);
  if (is_main_thread()) {
    unlisten(s);
    if (!not_killable(s)) { try { process.kill(process.pid, s); } catch { /* fall through */ } }
    process.exit(128 + s);
  }
  for (;;) Atomics.wait(I32, H_PROC_EXIT, 1);
}

// ---- the bell ---------------------------------------------------------------

let armed_lid = 0;
/**
 * Arms the calling LWP's bell: its event loop wakes to take a signal while
 * it runs no kernel call (an idle LWP with a handler). Does not keep the
 * process alive (a pending waitAsync does not). Once per LWP.
 */
export function sig_arm_bell(): void {
  const lid = cur.lid;
  if (lid === 0 || armed_lid === lid) return;
  armed_lid = lid;
  sig_lock();
  const ls = ls_get(lid);
  I32[ls + LS.armed] = 1;
  sig_unlock();
  wait_bell(ls, lid, Atomics.load(I32, ls + LS.bell));
}
/**
 * The bell rang: take the signals here, unless an interruptible sleep of
 * this thread is pending — the generation ended it, and its call takes the
 * signal itself, so that it knows a handler ran (EINTR or restart). Looked
 * at again once after the other callbacks of this turn, for a sleep that
 * was ending anyway.
 */
function ring(lid: number, again: boolean): void {
  if (cur.lid !== lid || I32[cur.nlocksw] !== 0) return;
  if (lwp_sleeps_interruptibly(lid)) { if (!again) host_setImmediate(() => ring(lid, true)); return; }
  postsig();
}

function wait_bell(ls: number, lid: number, seen: number): void {
  const r = Atomics.waitAsync(I32, ls + LS.bell, seen);
  const again = (): void => {
    if (cur.lid !== lid || I32[ls + LS.lid] !== lid) return; // the LWP is over: the bell dies with it
    const now = Atomics.load(I32, ls + LS.bell);
    ring(lid, false);
    wait_bell(ls, lid, now);
  };
  if (r.async) void r.value.then(again); else queueMicrotask(again);
}
