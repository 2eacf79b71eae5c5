/**
 * Constants of clocks, timers and sigevent, with illumos's names and numbers
 * (sys/time_impl.h, sys/siginfo.h, sys/port.h). CLOCK_MANUAL is ours.
 */

/** Obsolete alias of CLOCK_REALTIME, kept by illumos for old binaries. */
export const __CLOCK_REALTIME0 = 0;
/** The calling LWP's user-mode CPU time. */
export const CLOCK_VIRTUAL = 1;
/** The calling LWP's user + system CPU time. */
export const CLOCK_THREAD_CPUTIME_ID = 2;
/** Alternate name of CLOCK_THREAD_CPUTIME_ID (illumos). */
export const CLOCK_PROF = 2;
/** Wall-clock time. */
export const CLOCK_REALTIME = 3;
/** High-resolution monotonic time. */
export const CLOCK_MONOTONIC = 4;
/** Alternate name of CLOCK_MONOTONIC (illumos). */
export const CLOCK_HIGHRES = 4;
/** The process's user + system CPU time (all its LWPs). */
export const CLOCK_PROCESS_CPUTIME_ID = 5;
/**
 * ukern's manually driven clock, for deterministic tests of timer logic. It
 * starts at 0 at boot and moves only when a program sets it forward with
 * `clock_settime(CLOCK_MANUAL, t)` or `clock_advance(CLOCK_MANUAL, dt)`;
 * timers on it expire inside that call, in the calling thread, so that when
 * the call returns every expiry up to the new time has been delivered. Its
 * number is outside illumos's range (0..5) so it can never shadow a real clock.
 */
export const CLOCK_MANUAL = 0x4d41;

/** timer_settime flags. */
export const TIMER_RELTIME = 0x0;
export const TIMER_ABSTIME = 0x1;

/** sigev_notify values. */
export const SIGEV_NONE = 1;
export const SIGEV_SIGNAL = 2;
export const SIGEV_THREAD = 3;
export const SIGEV_PORT = 4;
/** FreeBSD's notification through a kqueue, under ukern's number (FreeBSD's 3 is illumos's SIGEV_THREAD); AIO requests only. */
export const SIGEV_KEVENT = 5;

/** Default per-process timer limit (illumos _TIMER_MAX). */
export const _TIMER_MAX = 32;

/** The largest pending expiration count kept (DELAYTIMER_MAX is INT_MAX on illumos). */
export const DELAYTIMER_MAX = 0x7fffffff;

