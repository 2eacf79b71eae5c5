/**
 * The deadline-aware wait: how a thread that sleeps for what a timer will
 * bring gets it on time. Written once for its two users, a port getter fed
 * by a SIGEV_PORT timer (ports/getn.ts) and a sigwait fed by a SIGEV_SIGNAL
 * timer (signals/wait.ts); the clock thread's own sleep
 * (clockthread-main.ts) works the same way with its own loop.
 *
 * A waiter that must sleep and knows the earliest upcoming expiry that
 * feeds it (timer_port_deadline, timer_signal_deadline), before its own
 * timeout,
 *   1. sleeps (a timed Atomics.wait) until the thread's margin before the
 *      expiry,
 *   2. spins on its wait word until woken, or until `pastNs` past the
 *      expiry (bounded: margin + pastNs, plus however late the sleep of
 *      step 1 overshot, and never past the timeout). WARM_AHEAD before the
 *      expiry it runs the firing path once dry (the due callouts, none as a
 *      rule, and the consumer's own pass through its lock: `warm`); from
 *      the expiry on it runs the due callouts itself every RUN_EVERY, so the
 *      event is made by the thread that is on a CPU at the deadline and seen
 *      without a cross-thread wake-up. It has told the clock thread
 *      (callout_cover), which then does not spin towards that deadline but
 *      only fires it from a backstop shortly after, should the waiter not be
 *      there (clockthread-main.ts),
 *   3. then sleeps as usual.
 * A wake-up ends any step, so nothing is ever delivered later than a plain
 * sleep would deliver it. Why: on this VM a blocked thread needs ~25-30 µs
 * to wake (its idle vCPU is halted), so a clock thread that fires on time is
 * not enough for the reader to see the event on time; a spinning reader
 * sees it within a microsecond.
 *
 * A consumer may bound how many of its waiters spin at once (`gate`: the
 * port getters count against port_spinners); one refused the spin still
 * makes its one look at the due callouts. A "help" wait knows of no upcoming
 * expiry but of a timer that feeds it (overdue, disarmed or deleted: its
 * hint lies in the past): it runs what is due once, then sleeps as usual,
 * with no spin and nothing learnt.
 *
 * The margin. It is the thread's, shared by both users (the lateness of a
 * timed sleep belongs to the thread: its timer slack, its vCPU), learnt by
 * kern/wakemargin.ts: the 90th percentile of how late its step-1 sleeps woke
 * (the last 64), plus 10 µs, bounded to [20 µs, 400 µs]. A sleep cut short
 * by the event itself after the point where it should have ended counts as
 * a delay of at least that long, so a margin that is too short grows. The
 * quantile is 90 %, not 95 %: a sleep that overshoots the margin costs its
 * event only the overshoot (the waiter fires the expiry itself as soon as
 * it runs), while every point of quantile is spun at every period
 * (bench/timers, 1 ms period: 95 % cost ~3 % of a core more than 90 % for
 * the same median). After its first deadline wait, outside every lock, the
 * thread's timer slack is lowered to 1 ns when the FFI allows
 * ({@link dwait_thread_setup}), which roughly halves how late its timed
 * sleeps wake and so the margin it spins; pure JS goes on with a longer
 * margin (UKERN_NO_FFI=1 forces that).
 *
 * Only the blocking forms use it: an async wait must not hold its thread's
 * event loop.
 */
import { WakeMargin } from '../kern/wakemargin.js';
import { mono_now } from '../kern/time.js';
import type { SpinPolicy } from '../kern/sleepwait.js';
import { callout_run_try, callout_fired, callout_cover } from './callout.js';
import { TL_MONO } from './clocks.js';
import { clock_fired_here } from './clockstats.js';
import { set_timer_slack } from './ffi.js';

/** How often a waiter spinning past the expiry runs the due callouts itself (ns). */
const RUN_EVERY = 2_000;
/**
 * How long before the expiry the waiter runs the firing path once dry (ns).
 * After ~a millisecond asleep, with other processes on the CPUs, that code
 * and its lines are out of the caches, and the expiry itself then ran its
 * first steps at a third of their speed (the heap lock part of callout_run:
 * 1.5-2.3 µs cold, 0.8-1.0 µs after the dry run; a 200 µs period, which
 * never leaves the CPU, delivers in ~3 µs).
 */
const WARM_AHEAD = 10_000;
/** Loads of the wait word between looks at the clock in the spin (sleepq's default 64 made the first run ~0.5 µs later). */
const SPIN_STRIDE = 8;
const INIT_MARGIN = 150_000, SLACK_MARGIN = 80_000;

// Per-thread state (module state is per thread: each worker has its own).
const wm = new WakeMargin(INIT_MARGIN);
let slackTried = false;
/** Set by the thread's first deadline wait: its caller then calls {@link dwait_thread_setup}, outside every lock. */
export let dwait_slack_wanted = false;

/**
 * Once per thread, after its first deadline wait (or by the first-expiry
 * warm-up, timers/warm.ts), outside every lock (loading the FFI takes
 * milliseconds): the thread's timer slack down to 1 ns (prctl
 * PR_SET_TIMERSLACK through koffi, as the clock thread does). It only makes
 * this thread's timed waits more precise.
 */
