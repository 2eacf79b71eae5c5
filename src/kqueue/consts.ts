/**
 * kqueue constants under their C names with DragonFly's values (sys/event.h),
 * which agree with FreeBSD's for everything here. The EVFILT_TIMER unit
 * notes are FreeBSD's (DragonFly's timer takes milliseconds only); we accept
 * them because C code written for FreeBSD uses them.
 */

/** Filters (negative, as in C; the filter table is indexed by ~filter). */
export const EVFILT_READ = -1;
export const EVFILT_WRITE = -2;
export const EVFILT_AIO = -3;
export const EVFILT_VNODE = -4;
export const EVFILT_PROC = -5;
export const EVFILT_SIGNAL = -6;
export const EVFILT_TIMER = -7;
export const EVFILT_EXCEPT = -8;
export const EVFILT_USER = -9;
export const EVFILT_FS = -10;
/** Number of system filters: valid filters are -1 .. -EVFILT_SYSCOUNT. */
export const EVFILT_SYSCOUNT = 10;

/** Actions. */
export const EV_ADD = 0x0001;
export const EV_DELETE = 0x0002;
export const EV_ENABLE = 0x0004;
export const EV_DISABLE = 0x0008;
/** Flags. */
export const EV_ONESHOT = 0x0010;
export const EV_CLEAR = 0x0020;
export const EV_RECEIPT = 0x0040;
export const EV_DISPATCH = 0x0080;
/** Bits reserved for the kernel: stripped from every change on input. */
export const EV_SYSFLAGS = 0xf000;
export const EV_FLAG1 = 0x2000;
/** Returned values. */
export const EV_EOF = 0x8000;
export const EV_ERROR = 0x4000;
export const EV_NODATA = 0x1000;

/** EVFILT_USER: how the low 24 bits of fflags combine with the stored ones. */
export const NOTE_FFNOP = 0x00000000;
export const NOTE_FFAND = 0x40000000;
export const NOTE_FFOR = 0x80000000;
export const NOTE_FFCOPY = 0xc0000000;
export const NOTE_FFCTRLMASK = 0xc0000000;
export const NOTE_FFLAGSMASK = 0x00ffffff;
/** EVFILT_USER: trigger the event. */
export const NOTE_TRIGGER = 0x01000000;

/** EVFILT_READ / EVFILT_WRITE. */
export const NOTE_LOWAT = 0x0001;
/** EVFILT_EXCEPT: out-of-band data on a socket (DragonFly and FreeBSD: 0x0002). */
export const NOTE_OOB = 0x0002;

/** EVFILT_PROC (DragonFly): the events, in the control bits of fflags. */
export const NOTE_EXIT = 0x80000000;
export const NOTE_FORK = 0x40000000;
export const NOTE_EXEC = 0x20000000;
export const NOTE_PCTRLMASK = 0xf0000000;
export const NOTE_PDATAMASK = 0x000fffff;
/** EVFILT_PROC: follow forks (NOTE_TRACK), its failure, and a tracked child's first event. */
export const NOTE_TRACK = 0x00000001;
export const NOTE_TRACKERR = 0x00000002;
export const NOTE_CHILD = 0x00000004;

/** EVFILT_TIMER units (FreeBSD); none set means milliseconds, as DragonFly. */
export const NOTE_SECONDS = 0x00000001;
export const NOTE_MSECONDS = 0x00000002;
export const NOTE_USECONDS = 0x00000004;
export const NOTE_NSECONDS = 0x00000008;
/** EVFILT_TIMER: data is an absolute CLOCK_REALTIME time in the given unit (FreeBSD). */
export const NOTE_ABSTIME = 0x00000010;

/** EVFILT_VNODE (DragonFly sys/event.h). */
export const NOTE_DELETE = 0x0001;
export const NOTE_WRITE = 0x0002;
export const NOTE_EXTEND = 0x0004;
export const NOTE_ATTRIB = 0x0008;
export const NOTE_LINK = 0x0010;
export const NOTE_RENAME = 0x0020;
export const NOTE_REVOKE = 0x0040;
