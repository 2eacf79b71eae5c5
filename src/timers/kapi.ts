/**
 * What the timer subsystem offers the rest of the kernel (a BSD-style
 * header, kern_timeout.c's callout(9) and the clocks): callouts — one-shot
 * kernel timeouts on the monotonic or manual line, fired by the clock
 * thread or, before it runs, by the arming thread's bridge, a poll or a
 * sleep (callout.ts says how) — used by EVFILT_TIMER and the deadline-aware
 * waits (dwait.ts: a port getter's, a sigwait's); the SIGEV_PORT timers' next deadline on a port; the host's
 * timer slack. Importing this file installs the hook that starts the clock
 * thread on the first arm (clockstats.ts), so every user of callouts gets
 * it. Other subsystems import timers only through this file or
 * timers/sys.ts (checked: .dependency-cruiser.cjs).
 */
import './clockstats.js';
export {
  CK_KNOTE, TL_MONO, callout_alloc, callout_free, callout_reset, callout_register_kind, callout_demand,
  callout_run, callout_fired, callout_cover,
} from './callout.js';
export { clock_fired_here } from './clockstats.js';
export { timer_port_deadline } from './portnfy.js';
export { timer_signal_deadline } from './signfy.js';
export { set_timer_slack } from './ffi.js';
export { copyin_sigevent, type Sigev } from './sigevent.js';
export { dwait_start, dwait_finish, dwait_thread_setup, dwait_margin, dwait_slack_wanted, type DeadlineWait, type DwaitConsumer } from './dwait.js';
