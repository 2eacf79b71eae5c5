/**
 * Counters of the clock thread (kstat module 'clock'), the starter that makes
 * sure the thread runs once a real-clock timer exists, and the bridge that
 * fires due callouts until it runs.
 *
 * Why a bridge. The clock thread is a worker: starting it costs tens of ms
 * (hundreds on a loaded machine), and a 1 ms timer armed right after boot
 * must not wait for that. So, until the clock thread has announced itself in
 * kernel memory (CLK_RUNNING), the thread that arms a callout on the
 * monotonic time line also schedules a run of the due callouts on its own
 * event loop (an unref'd setTimeout to ~1 ms before the deadline, then ref'd
 * setImmediate turns up to it, see schedule), and a thread that blocks in the
 * kernel with a callout due runs it itself (sleepq's idle hook, see
 * {@link clock_idle_next}).
 *
 * Why nothing is lost or doubled in the hand-over. Every path fires through
 * callout_run, which takes a due callout out of the heap under the heap lock
 * before running its handler: whichever thread gets there first fires it,
 * once; a callout not yet due stays in the heap for the next one. The clock
 * thread starts its loop with a callout_run, so what was due while it started
 * fires then. Handlers count expirations from elapsed time (overruns), so a
 * late run reports the missed periods instead of losing them, and callout_run
 * never fires a callout before its deadline.
 *
 * The thread is started lazily (at the first callout arm on the monotonic
 * line, or a little after it: see START_NEAR_NS) so that a kernel that never
 * arms a timer never has one. The request is made once kernel-wide
 * (CLK_ASKED, compare-and-swap; again after a start that failed), and by the booting main thread it is a
 * direct Worker start, not a message to lwp0 that would first have to start
 * lwp0.
 */
import { is_main_thread, host_setTimeout, HOST_TIMEOUT_MAX_MS, host_clearTimeout, host_setImmediate, host_clearImmediate } from '../kern/host.js';
import { I32, kregion_create } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { mono_now } from '../kern/time.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { sq_set_idle_ops } from '../kern/sleepwait.js';
import { callout_set_arm_hook, callout_run, callout_fired, callout_wake, callout_next, TL_MONO } from './callout.js';
import { kthread_start, lwp_post_userret } from '../lwp/kapi.js';
import { on_userret, on_lwp_exit } from '../kern/proc.js';

/** Times the clock thread woke from a wait. */
export const C_WAKEUPS = kstat_counter('clock', 'wakeups');
/** µs spent spinning before deadlines. */
export const C_SPIN_US = kstat_counter('clock', 'spin_us');
/** Deadlines the wait overslept (fired late by more than the margin). */
export const C_LATE = kstat_counter('clock', 'overslept');
/** CPU µs used by the clock thread (when the FFI can read its thread clock). */
export const C_CPU_US = kstat_counter('clock', 'cpu_us');
/** Deadlines a port getter said it would fire itself: the clock thread slept to its backstop instead of spinning. */
export const C_COVERED = kstat_counter('clock', 'covered');
/** 1 once the clock thread runs; 2 more if its timer slack was lowered to 1 ns. */
export const C_STARTED = kstat_counter('clock', 'started');
export const C_SLACK = kstat_counter('clock', 'slack_1ns');
/** Callout runs made by the bridge (an event loop or a blocked thread) before the clock thread ran. */
export const C_BRIDGE = kstat_counter('clock', 'bridge_runs');

// Kernel-wide state of the clock thread: asked for (the claim: 0 again
// after a failed start), running, and its starts that failed before it was
// up (lwp/kthread.ts KthreadClaim).
const CLK_ASKED = 0, CLK_RUNNING = 1, CLK_FAILS = 2;
const state = kregion_create('clock.state', () => 3);

/** True once the clock thread runs its loop. */
export function clock_thread_running(): boolean { return Atomics.load(I32, state.base + CLK_RUNNING) !== 0; }

