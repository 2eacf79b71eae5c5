/**
 * The deadline-aware wait of port_get / port_getn on a port fed by a POSIX
 * timer (issue 5). A getter that must sleep asks the timers for the earliest
 * upcoming expiry feeding this port (timer_port_deadline). When there is one
 * before its own timeout, it
 *   1. sleeps (a timed Atomics.wait) until `margin` before the expiry,
 *   2. spins on its wait word until the event arrives, or until
 *      port_dwait_ns past the expiry (bounded: margin + port_dwait_ns, plus
 *      however late the sleep of step 1 overshot, and never past the timeout);
 *      from the expiry on it runs the due callouts itself (callout_run), so
 *      the event is queued by the thread that is on a CPU at the deadline
 *      and seen without a cross-thread wake-up; it has told the clock thread
 *      (callout_cover), which then does not spin towards that deadline but
 *      only fires it from a backstop shortly after, should the getter not
 *      be there (clockthread.ts),
 *   3. then sleeps as usual.
 * A timer that notifies the port but has no known upcoming expiry (the hint
 * is in the past: overdue, disarmed or deleted) gets one look at the due
 * callouts before the getter sleeps, and no spin.
 * A wake-up ends any step, so nothing is ever delivered later than a plain
 * sleep would deliver it. Why: on this VM a blocked thread needs ~25-30 µs to
 * wake (its idle vCPU is halted), so a clock thread that fires on time is not
 * enough for the reader to see the event on time; a spinning reader sees it
 * within a microsecond.
 *
 * The margin adapts, as the clock thread's does (src/timers/clockthread.ts):
 * it is the 90th percentile of how late this thread's step-1 sleeps woke
 * (the last 64), plus 10 µs, bounded to [20 µs, 400 µs]; the thread's timer
 * slack is lowered to 1 ns when the FFI allows (dwait_thread_setup). It is
 * per thread because the lateness is the thread's (timer slack, vCPU wake). A sleep that
 * was cut short by the event itself, after the point where it should have
 * ended, counts as a delay of at least that long, so a margin that is too
 * short grows. The quantile is 90 %, not 95 % as before: a sleep that
 * overshoots the margin now costs its event only the overshoot (the getter
 * then fires the expiry itself as soon as it runs, with no cross-thread
 * wake-up in the way), while every point of quantile is spun at every
 * period (bench/timers, 1 ms period: 95 % cost ~3 % of a core more than 90 %
 * for the same median; 80 % saved ~1 % more and lengthened the tail).
 *
 * A port with no timer, or whose timer was deleted or disarmed (the hint then
 * lies in the past, or names an expiry that never comes: at most one bounded
 * spin), sleeps normally: an idle kernel burns no CPU. Deadline spinners count
 * against port_spinners like the adaptive spin's, and a getter that needs
 * more than one further event (nget) does not use it. Only the blocking
 * forms use it: the async forms must not hold their thread's event loop.
 */
import { I32 } from '../kern/kmem.js';
import { WakeMargin } from '../kern/wakemargin.js';
import { mono_now } from '../kern/time.js';
import { on_boot, tunables } from '../kern/boot.js';
import { kstat_add, kstat_counter } from '../kern/kstat.js';
import type { SpinPolicy } from '../kern/sleepwait.js';
import {
  timer_port_deadline, set_timer_slack, callout_run, callout_fired, callout_cover, TL_MONO, clock_fired_here,
} from '../timers/kapi.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { port_nent } from './queue.js';
import { P, port_lock, spinRegion, SPIN_NOW, SPIN_MAX, SPIN_DPOST, C_DWAIT_HIT, C_DWAIT_MISS } from './mem.js';

