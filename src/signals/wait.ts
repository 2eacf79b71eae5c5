/**
 * Accepting signals synchronously: sigwait, sigwaitinfo, sigtimedwait and
 * sigsuspend, with their _async forms (one generator body each, run by
 * kern/sleeprun.ts like every sleeping call). A waiter sleeps on its own
 * lwpsig entry's queue under the signal lock; a signal of its set is taken
 * by it first (sig.ts: the generator wakes it, SQ_WOKEN), any other signal
 * it would take interrupts it (SQ_INTR: the handler runs, then EINTR, or a
 * restart for sigwait always and for sigwaitinfo under SA_RESTART).
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { fail_status } from '../kern/errno.js';
import { copyin_timeout_ns, copyin_async_options, type AsyncOptions } from '../kern/copyin.js';
import { sysenter } from '../kern/sysent.js';
import { mono_now, type Timespec } from '../kern/time.js';
import { run_sync, run_async, run_sync_restart, run_async_restart, type SleepGen } from '../kern/sleeprun.js';
import { sq_alloc, sq_free, sq_enqueue, SQF_INTERRUPTIBLE, SQF_ASYNC, SQ_INTR, SQ_WOKEN } from '../kern/sleepq.js';
import type { SpinPolicy } from '../kern/sleepwait.js';
import { WakeMargin } from '../kern/wakemargin.js';
import { timer_signal_deadline, callout_run, callout_cover, set_timer_slack, TL_MONO } from '../timers/kapi.js';
import { wmesg_register } from '../kern/wmesg.js';
import { sig_first, sig_next, sig_word, sig_bit, copyin_sigset, type sigset_t } from './sigset.js';
import { SG, SA, LS, sigacts_h, sigact_h } from './sigstate.js';
import { sig_lock, sig_unlock, sig_lockword, ls_get, sig_take, sig_setmask, sig_recheck_self, blank, type siginfo_t } from './sig.js';
import { postsig, sig_arm_bell } from './post.js';
import { os_update_locked, os_want_waited } from './route.js';
import { router_sync } from './router.js';

const WM_SIGWAIT = wmesg_register('sigwait');
const WM_SIGSUSPEND = wmesg_register('sigsuspend');

/** The body of the sigwait calls: a signal of (w0, w1), or null at the deadline. */
function* sigwait_gen(w0: number, w1: number, deadline: number, async: boolean, syscall: string): SleepGen<siginfo_t | null> {
  const sl = sq_alloc(SQF_INTERRUPTIBLE | (async ? SQF_ASYNC : 0), WM_SIGWAIT, syscall);
  try {
    sig_lock();
    const ls = ls_get(cur.lid);
    for (;;) {
      const info = take_pending(ls, w0, w1);
      if (info !== null) { sig_unlock(); return info; }
      if (deadline <= mono_now()) { sig_unlock(); return null; }
      set_wait(ls, w0, w1);
      sq_enqueue(ls + LS.wq, sl);
      const dw = async ? undefined : deadline_wait(w0, w1, deadline);
      const r = yield { sl, lock: sig_lockword(), deadline, spin: dw?.policy };
      if (dw !== undefined) dw_end(dw, r);
      set_wait(ls, 0, 0);
      if (r === SQ_INTR) { sig_unlock(); fail_status('EINTR', syscall); }
    }
  } finally {
    sq_free(sl);
    if (slackWanted) slack_setup();
  }
}

/** Takes a signal of (w0, w1) pending for LWP entry ls or the process, or null (signal lock held). */
function take_pending(ls: number, w0: number, w1: number): siginfo_t | null {
  const sg = sigacts_h();
  const s = sig_first((I32[ls + LS.pend0]! | I32[sg + SG.pend0]!) & w0, (I32[ls + LS.pend1]! | I32[sg + SG.pend1]!) & w1);
  if (s === 0) return null;
  const info = blank();
  sig_take(ls, s, info);
  return info;
}

/**
 * The first look of sigwait_gen without its generator: a signal of (w0, w1)
 * already pending is taken at once (a loop draining queued signals, a poll
 * with a zero timeout). Null: the caller sleeps through sigwait_gen, which
 * looks again under the lock.
 */
function sigwait_now(w0: number, w1: number): siginfo_t | null {
  sig_lock();
  const info = take_pending(ls_get(cur.lid), w0, w1);
  sig_unlock();
  return info;
}

// ---- the deadline-aware wait ---------------------------------------------------

/** How long past the expiry the spin goes on before it sleeps as usual (ns). */
const PAST_NS = 50_000;
/** How long before the expiry the firing path is run once dry (ports/dwait.ts WARM_AHEAD: cold, its first steps ran 2-3x slower). */
const WARM_AHEAD = 10_000;
/** How often the spin past the expiry runs the due callouts (ns). */
const RUN_EVERY = 2_000;
/** This thread's margin: how long before the expiry its sleep ends (learnt, kern/wakemargin.ts). */
const wm = new WakeMargin(150_000);
let slackTried = false, slackWanted = false;

