/**
 * POSIX asynchronous I/O constants with glibc's values (aio.h), as the
 * `ukern/sys` contract pins them; O_SYNC / O_DSYNC are the host's
 * (fs.constants), since aio_fsync's `op` is an open(2) flag. SIGEV_KEVENT is
 * FreeBSD's notification kind under ukern's number (5: FreeBSD's 3 is
 * illumos's SIGEV_THREAD).
 */
import { constants } from 'node:fs';

/** aio_cancel results. */
export const AIO_CANCELED = 0;
export const AIO_NOTCANCELED = 1;
export const AIO_ALLDONE = 2;

/** lio_listio opcodes (aio_lio_opcode). */
export const LIO_READ = 0;
export const LIO_WRITE = 1;
export const LIO_NOP = 2;

/** lio_listio modes. */
export const LIO_WAIT = 0;
export const LIO_NOWAIT = 1;

/** aio_fsync ops: the host's open(2) flags. */
export const O_SYNC: number = constants.O_SYNC ?? 0x101000;
export const O_DSYNC: number = constants.O_DSYNC ?? 0x1000;

/** Notification through a kqueue (EVFILT_AIO, ident = aio_id): beside the other sigev_notify values. */
export { SIGEV_KEVENT } from '../timers/consts.js';

/** Largest aio_reqprio accepted (glibc's AIO_PRIO_DELTA_MAX). */
export const AIO_PRIO_DELTA_MAX = 20;
/** Most requests one lio_listio call may name (glibc's AIO_LISTIO_MAX is 16; illumos allows 4096). */
export const AIO_LISTIO_MAX = 4096;
