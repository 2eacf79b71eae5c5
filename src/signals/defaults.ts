/**
 * The default action of each signal (POSIX), in one table that the kernel
 * and the documentation read.
 */
import {
  SIGCHLD, SIGURG, SIGWINCH, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGQUIT, SIGILL, SIGTRAP, SIGABRT,
  SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS, SIGRTMIN, SIGRTMAX,
} from './consts.js';

/** What a signal does when its disposition is SIG_DFL (POSIX). */
export const DA_TERM = 0, DA_IGN = 1, DA_STOP = 2, DA_CONT = 3, DA_CORE = 4;

const IGNORED = new Set([SIGCHLD, SIGURG, SIGWINCH]);
const STOPS = new Set([SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]);
const CORES = new Set([SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS]);

/** The default action of `signo` (1 <= signo < NSIG). */
export function sig_default_action(signo: number): number {
  if (signo === SIGCONT) return DA_CONT;
  if (IGNORED.has(signo)) return DA_IGN;
  if (STOPS.has(signo)) return DA_STOP;
  if (CORES.has(signo)) return DA_CORE;
  return DA_TERM;
}

/** Is `signo` a realtime (queued) signal? */
export function sig_is_rt(signo: number): boolean { return signo >= SIGRTMIN && signo <= SIGRTMAX; }
