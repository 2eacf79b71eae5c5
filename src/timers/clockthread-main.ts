/**
 * The clock thread's body (its entries: clockthread.ts from the compiled tree,
 * the bundle's clockthread.cjs over the kernel script). The clock thread: a kernel worker that sleeps until the earliest callout
 * deadline on the monotonic time line and fires what is due (callout.ts).
 *
 * Waking on time. Node cannot lower its 50 µs timer slack, so a plain
 * `Atomics.wait(timeout)` wakes ~100 µs late. The thread therefore:
 *  1. sets its own slack to 1 ns through koffi's prctl(PR_SET_TIMERSLACK)
 *     when it can (that halves the wait's lateness; pure JS goes on without);
 *  2. sleeps until `margin` before the deadline, then spins on the clock and
 *     on the heap's wake word for the rest. `margin` adapts to how late its
 *     own waits have been waking: the 90th percentile of the last 64 wake
 *     delays plus 10 µs, bounded to [20 µs, 400 µs], so the spin is bounded
 *     per deadline and is zero when nothing is armed: an idle kernel waits
 *     forever on the wake word and burns no CPU.
 * A deadline that a port getter has said it will fire itself (it is
 * spinning towards it in its deadline-aware wait, timers/dwait.ts, and sees
 * its event at once that way) is not spun for: the thread sleeps until
 * BACKSTOP_NS past it and fires it then if the getter did not (it was off
 * its CPU, or left). That spares a CPU the second spinner, which on a
 * machine with two made both late. Arming an earlier deadline bumps the wake
 * word, which ends both the sleep and the spin. Expiries are computed by the handlers from elapsed time;
 * this loop only decides when to look.
 *
 * An error that escapes the loop is a kernel panic, raised here (the
 * thread's starter may be blocked in the kernel and never see the worker
 * end): lwp/kthread.ts says why a dead kernel thread is never restarted.
 * Test hook: UKERN_KTHREAD_CRASH=clock makes the loop throw at its first
 * wake-up, before it fires what is due, as a bug in a handler would.
 */
import { worker_threads } from '../kern/host.js';
import { attach_system_thread, type KernelImage } from '../kern/boot.js';
import * as kmem from '../kern/kmem.js'; // kmem.I32: a live binding, replaced by attach
import { mono_now } from '../kern/time.js';
import { WakeMargin } from '../kern/wakemargin.js';
import { kstat_add } from '../kern/kstat.js';
import { kthread_run } from '../lwp/kapi.js';
import * as co from './callout.js';
import { set_timer_slack, host_clock_ns, LINUX_CLOCK_THREAD_CPUTIME_ID } from './ffi.js';
import * as st from './clockstats.js';

const MIN_MARGIN = 20_000, MAX_MARGIN = 400_000;
/** How long past a covered deadline the clock thread fires it if its getter did not. */
const BACKSTOP_NS = 30_000;

/** Runs the clock thread in this worker (attached to `image`); never returns. */
export function clockthread_main(image: KernelImage): never {
  attach_system_thread(image);
  const slack = set_timer_slack(1);
  st.clock_thread_announce(slack);
  // Up (the FFI loaded): the starting thread may stop holding the process for us (spawn.ts).
  worker_threads().parentPort?.postMessage('up');

  const wm = new WakeMargin(slack ? 80_000 : 160_000, 16, 0.9, MIN_MARGIN, MAX_MARGIN);

  const line = co.TL_MONO;
  const wake = co.callout_wake_word(line);
  let cpuPrev = host_clock_ns(LINUX_CLOCK_THREAD_CPUTIME_ID);

  const crash = process.env.UKERN_KTHREAD_CRASH === 'clock';
  let woken = false;
  kthread_run('clock', serve);

  /** One look: fire what is due, then wait until the next deadline is near (or spin to it). */
  function serve(): void {
    if (crash && woken) throw new Error('UKERN_KTHREAD_CRASH: the clock thread throws (test)');
    woken = true;
    co.callout_run(line);
    const { target, seq } = co.callout_sleep_prepare(line);
    if (cpuPrev >= 0) {
      const c = host_clock_ns(LINUX_CLOCK_THREAD_CPUTIME_ID);
      kstat_add(st.C_CPU_US, Math.floor((c - cpuPrev) / 1000));
      cpuPrev = c - ((c - cpuPrev) % 1000);
    }
    if (target === Infinity) {
      Atomics.wait(kmem.I32, wake, seq);
      kstat_add(st.C_WAKEUPS);
      return;
    }
    let now = mono_now();
    if (co.callout_covered(line, target)) {
      // A getter fires it; we are the backstop.
      const until = target + BACKSTOP_NS;
      if (until > now) Atomics.wait(kmem.I32, wake, seq, (until - now) / 1e6);
      kstat_add(st.C_WAKEUPS);
      kstat_add(st.C_COVERED);
      return;
    }
    const sleepUntil = target - wm.margin;
    if (sleepUntil > now) {
      const r = Atomics.wait(kmem.I32, wake, seq, (sleepUntil - now) / 1e6);
      kstat_add(st.C_WAKEUPS);
      if (r !== 'timed-out') return; // an earlier deadline was armed
      now = mono_now();
      wm.note(now - sleepUntil);
      if (now > target) { kstat_add(st.C_LATE); return; }
    }
    // Spin the rest, watching for an earlier arm and for a getter's cover.
    const t0 = now;
    while (now < target && Atomics.load(kmem.I32, wake) === seq && !co.callout_covered(line, target)) now = mono_now();
    kstat_add(st.C_SPIN_US, Math.round((now - t0) / 1000));
  }
}