/** Called by the clock thread once attached, before its first callout_run. */
export function clock_thread_announce(slack: boolean): void {
  Atomics.store(I32, state.base + CLK_ASKED, 1);
  Atomics.store(I32, state.base + CLK_RUNNING, 1);
  kstat_add(C_STARTED);
  if (slack) kstat_add(C_SLACK);
}

let askedHere = false;
let hold: boolean | undefined;
/**
 * Whether this thread has nothing more to do about the start: it asked, or
 * saw it asked, and the claim still stands (a request that failed gave it
 * back, and the next arm of any thread asks again).
 */
function asked(): boolean {
  return askedHere && (hold === true || Atomics.load(I32, state.base + CLK_ASKED) !== 0);
}
/**
 * Starts the clock thread unless some thread asked already (or the test hook
 * UKERN_CLOCK_HOLD=1 keeps it from ever starting: the bridges alone serve).
 * Never under a kernel lock. A request that cannot be made (kthread_start
 * returns false) gives the claim back and leaves this thread's start policy
 * as if it had never asked; the bridges serve meanwhile, as during a start.
 * A start that fails later, before the thread is up, is given back by its
 * starter (CLK_ASKED 0 again: lwp/kthread.ts), and asked() is false again
 * in every thread: the next arm asks.
 */
export function clock_thread_start(): void {
  if (asked()) return;
  askedHere = true;
  // This is the start any deferral asked for; should it fail once the
  // Worker runs (the claim given back later, from the event loop), the next
  // arm asks again from scratch (a start still marked "soon" made that
  // arm's start_soon_now do nothing, and left it to a kernel sleep).
  startBy = Infinity;
  startSoon = false;
  hold ??= process.env.UKERN_CLOCK_HOLD === '1';
  if (hold) return;
  if (Atomics.compareExchange(I32, state.base + CLK_ASKED, 0, 1) !== 0) return;
  const claim = { fails: state.base + CLK_FAILS, words: [state.base + CLK_ASKED] };
  if (kthread_start('clock', new URL('./clockthread.js', import.meta.url), is_main_thread(), claim)) return;
  askedHere = false;
}

/*
 * When to start it. A worker's start costs tens of ms of CPU (its Node
 * bootstrap, the kernel bundle, koffi) and 2-7 ms of the starting thread
 * (new Worker), and on a machine with few CPUs it runs beside the program:
 * started at the arm of a 1 ms timer it made that first expiry several ms
 * late, while the bridge below fires it on time. So when the main thread
 * arms a deadline within START_NEAR_NS, the start waits until START_AFTER_NS
 * past that deadline, and happens at the main thread's next step after it
 * that delivers nothing (an arm, a sleep in the kernel with nothing due, a
 * turn of its event loop: clock_start_check, start_check_later; never on
 * the way to a delivery: docs/internals.md); an arm farther out starts it
 * at once (it is up long before the deadline). Another thread's arm starts it at once: that is
 * a request to lwp0, which does the Worker start off the arming thread, and
 * an LWP that arms and then only polls would otherwise have no bridge.
 */
const START_NEAR_NS = 100e6;
const START_AFTER_NS = 1e6;
/** This thread deferred the clock thread's start until then (mono ns); Infinity: nothing deferred. */
let startBy = Infinity;
let startSoon = false;
let startImm: ReturnType<typeof setImmediate> | undefined;

/** Starts the clock thread now if this thread deferred its start to a time now past (no kernel lock may be held). */
export function clock_start_check(): void {
  if (startBy !== Infinity && startBy <= mono_now() && (I32[cur.nlocksw]! | 0) === 0) clock_thread_start();
}

/**
 * The same from the event loop, after the current task (whose delivery must
 * not wait for a new Worker). Also what the calls that only read the time
 * line do (clock_gettime, timer_gettime, timer_getoverrun: timers/sys.ts):
 * a read of the clock must not cost a Worker's start (it cost one, inside
 * the clock_gettime a program made right after its first expiry: 17-30 ms
 * beside CPU hogs).
 */
