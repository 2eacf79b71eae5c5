/**
 * The constants and shapes of the `ukern/sys` contract (/work/shared/API.md,
 * docs/sys.md "Constants"), claim by claim, on the package entry: every
 * value written out here from the C headers the contract names (illumos
 * sys/port.h, sys/poll.h, sys/time_impl.h, sys/siginfo.h; DragonFly and
 * FreeBSD sys/event.h; NetBSD sys/lwp.h, sys_lwp.c; glibc signal.h, aio.h),
 * not read back from the code, so a changed value fails here. The shapes
 * are checked by the compiler: each `Same<>` below fails the build when a
 * field, its type or its optionality drifts from the contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as osc } from 'node:os';
import { constants as fsc } from 'node:fs';
import * as sys from 'ukern/sys';
import * as ukern from 'ukern';

const S = sys as unknown as Record<string, unknown>;

function values(table: Record<string, number>): void {
  for (const [name, v] of Object.entries(table)) {
    assert.ok(name in S, `ukern/sys exports ${name}`);
    assert.equal(S[name], v, `${name} = ${v}`);
  }
}

test('ports (illumos sys/port.h, sys/poll.h)', () => {
  values({
    PORT_SOURCE_AIO: 1, PORT_SOURCE_TIMER: 2, PORT_SOURCE_USER: 3, PORT_SOURCE_FD: 4, PORT_SOURCE_ALERT: 5,
    PORT_SOURCE_MQ: 6, PORT_SOURCE_FILE: 7,
    PORT_ALERT_SET: 1, PORT_ALERT_UPDATE: 2, PORT_ALERT_INVALID: 3, PORT_MAX_LIST: 8192,
    PORT_DEFAULT_PORTS: 8192, PORT_MAX_PORTS: 65536, PORT_DEFAULT_EVENTS: 65536,
    PORT_ALLOC_DEFAULT: 0, PORT_ALLOC_PRIVATE: 1, PORT_ALLOC_CACHED: 2, PORT_ALLOC_SCACHED: 4,
    PORT_CALLBACK_DEFAULT: 0, PORT_CALLBACK_CLOSE: 1, PORT_CALLBACK_DISSOCIATE: 2,
    FILE_ACCESS: 0x1, FILE_MODIFIED: 0x2, FILE_ATTRIB: 0x4, FILE_DELETE: 0x10, FILE_RENAME_TO: 0x20,
    FILE_RENAME_FROM: 0x40, FILE_TRUNC: 0x100000, FILE_NOFOLLOW: 0x10000000, UNMOUNTED: 0x20000000,
    MOUNTEDOVER: 0x40000000, FILE_EXCEPTION: 0x20000000 | 0x10 | 0x20 | 0x40 | 0x40000000,
    POLLIN: 0x1, POLLPRI: 0x2, POLLOUT: 0x4, POLLERR: 0x8, POLLHUP: 0x10, POLLNVAL: 0x20,
    POLLRDNORM: 0x40, POLLRDBAND: 0x80, POLLWRBAND: 0x100, POLLWRNORM: 0x4, POLLNORM: 0x40,
  });
});

test('clocks, timers, sigevent (illumos sys/time_impl.h, sys/siginfo.h; SIGEV_KEVENT 5)', () => {
  values({
    __CLOCK_REALTIME0: 0, CLOCK_VIRTUAL: 1, CLOCK_THREAD_CPUTIME_ID: 2, CLOCK_PROF: 2, CLOCK_REALTIME: 3,
    CLOCK_MONOTONIC: 4, CLOCK_HIGHRES: 4, CLOCK_PROCESS_CPUTIME_ID: 5, CLOCK_MANUAL: 0x4d41,
    TIMER_RELTIME: 0, TIMER_ABSTIME: 1,
    SIGEV_NONE: 1, SIGEV_SIGNAL: 2, SIGEV_THREAD: 3, SIGEV_PORT: 4, SIGEV_KEVENT: 5,
    _TIMER_MAX: 32, DELAYTIMER_MAX: 2 ** 31 - 1,
  });
});

test('kqueue (DragonFly / FreeBSD sys/event.h)', () => {
  values({
    EVFILT_READ: -1, EVFILT_WRITE: -2, EVFILT_AIO: -3, EVFILT_VNODE: -4, EVFILT_PROC: -5, EVFILT_SIGNAL: -6,
    EVFILT_TIMER: -7, EVFILT_EXCEPT: -8, EVFILT_USER: -9, EVFILT_FS: -10, EVFILT_SYSCOUNT: 10,
    EV_ADD: 0x1, EV_DELETE: 0x2, EV_ENABLE: 0x4, EV_DISABLE: 0x8, EV_ONESHOT: 0x10, EV_CLEAR: 0x20,
    EV_RECEIPT: 0x40, EV_DISPATCH: 0x80, EV_SYSFLAGS: 0xf000, EV_FLAG1: 0x2000, EV_NODATA: 0x1000,
    EV_ERROR: 0x4000, EV_EOF: 0x8000,
    NOTE_FFNOP: 0, NOTE_FFAND: 0x40000000, NOTE_FFOR: 0x80000000, NOTE_FFCOPY: 0xc0000000,
    NOTE_FFCTRLMASK: 0xc0000000, NOTE_FFLAGSMASK: 0x00ffffff, NOTE_TRIGGER: 0x01000000,
    NOTE_LOWAT: 1, NOTE_OOB: 2,
    NOTE_SECONDS: 1, NOTE_MSECONDS: 2, NOTE_USECONDS: 4, NOTE_NSECONDS: 8, NOTE_ABSTIME: 0x10,
    NOTE_DELETE: 0x1, NOTE_WRITE: 0x2, NOTE_EXTEND: 0x4, NOTE_ATTRIB: 0x8, NOTE_LINK: 0x10, NOTE_RENAME: 0x20,
    NOTE_REVOKE: 0x40,
    NOTE_EXIT: 0x80000000, NOTE_FORK: 0x40000000, NOTE_EXEC: 0x20000000, NOTE_PCTRLMASK: 0xf0000000,
    NOTE_PDATAMASK: 0x000fffff, NOTE_TRACK: 0x1, NOTE_TRACKERR: 0x2, NOTE_CHILD: 0x4,
  });
});

test('LWPs (NetBSD sys/lwp.h, sys_lwp.c)', () => {
  values({
    LWP_DETACHED: 0x40, LWP_SUSPENDED: 0x80, LWP_UNPARK_MAX: 1024,
    LSIDL: 1, LSRUN: 2, LSSLEEP: 3, LSSTOP: 4, LSZOMB: 5, LSONPROC: 7, LSSUSPENDED: 8,
  });
});

test('signals: NSIG 65, SIGRTMIN/SIGRTMAX as glibc shows them, glibc values', () => {
  values({
    NSIG: 65, SIGRTMIN: 34, SIGRTMAX: 64,
    SIG_BLOCK: 0, SIG_UNBLOCK: 1, SIG_SETMASK: 2, SIG_DFL: 0, SIG_IGN: 1,
    SA_NOCLDSTOP: 1, SA_NOCLDWAIT: 2, SA_SIGINFO: 4, SA_ONSTACK: 0x08000000, SA_RESTART: 0x10000000,
    SA_NODEFER: 0x40000000, SA_RESETHAND: 0x80000000,
    SI_USER: 0, SI_QUEUE: -1, SI_TIMER: -2, SI_MESGQ: -3, SI_ASYNCIO: -4,
  });
});

test('signals: every SIG* name of os.constants.signals, with the host\'s number', () => {
  const host = osc.signals as Readonly<Record<string, number>>;
  for (const [name, v] of Object.entries(host)) {
    assert.ok(name in S, `ukern/sys exports ${name} (os.constants.signals has it)`);
    assert.equal(S[name], v, `${name} = the host's ${v}`);
  }
});

test('aio (glibc aio.h; O_SYNC / O_DSYNC of fs.constants)', () => {
  values({
    AIO_CANCELED: 0, AIO_NOTCANCELED: 1, AIO_ALLDONE: 2,
    LIO_READ: 0, LIO_WRITE: 1, LIO_NOP: 2, LIO_WAIT: 0, LIO_NOWAIT: 1,
    O_SYNC: fsc.O_SYNC, O_DSYNC: fsc.O_DSYNC,
    AIO_PRIO_DELTA_MAX: 20, AIO_LISTIO_MAX: 4096,
  });
});

test('every function of the contract is exported, with its _async twin where it can sleep', () => {
  const fns = [
    'boot', 'close', 'kstat', 'lwp_snapshot', 'kmem_snapshot', 'lwp_check',
    'lwp_create', 'lwp_exit', 'lwp_self', 'lwp_wait', 'lwp_detach', 'lwp_suspend', 'lwp_continue', 'lwp_wakeup',
    'lwp_kill', 'lwp_park', 'lwp_unpark', 'lwp_unpark_all', 'lwp_getprivate', 'lwp_setprivate',
    'port_create', 'port_associate', 'port_dissociate', 'port_send', 'port_sendn', 'port_alert', 'port_get', 'port_getn',
    'clock_gettime', 'clock_settime', 'clock_getres', 'clock_advance',
    'timer_create', 'timer_settime', 'timer_gettime', 'timer_getoverrun', 'timer_delete',
    'EV_SET', 'kqueue', 'kevent',
    'sigemptyset', 'sigfillset', 'sigaddset', 'sigdelset', 'sigismember', 'sigprocmask', 'sigpending', 'sigaction',
    'kill', 'sigqueue', 'sigwait', 'sigwaitinfo', 'sigtimedwait', 'sigsuspend',
    'aio_read', 'aio_write', 'aio_fsync', 'aio_error', 'aio_return', 'aio_cancel', 'aio_suspend', 'lio_listio',
    'port_spin_tune', 'timer_port_deadline',
    'lwp_wait_async', 'lwp_park_async', 'port_get_async', 'port_getn_async', 'kevent_async',
    'sigwait_async', 'sigwaitinfo_async', 'sigtimedwait_async', 'sigsuspend_async', 'aio_suspend_async', 'lio_listio_async',
  ];
  for (const f of fns) assert.equal(typeof S[f], 'function', f);
  assert.equal(typeof sys.SysError, 'function');
  assert.equal(typeof sys.sigset_t, 'function');
  // Names of the code the contract says ukern/sys does not export.
  assert.ok(!('TIME_SEC_MAX' in S));
});

test('the README\'s promise: every constant of ukern/sys is exported by ukern too, with the same value', () => {
  const U = ukern as unknown as Record<string, unknown>;
  const names = Object.keys(S).filter((k) => /^_{0,2}[A-Z][A-Z0-9_]+$/.test(k) && typeof S[k] === 'number');
  assert.ok(names.length > 150, `${names.length} constants`);
  const missing = names.filter((k) => U[k] !== S[k]);
  assert.deepEqual(missing, []);
});

test('EV_SET builds the six fields of kevent_t, in order', () => {
  assert.deepEqual({ ...sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD, 2, 3, 4.5) },
    { ident: 1, filter: -9, flags: 1, fflags: 2, data: 3, udata: 4.5 });
});

// ---- shapes, checked when the tests compile (tsc -p . is the build's first step)
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const shapes: [
  Same<sys.Timespec, { tv_sec: number; tv_nsec: number }>,
  Same<sys.Itimerspec, { it_interval: sys.Timespec; it_value: sys.Timespec }>,
  Same<sys.port_event_t, { portev_events: number; portev_source: number; portev_object: number; portev_user: number }>,
  Same<sys.kevent_t, { ident: number; filter: number; flags: number; fflags: number; data: number; udata: number }>,
  Same<sys.port_notify_t, { portnfy_port: number; portnfy_user: number }>,
  Same<sys.sigevent, { sigev_notify: number; sigev_signo?: number; sigev_value?: number;
    sigev_notify_port?: sys.port_notify_t; sigev_notify_function?: (value: number) => void; sigev_notify_kqueue?: number }>,
  Same<sys.file_obj_t, { fo_name: string; fo_atime: sys.Timespec; fo_mtime: sys.Timespec; fo_ctime: sys.Timespec }>,
  Same<sys.siginfo_t, { si_signo: number; si_code: number; si_value: number; si_pid: number; si_lid: number; si_overrun: number }>,
  Same<sys.sighandler_t, (signo: number, info: sys.siginfo_t) => void>,
  Same<sys.sigaction_t, { sa_handler: number | sys.sighandler_t | { module: string | URL; export?: string };
    sa_mask?: sys.sigset_t; sa_flags?: number }>,
  Same<sys.aiocb, { aio_fildes: number; aio_offset: number; aio_buf: Uint8Array; aio_nbytes: number; aio_reqprio?: number;
    aio_sigevent?: sys.sigevent; aio_lio_opcode?: number; aio_id?: number }>,
  Same<sys.LwpStart, { module: string | URL; export?: string; arg?: unknown }>,
  Same<sys.port_event_list, sys.port_event_t[] & { nget: number }>,
  // signatures (parameter names aside)
  Same<typeof sys.lwp_create, (start: sys.LwpStart, flags?: number) => number>,
  Same<typeof sys.lwp_park, (abstime: sys.Timespec | null, hint?: number) => void>,
  Same<typeof sys.lwp_unpark_all, (lids: readonly number[] | null, hint?: number) => number>,
  Same<typeof sys.port_associate, (port: number, source: number, object: number | sys.file_obj_t, events: number, user: number) => void>,
  Same<typeof sys.port_dissociate, (port: number, source: number, object: number | sys.file_obj_t) => void>,
  Same<typeof sys.port_sendn, (ports: readonly number[], events: number, user: number, errors?: (string | null)[]) => number>,
  Same<typeof sys.port_get, (port: number, timeout?: sys.Timespec | null) => sys.port_event_t>,
  Same<typeof sys.port_getn, (port: number, max: number, nget: number, timeout?: sys.Timespec | null) => sys.port_event_t[] & { nget: number }>,
  Same<typeof sys.timer_create, (clock_id: number, evp: sys.sigevent | null) => number>,
  Same<typeof sys.timer_settime, (timerid: number, flags: number, value: sys.Itimerspec) => sys.Itimerspec>,
  Same<typeof sys.kevent, (kq: number, changelist: readonly sys.kevent_t[] | null, nevents: number, timeout?: sys.Timespec | null) => sys.kevent_t[]>,
  Same<typeof sys.sigprocmask, (how: number, set: sys.sigset_t | null) => sys.sigset_t>,
  Same<typeof sys.sigaction, (signo: number, act: sys.sigaction_t | null) => sys.sigaction_t>,
  Same<typeof sys.sigtimedwait, (set: sys.sigset_t, timeout: sys.Timespec | null) => sys.siginfo_t>,
  Same<typeof sys.sigsuspend, (mask: sys.sigset_t) => never>,
  Same<typeof sys.aio_fsync, (op: number, cb: sys.aiocb) => void>,
  Same<typeof sys.aio_error, (cb: sys.aiocb | number) => number>,
  Same<typeof sys.aio_cancel, (fd: number, cb: sys.aiocb | number | null) => number>,
  Same<typeof sys.aio_suspend, (list: readonly (sys.aiocb | number | null)[], timeout?: sys.Timespec | null) => void>,
  Same<typeof sys.lio_listio, (mode: number, list: readonly (sys.aiocb | null)[], sig: sys.sigevent | null) => void>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true,
  true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

test('the shapes compiled (the tuple above is all true)', () => {
  assert.ok(shapes.every((x) => x));
});