/**
 * Once per thread, after its first deadline-aware wait and outside every
 * lock (loading the FFI takes milliseconds): the thread's timer slack down
 * to 1 ns, as ports/dwait.ts's dwait_thread_setup does for a port getter.
 */
function slack_setup(): void {
  slackWanted = false;
  if (slackTried) return;
  slackTried = true;
  if (set_timer_slack(1)) wm.reset(80_000);
}

/** A deadline-aware wait in progress: the policy given to sq_block, and what its end learns from. */
interface SigDeadlineWait { policy: SpinPolicy; sleepUntil: number; spun: boolean }

/**
 * The deadline-aware wait of a blocking sigwait for a signal a SIGEV_SIGNAL
 * timer generates (the port getter's, ports/dwait.ts, in small): sleep until
 * the thread's margin before the timer's next expiry (timers' sig_hint), then
 * spin, and from the expiry on fire the due callouts in this thread
 * (callout_run: safe from any thread; the timer's signal is then generated
 * here and seen at once, with no cross-thread wake-up); the clock thread is
 * told (callout_cover) and only backstops it. As the port getter's: the
 * firing path is run once dry WARM_AHEAD before the expiry (the due callouts,
 * none as a rule, and a pass through the signal lock), the clock is looked at
 * every 8 loads of the wait word, and a step-1 sleep that a wake-up cut short
 * after it should have ended counts as late. A wake-up ends any phase. Only
 * the blocking forms: an async one must not hold its thread's event loop.
 */
function deadline_wait(w0: number, w1: number, deadline: number): SigDeadlineWait | undefined {
  const expiry = timer_signal_deadline(w0, w1);
  if (expiry >= deadline) return undefined;
  if (!slackTried) slackWanted = true; // slack_setup, once the lock is dropped
  callout_cover(TL_MONO, expiry);
  const now = mono_now();
  const end = expiry + PAST_NS;
  const until = expiry - wm.margin;
  let last = -Infinity, warmed = false;
  const d: SigDeadlineWait = {
    sleepUntil: until > now ? until : NaN, spun: false,
    policy: {
      sleepUntil: until > now ? until : undefined,
      budgetNs: end - now + 1_000_000, // a backstop: active() ends the spin at `end`
      stride: 8,
      active: () => {
        const t = mono_now();
        if (!d.spun) { d.spun = true; if (until > now) wm.note(t - until); } // how late the sleep ended
        if (!warmed && t >= expiry - WARM_AHEAD) { warmed = true; warm_fire(); }
        if (t >= expiry && t - last >= RUN_EVERY) { last = t; callout_run(TL_MONO); }
        return t < end;
      },
    },
  };
  return d;
}

/** The dry run of the firing path (no lock held): what is due (nothing, as a rule), and the signal lock. */
function warm_fire(): void {
  callout_run(TL_MONO);
  sig_lock();
  sig_unlock();
}

/** After the sleep: a step-1 sleep woken after it should have ended was late by at least that much. */
function dw_end(d: SigDeadlineWait, r: number): void {
  if (r !== SQ_WOKEN || d.spun || Number.isNaN(d.sleepUntil)) return;
  const late = mono_now() - d.sleepUntil;
  if (late > 0) wm.note(late);
}

/** Records the set an LWP waits for, and whether the host must route those signals (lock held). */
function set_wait(ls: number, w0: number, w1: number): void {
  const was0 = I32[ls + LS.wait0]!, was1 = I32[ls + LS.wait1]!;
  I32[ls + LS.wait0] = w0; I32[ls + LS.wait1] = w1;
  const c0 = was0 ^ w0, c1 = was1 ^ w1;
  for (let s = sig_first(c0, c1); s !== 0; s = sig_next(c0, c1, s)) {
    I32[sigact_h(s) + SA.nwait] += ((sig_word(s) === 0 ? w0 : w1) & sig_bit(s)) !== 0 ? 1 : -1;
    os_update_locked(s, true);
  }
}

function wait_args(set: unknown, syscall: string): readonly [number, number] {
  const w = copyin_sigset(set, 'set', syscall);
  sig_arm_bell();
  // Waiting in LWP 1: listen for the set from the host before sleeping (set_wait
  // marks it; the router follows). Another LWP's wait reaches the router through osbell.
  router_want(w);
  return w;
}
/** Marks the set as waited for by the caller ahead of its sleep, so that LWP 1's router listens before it blocks. */
function router_want(w: readonly [number, number]): void {
  if (os_want_waited(w[0], w[1])) router_sync();
}
function timeout_deadline(timeout: Timespec | null | undefined, syscall: string): number {
  const ns = copyin_timeout_ns(timeout, syscall);
  return ns === Infinity ? Infinity : mono_now() + ns;
}