export function start_check_later(): void {
  if (startBy === Infinity || startBy > mono_now() || startImm !== undefined) return;
  startImm = host_setImmediate(() => { startImm = undefined; clock_thread_start(); });
  startImm.unref();
}

/** Requests the start soon: at once, or right after the syscall when a kernel lock is held (the arm may come from under one). */
function start_soon_now(): void {
  if ((I32[cur.nlocksw]! | 0) === 0) { clock_thread_start(); return; }
  if (startSoon) return;
  startSoon = true;
  queueMicrotask(clock_thread_start);
}

/**
 * For warming a fresh thread's code (timers/sys.ts): the bridge's run of the
 * due callouts, once. What it fires was due (as any bridge run's), and a
 * thread that warms has usually armed nothing yet.
 */
export function clock_warm(): void { run_due(); }

/** Notes that this thread (not the clock thread) fired callouts (the bridge, a deadline-aware wait: dwait.ts). */
export function clock_fired_here(): void {
  if (!quiet && !clock_thread_running()) kstat_add(C_BRIDGE);
}

let quiet = false;
/**
 * Runs fn (a warm-up on timers of its own, timers/sys.ts) with the start
 * policy and the bridge out of the way: its arms neither start nor defer the
 * clock thread's start nor schedule a bridge turn, and its firings are not
 * counted as bridge runs.
 */
export function clock_quietly(fn: () => void): void {
  quiet = true;
  try { fn(); } finally { quiet = false; }
}

/* ---- the bridge: fire due callouts in this thread until the clock thread runs */

let bridgeWhen = Infinity;
let bridgeTimer: ReturnType<typeof setTimeout> | undefined;
let bridgeImm: ReturnType<typeof setImmediate> | undefined;

/** Runs the due callouts here; wakes the clock thread when that fired something (dwait.ts run_due does not: callout_run kicks it when needed). */
function run_due(): number {
  const f0 = callout_fired(TL_MONO);
  const next = callout_run(TL_MONO);
  if (callout_fired(TL_MONO) !== f0) { clock_fired_here(); callout_wake(TL_MONO); }
  return next;
}

function cancel(): void {
  if (bridgeTimer !== undefined) { host_clearTimeout(bridgeTimer); bridgeTimer = undefined; }
  if (bridgeImm !== undefined) { host_clearImmediate(bridgeImm); bridgeImm = undefined; }
  bridgeWhen = Infinity;
}

/**
 * Schedules a look at `when` (ns, TL_MONO) on this thread's event loop. The
 * long wait is an unref'd setTimeout (it keeps nobody alive, and the loop's
 * poll wakes for it if anything else keeps the loop alive); setTimeout wakes
 * on a millisecond clock, up to ~1 ms late, so it only brings the loop near
 * the deadline, and the last stretch (under 2 ms) is covered by setImmediate
 * turns, ref'd: an unref'd immediate does not make the loop poll without
 * blocking, so the loop slept until some other event (seconds) and the
 * expiry waited with it. That keeps the process for at most those 2 ms.
 */
function schedule(when: number): void {
  cancel();
  if (when === Infinity || clock_thread_running()) return;
  bridgeWhen = when;
  const ms = (when - mono_now()) / 1e6;
  // (A deadline past the host timer's range is looked at again when that runs out: tick.)
  if (ms > 2) { bridgeTimer = host_setTimeout(tick, Math.min(Math.floor(ms) - 1, HOST_TIMEOUT_MAX_MS)); bridgeTimer.unref(); }
  else bridgeImm = host_setImmediate(tick);
}

function tick(): void {
  const when = bridgeWhen;
  bridgeTimer = undefined; bridgeImm = undefined; bridgeWhen = Infinity;
  if (clock_thread_running() || cur.lid === 0) return; // cur.lid 0: no LWP here any more (see below)
  if (mono_now() < when) { schedule(when); return; }
  schedule(run_due());
  start_check_later();
}

