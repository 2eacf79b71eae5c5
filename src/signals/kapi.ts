/**
 * What the signals subsystem offers the rest of the kernel (the kernel part
 * of NetBSD's sys/signalvar.h): generating a signal for the process or an
 * LWP (a SIGEV_SIGNAL timer's expiry, the host's signals), learning that a
 * timer's signal was taken (its overrun count goes into si_overrun), and
 * counting generations for EVFILT_SIGNAL. Other subsystems reach signals
 * only through this file, consts.ts and sys.ts.
 */
export { sig_generate, sig_on_generate, sig_set_timer_ops, sig_generations, sig_watch, sig_generate_timer, sig_withdraw_timer, type SigSource } from './sig.js';
export { os_wanted } from './route.js';