/** Waits for a signal of `set` and returns its number (restarted after handlers, never EINTR). */
export function sigwait(set: sigset_t): number {
  sysenter();
  const w = wait_args(set, 'sigwait');
  const now = sigwait_now(w[0], w[1]);
  if (now !== null) return now.si_signo;
  return run_sync_restart(() => sigwait_gen(w[0], w[1], Infinity, false, 'sigwait'), true)!.si_signo;
}
/** Waits for a signal of `set` and returns its siginfo_t. EINTR (restarted under SA_RESTART). */
export function sigwaitinfo(set: sigset_t): siginfo_t {
  sysenter();
  const w = wait_args(set, 'sigwaitinfo');
  return sigwait_now(w[0], w[1]) ?? run_sync_restart(() => sigwait_gen(w[0], w[1], Infinity, false, 'sigwaitinfo'), false)!;
}
/** sigwaitinfo with a relative timeout (null: none): EAGAIN when it expires; EINTR, never restarted. */
export function sigtimedwait(set: sigset_t, timeout: Timespec | null): siginfo_t {
  sysenter();
  const w = wait_args(set, 'sigtimedwait');
  const d = timeout_deadline(timeout, 'sigtimedwait');
  return sigwait_now(w[0], w[1]) ?? run_sync(sigwait_gen(w[0], w[1], d, false, 'sigtimedwait')) ?? fail_status('EAGAIN', 'sigtimedwait');
}
/** The Promise form of {@link sigwait}. */
export async function sigwait_async(set: sigset_t, opts?: AsyncOptions): Promise<number> {
  sysenter();
  const w = wait_args(set, 'sigwait');
  const signal = copyin_async_options(opts, 'sigwait');
  return (await run_async_restart(() => sigwait_gen(w[0], w[1], Infinity, true, 'sigwait'), true, signal))!.si_signo;
}
/** The Promise form of {@link sigwaitinfo}. */
export async function sigwaitinfo_async(set: sigset_t, opts?: AsyncOptions): Promise<siginfo_t> {
  sysenter();
  const w = wait_args(set, 'sigwaitinfo');
  const signal = copyin_async_options(opts, 'sigwaitinfo');
  return (await run_async_restart(() => sigwait_gen(w[0], w[1], Infinity, true, 'sigwaitinfo'), false, signal))!;
}
/** The Promise form of {@link sigtimedwait}. */
export async function sigtimedwait_async(set: sigset_t, timeout: Timespec | null, opts?: AsyncOptions): Promise<siginfo_t> {
  sysenter();
  const w = wait_args(set, 'sigtimedwait');
  const d = timeout_deadline(timeout, 'sigtimedwait');
  const signal = copyin_async_options(opts, 'sigtimedwait');
  return (await run_async(sigwait_gen(w[0], w[1], d, true, 'sigtimedwait'), signal)) ?? fail_status('EAGAIN', 'sigtimedwait');
}

// ---- sigsuspend ---------------------------------------------------------------

/** The body of sigsuspend: sleeps until interrupted (a signal to take). Never returns normally. */
function* suspend_gen(async: boolean): SleepGen<never> {
  const sl = sq_alloc(SQF_INTERRUPTIBLE | (async ? SQF_ASYNC : 0), WM_SIGSUSPEND, 'sigsuspend');
  try {
    sig_lock();
    const ls = ls_get(cur.lid);
    for (;;) {
      sq_enqueue(ls + LS.wq, sl);
      const r = yield { sl, lock: sig_lockword(), deadline: Infinity };
      if (r === SQ_INTR) { sig_unlock(); fail_status('EINTR', 'sigsuspend'); }
    }
  } finally {
    sq_free(sl);
  }
}

/** Swaps in the temporary mask; returns the old one (no lock held on return). */
function suspend_enter(set: unknown): readonly [number, number] {
  const w = copyin_sigset(set, 'mask', 'sigsuspend');
  sig_arm_bell();
  sig_lock();
  const ls = ls_get(cur.lid);
  const old = [I32[ls + LS.mask0]!, I32[ls + LS.mask1]!] as const;
  sig_setmask(ls, w[0], w[1]);
  sig_recheck_self(ls);
  sig_unlock();
  return old;
}
/** Puts the old mask back and takes what it unblocks, then fails with EINTR. */
function suspend_leave(old: readonly [number, number], e: unknown): never {
  sig_lock();
  const ls = ls_get(cur.lid);
  sig_setmask(ls, old[0], old[1]);
  const now = sig_recheck_self(ls);
  sig_unlock();
  if (now) postsig();
  throw e;
}

/**
 * Replaces the caller's mask with `mask` and sleeps until a signal is taken
 * (its handler runs with `mask` in force); then puts the old mask back and
 * fails with EINTR, as it always does.
 */
export function sigsuspend(mask: sigset_t): never {
  sysenter();
  const old = suspend_enter(mask);
  try { return run_sync(suspend_gen(false)); } catch (e) { return suspend_leave(old, e); }
}
/** The Promise form of {@link sigsuspend}: rejects with EINTR once a handler ran. */
export async function sigsuspend_async(mask: sigset_t, opts?: AsyncOptions): Promise<never> {
  sysenter();
  const signal = copyin_async_options(opts, 'sigsuspend');
  const old = suspend_enter(mask);
  try { return await run_async(suspend_gen(true), signal); } catch (e) { return suspend_leave(old, e); }
}