/** The arm hook: start the clock thread (now, or after a near expiry), and until it runs, cover `when` here. */
function on_arm(when: number): void {
  if (when === Infinity || quiet) return; // never due, or a warm-up's own (timers/sys.ts)
  if (!asked()) {
    if (!is_main_thread() || when - mono_now() >= START_NEAR_NS) start_soon_now();
    else if (startBy === Infinity) { startBy = when + START_AFTER_NS; lwp_post_userret(cur.lid); }
    else clock_start_check();
  }
  if (clock_thread_running() || when >= bridgeWhen) return;
  schedule(when);
}
callout_set_arm_hook(on_arm);

/*
 * The bridge is the arming LWP's, not its worker's. A worker whose LWP has
 * exited has no owner id (cur.lid 0) until it runs another: a bridge turn
 * left on its event loop then ran callout_run there, where mutex_enter
 * "took" the heap and kqueue locks by writing 0 into them (nothing), beside
 * their real owners, and fired callouts under firer 0; the pool then
 * retires such a busy worker (terminate), sometimes in the middle of a
 * handler, leaving its callout CS_FIRING forever and the next callout_stop
 * of it waiting for good (the kqueue timer-churn hang; the heap corruption
 * was its count of -1). So the exiting LWP takes its bridge with it: what it
 * armed is fired by the clock thread (asked for at its first arm) or by any
 * other thread's bridge, poll or kernel sleep.
 */
on_lwp_exit((lid) => { if (lid === cur.lid) cancel(); });

/*
 * A deferred start is also looked at in every syscall of the deferring
 * thread until it is made (the LWP's userret, at the call's entry: one flag
 * test per syscall otherwise). The start itself waits for the event loop
 * (below); meanwhile the syscall fires what is due, as the bridge and a
 * kernel sleep would (clock_idle_run): a main thread that arms a near timer
 * and then only makes calls that never sleep (sigtimedwait or port_get with
 * a zero timeout, sigpending, timer_gettime), never returning to its event
 * loop, has neither, and a SIGEV_SIGNAL timer's signal never came (a port
 * poll's deadline-aware look fired its own port's timers; nothing else did).
 */
on_userret(() => {
  if (startBy === Infinity) return;
  if (!clock_thread_running() && (I32[cur.nlocksw]! | 0) === 0 && callout_next(TL_MONO) <= mono_now()) run_due();
  // Not on the way out of the call: it may be delivering an expiry (a
  // port_get that woke late on a busy machine), and a Worker's start costs
  // milliseconds of this thread (8-25 ms beside CPU hogs: the first expiry
  // of a blocking port_get reached its caller 20-30 ms late). The event
  // loop's next turn starts it, or this thread's next sleep in the kernel
  // with nothing due (clock_idle_next), or its next arm.
  start_check_later();
  lwp_post_userret(cur.lid);
});

/**
 * sleepq's idle hook: a thread about to block in the kernel (holding no
 * kernel lock) while the clock thread is not running yet asks for the next
 * callout deadline, sleeps no longer than that, and runs what is due.
 */
function clock_idle_next(busy: number): number {
  if (clock_thread_running() || (I32[cur.nlocksw]! | 0) !== 0) return Infinity;
  const next = callout_next(TL_MONO);
  // The arm's microtask cannot run while this thread blocks; a deferred
  // start may be due. But not before what this sleeper is there for: a
  // Worker's start costs this thread milliseconds (2-3 quiet, 8-25 beside
  // CPU hogs), and made in the sleep of a getter whose expiry was due
  // already (a callout past its deadline, or the getter's own
  // deadline-aware wait past its sleep, `busy`: a getter that came late to
  // its sleep on a busy machine) it came before that expiry's delivery. So
  // what is due goes first, and the start comes with a later sleep (it may
  // then make that sleep's expiry late once, as it did before).
  if ((startSoon || startBy !== Infinity) && Math.min(next, busy) > mono_now()) {
    if (startSoon) clock_thread_start(); else clock_start_check();
  }
  return next;
}
function clock_idle_run(): void {
  if (clock_thread_running() || (I32[cur.nlocksw]! | 0) !== 0) return;
  run_due();
}
sq_set_idle_ops({ next: clock_idle_next, run: clock_idle_run });