/** Callout runs by a getter in its deadline-aware wait that fired something (its own expiry, usually). */
const C_DWAIT_FIRED = kstat_counter('port', 'dwait_fired');
/** How often a getter spinning past the expiry runs the due callouts itself (ns). */
const RUN_EVERY = 2_000;
/** The margin covers this quantile of the step-1 sleeps' lateness (a miss costs its overshoot). */
const MARGIN_Q = 0.9;
/**
 * How long before the expiry the getter runs the firing path once dry
 * (ns): the due callouts (none yet, as a rule: never early) and a pass
 * through the port lock. After ~a millisecond asleep, with other processes
 * on the CPUs, that code and its lines are out of the caches, and the
 * expiry itself then ran its first steps at a third of their speed (the
 * heap lock part of callout_run: 1.5-2.3 us cold, 0.8-1.0 us after the dry
 * run; a 200 us period, which never leaves the CPU, delivers in ~3 us).
 */
const WARM_AHEAD = 10_000;
/** Loads of the wait word between looks at the clock in the spin (sleepq's default 64 made the first run ~0.5 us later). */
const SPIN_STRIDE = 8;
const MIN_MARGIN = 20_000, MAX_MARGIN = 400_000, INIT_MARGIN = 150_000, SLACK_MARGIN = 80_000, MARGIN_PAD = 10_000;

on_boot(() => { I32[spinRegion.base + SPIN_DPOST] = tunables().port_dwait_ns!; });

// Per-thread adaptation state (module state is per thread: each worker has its own).
const wm = new WakeMargin(INIT_MARGIN, 8, MARGIN_Q, MIN_MARGIN, MAX_MARGIN, MARGIN_PAD);
let slackTried = false;
/** Set by the first deadline wait of this thread: port_get then calls {@link dwait_thread_setup}. */
export let slackWanted = false;

/**
 * Once per thread, after its first deadline wait, outside every lock
 * (loading the FFI takes milliseconds): lowers this thread's timer slack to
 * 1 ns (prctl PR_SET_TIMERSLACK through koffi, as the clock thread does),
 * which roughly halves how late its timed sleeps wake and so the margin it
 * spins. It only makes this thread's timed waits more precise. Pure JS goes
 * on without it, with a longer margin (UKERN_NO_FFI=1 forces that).
 */
export function dwait_thread_setup(): void {
  slackWanted = false;
  if (slackTried) return;
  slackTried = true;
  if (set_timer_slack(1)) {
    wm.reset(SLACK_MARGIN); // the delays seen so far were with the default slack
  }
}


/** This thread's current margin (ns) and samples, for tests and benches. */
export function port_dwait_margin(): { marginNs: number; samples: number } {
  return { marginNs: wm.margin, samples: wm.samples };
}

/**
 * Runs the due callouts of the monotonic time line in this thread. The clock
 * thread needs no wake-up for it: a periodic callout that callout_run puts
 * back in the heap kicks the clock thread when it is earlier than what that
 * thread sleeps towards (which covers a clock thread that chose to sleep
 * without a deadline while the callout was out of the heap), and a wake-up
 * here would cost the getter a futex wake (microseconds) before it sees its
 * own event.
 */
function run_due(): void {
  const f0 = callout_fired(TL_MONO);
  callout_run(TL_MONO);
  if (callout_fired(TL_MONO) !== f0) { clock_fired_here(); kstat_add(C_DWAIT_FIRED); }
}

/** A deadline-aware wait in progress. */
export interface DeadlineWait {
  /** Given to sq_block. */
  policy: SpinPolicy;
  /** When step 1 was to end (NaN when there was no step 1: the expiry was already within the margin). */
  sleepUntil: number;
  /** The spin has begun (counted in SPIN_NOW) and not yet ended. */
  spinning: boolean;
  /** The spin has begun at some point (step 1 is over). */
  spun: boolean;
  /** When this getter last ran due callouts itself (ns). */
  lastRun: number;
  /** No expiry known: only look once for overdue callouts, no spin, no statistics. */
  help: boolean;
  /** The dry run before the expiry is done (or not wanted). */
  warmed: boolean;
}

