/**
 * Signal numbers and the constants of the signal calls, as the host has
 * them: the numbers come from `os.constants.signals` (on Linux SIGRTMIN 34 to
 * SIGRTMAX 64 as glibc shows them, NSIG 65), the rest are glibc's values.
 * Exported from `ukern/sys` as they are; the default action of each signal
 * is tabled in defaults.ts.
 */
import { constants } from 'node:os';

const S = constants.signals as Readonly<Record<string, number>>;

/** One past the highest signal number (glibc's _NSIG: 65 on Linux). */
export const NSIG = 65;
/** The realtime signals: queued, one delivery per generation, each with its own siginfo_t. */
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

export const SIGHUP = S.SIGHUP ?? 1;
export const SIGINT = S.SIGINT ?? 2;
export const SIGQUIT = S.SIGQUIT ?? 3;
export const SIGILL = S.SIGILL ?? 4;
export const SIGTRAP = S.SIGTRAP ?? 5;
export const SIGABRT = S.SIGABRT ?? 6;
export const SIGBUS = S.SIGBUS ?? 7;
export const SIGFPE = S.SIGFPE ?? 8;
export const SIGKILL = S.SIGKILL ?? 9;
export const SIGUSR1 = S.SIGUSR1 ?? 10;
export const SIGSEGV = S.SIGSEGV ?? 11;
export const SIGUSR2 = S.SIGUSR2 ?? 12;
export const SIGPIPE = S.SIGPIPE ?? 13;
export const SIGALRM = S.SIGALRM ?? 14;
export const SIGTERM = S.SIGTERM ?? 15;
export const SIGCHLD = S.SIGCHLD ?? 17;
export const SIGCONT = S.SIGCONT ?? 18;
export const SIGSTOP = S.SIGSTOP ?? 19;
export const SIGTSTP = S.SIGTSTP ?? 20;
export const SIGTTIN = S.SIGTTIN ?? 21;
export const SIGTTOU = S.SIGTTOU ?? 22;
export const SIGURG = S.SIGURG ?? 23;
export const SIGXCPU = S.SIGXCPU ?? 24;
export const SIGXFSZ = S.SIGXFSZ ?? 25;
export const SIGVTALRM = S.SIGVTALRM ?? 26;
export const SIGPROF = S.SIGPROF ?? 27;
export const SIGWINCH = S.SIGWINCH ?? 28;
export const SIGIO = S.SIGIO ?? 29;
export const SIGPWR = S.SIGPWR ?? 30;
export const SIGSYS = S.SIGSYS ?? 31;
// The host's other names (Linux: os.constants.signals has them, and the
// contract exports every name it has): two aliases and the unused stack
// fault signal, whose default action is to terminate as any unlisted one.
export const SIGIOT = S.SIGIOT ?? SIGABRT;
export const SIGPOLL = S.SIGPOLL ?? SIGIO;
export const SIGSTKFLT = S.SIGSTKFLT ?? 16; // Linux's number, as NSIG and SIGRTMIN above

/** sigprocmask's `how` (glibc). */
export const SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
/** Dispositions given as numbers (glibc). */
export const SIG_DFL = 0, SIG_IGN = 1;
/** sigaction flags (glibc, Linux). SA_RESETHAND is bit 31: kept as an unsigned number. */
export const SA_NOCLDSTOP = 0x1, SA_NOCLDWAIT = 0x2, SA_SIGINFO = 0x4, SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000, SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000;
/** The flags sigaction accepts (the others are EINVAL). */
export const SA_KNOWN = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | SA_RESETHAND;
/** si_code values (glibc). */
export const SI_USER = 0, SI_QUEUE = -1, SI_TIMER = -2, SI_MESGQ = -3, SI_ASYNCIO = -4;