export function dwait_thread_setup(): void {
  dwait_slack_wanted = false;
  if (slackTried) return;
  slackTried = true;
  if (set_timer_slack(1)) wm.reset(SLACK_MARGIN); // the delays seen so far were with the default slack
}

/** This thread's current margin (ns) and samples, for tests and benches. */
export function dwait_margin(): { marginNs: number; samples: number } {
  return { marginNs: wm.margin, samples: wm.samples };
}

/** What a consumer adds to its deadline-aware wait (one object per consumer, made once). */
export interface DwaitConsumer {
  /** The consumer's part of the dry run (a pass through its lock), no lock held. */
  warm(arg: number): void;
  /** Bounds the spinners: whether this waiter may spin (then {@link leave} follows). Absent: no bound. */
  enter?(): boolean;
  leave?(): void;
  /** This waiter's own run of the due callouts fired something. */
  fired?(): void;
}

/** A deadline-aware wait in progress. */
export interface DeadlineWait {
  /** Given to sq_block. */
  readonly policy: SpinPolicy;
  /** When step 1 was to end (NaN: no step 1, the expiry was already within the margin). */
  readonly sleepUntil: number;
  /** The spin has begun (and holds a place of the consumer's gate) and not yet ended. */
  spinning: boolean;
  /** The spin has begun at some point (step 1 is over). */
  spun: boolean;
  /** When this waiter last ran due callouts itself (ns). */
  lastRun: number;
  /** The dry run before the expiry is done (or not wanted). */
  warmed: boolean;
  /** No expiry known: one look at the due callouts, no spin, nothing learnt. */
  readonly help: boolean;
  readonly c: DwaitConsumer;
}

/**
 * Runs the due callouts of the monotonic line here, unless another thread
 * is running them now (the clock thread, woken for the same expiry: it
 * fires them, and the next look here comes RUN_EVERY later). No wake-up of
 * the clock thread: callout_run's rearm kicks it when needed.
 */
function run_due(c: DwaitConsumer): void {
  const f0 = callout_fired(TL_MONO);
  if (!callout_run_try(TL_MONO)) return;
  if (callout_fired(TL_MONO) !== f0) { clock_fired_here(); c.fired?.(); }
}

function stop(d: DeadlineWait): void {
  if (!d.spinning) return;
  d.spinning = false;
  d.c.leave?.();
}

/**
 * Starts a deadline-aware wait towards `expiry` (kernel monotonic ns;
 * NaN: a help wait, see the header), spinning up to `pastNs` past it.
 * `arg` is passed to the consumer's warm(). The caller has checked that the
 * expiry comes before its own timeout, and gives the policy to sq_block.
 */
export function dwait_start(expiry: number, pastNs: number, c: DwaitConsumer, arg: number): DeadlineWait {
  const help = Number.isNaN(expiry);
  const now = mono_now();
  if (help) expiry = now;
  else callout_cover(TL_MONO, expiry);
  if (!slackTried) dwait_slack_wanted = true;
  const end = help ? expiry : expiry + pastNs;
  const until = expiry - wm.margin;
  const d: DeadlineWait = {
    sleepUntil: until > now ? until : NaN, spinning: false, spun: false, lastRun: -Infinity, warmed: help, help, c,
    policy: {
      sleepUntil: until > now ? until : undefined,
      budgetNs: end - Math.min(now, until) + 1_000_000, // a backstop only: active() ends the spin at `end`
      stride: SPIN_STRIDE,
      active: () => {
        const t = mono_now();
        if (!d.spun) {
          // Step 1 is over (sq_block calls active() only while spinning).
          d.spun = true;
          if (!Number.isNaN(d.sleepUntil)) wm.note(t - d.sleepUntil);
          d.spinning = t < end && (c.enter === undefined || c.enter());
        }
        // From the expiry on, fire what is due ourselves: we are on a CPU
        // now, the clock thread would have to be too, and its event would
        // then reach us through our wait word (and a wake-up, should we be
        // off the CPU by then). callout_run is safe from any thread (its run word
        // and each callout's state decide who fires, once; a timer never
        // fires early), its handlers are short kernel code made to run in
        // any thread, and we hold no lock here. If that made our event, our
        // wait word has changed and sq_block sees it whatever we return.
        if (!d.warmed && t >= expiry - WARM_AHEAD) { d.warmed = true; run_due(c); c.warm(arg); }
        if (t >= expiry && t - d.lastRun >= RUN_EVERY) { d.lastRun = t; run_due(c); }
        if (d.spinning && t < end) return true;
        stop(d);
        return false;
      },
    },
  };
  return d;
}

/**
 * Settles a deadline-aware wait after sq_block returned: gives back the
 * gate's place, learns from a step 1 that woke late. Returns whether the
 * wait caught its wake-up spinning.
 */
export function dwait_finish(d: DeadlineWait, woken: boolean): boolean {
  const caught = woken && d.spinning;
  stop(d);
  if (d.help) return false;
  if (woken && !d.spun && !Number.isNaN(d.sleepUntil)) {
    // Woken during step 1. If that was after step 1 should have ended, the
    // sleep overshot by at least this much: the margin was too short.
    const late = mono_now() - d.sleepUntil;
    if (late > 0) wm.note(late);
  }
  return caught;
}