/** The dry run of the firing path (see WARM_AHEAD), no lock held. */
function warm_fire(h: number): void {
  run_due();
  mutex_enter(port_lock(h));
  port_nent(h);
  mutex_exit(port_lock(h));
}

function stop(d: DeadlineWait): void {
  if (!d.spinning) return;
  d.spinning = false;
  Atomics.sub(I32, spinRegion.base + SPIN_NOW, 1);
}

/**
 * Decides whether a getter about to sleep on port h (lock held) until
 * `deadline` uses the deadline-aware wait; undefined: sleep as usual.
 */
export function dwait_begin(h: number, deadline: number): DeadlineWait | undefined {
  const post = Atomics.load(I32, spinRegion.base + SPIN_DPOST);
  if (post === 0) return undefined;
  let expiry = timer_port_deadline(I32[h + P.fd]!);
  let help = false;
  if (expiry === Infinity) {
    // No upcoming expiry known. If a timer notifies this port, its expiry may
    // be overdue, the clock thread late (or not started yet, e.g. while the
    // main thread blocks here): run what is due once, then sleep as usual.
    // A timer deleted or disarmed costs that one look per sleep, no spin.
    if (I32[h + P.ntimers]! <= 0) return undefined;
    expiry = mono_now();
    help = true;
  }
  if (expiry >= deadline) return undefined;
  if (!slackTried) slackWanted = true; // see dwait_thread_setup
  if (!help) callout_cover(TL_MONO, expiry);
  const end = help ? expiry : expiry + post;
  const now = mono_now();
  const sleepUntil = expiry - wm.margin;
  const d: DeadlineWait = {
    sleepUntil: sleepUntil > now ? sleepUntil : NaN, spinning: false, spun: false, lastRun: -Infinity, help, warmed: help,
    policy: {
      sleepUntil: sleepUntil > now ? sleepUntil : undefined,
      // A backstop only: active() ends the spin at `end`.
      budgetNs: end - Math.min(now, sleepUntil) + 1_000_000,
      stride: SPIN_STRIDE,
      active: () => {
        const t = mono_now();
        if (!d.spun) {
          // Step 1 is over (sq_block calls active() only while spinning).
          d.spun = true;
          if (!Number.isNaN(d.sleepUntil)) wm.note(t - d.sleepUntil);
          const b = spinRegion.base;
          if (t < end && Atomics.add(I32, b + SPIN_NOW, 1) < Atomics.load(I32, b + SPIN_MAX)) d.spinning = true;
          else if (t < end) Atomics.sub(I32, b + SPIN_NOW, 1);
        }
        // From the expiry on, fire what is due ourselves: we are on a CPU
        // now, the clock thread would have to be too, and its event would
        // then reach us through our wait word (and a wake-up, should we be
        // off the CPU by then). callout_run is safe from any thread (the heap
        // lock and each callout's state decide who fires, once; a timer never
        // fires early), its handlers are short kernel code made to run in
        // any thread, and we hold no lock here. If that queued our event, our
        // wait word has changed and sq_block sees it whatever we return.
        if (!d.warmed && t >= expiry - WARM_AHEAD) { d.warmed = true; warm_fire(h); }
        if (t >= expiry && t - d.lastRun >= RUN_EVERY) { d.lastRun = t; run_due(); }
        if (d.spinning && t < end) return true;
        stop(d);
        return false;
      },
    },
  };
  return d;
}

/** Settles a deadline-aware wait after sq_block returned: clears the spin mark, learns from a late step 1. */
export function dwait_end(d: DeadlineWait, woken: boolean): void {
  const caught = woken && d.spinning;
  stop(d);
  if (d.help) return;
  if (woken && !d.spun && !Number.isNaN(d.sleepUntil)) {
    // Woken during step 1. If that was after step 1 should have ended, the
    // sleep overshot by at least this much: the margin was too short.
    const late = mono_now() - d.sleepUntil;
    if (late > 0) wm.note(late);
  }
  kstat_add(caught ? C_DWAIT_HIT : C_DWAIT_MISS);
}
