/**
 * The errno, limit and edge claims of the `ukern/sys` contract
 * (/work/shared/API.md; docs/sys.md) that are cheap to state in LWP 1 alone,
 * each checked as the contract words it, on the package entry. Most were
 * pinned nowhere else in this exact form (sigaddset's bounds, sigaction's
 * query of SIGKILL, SIGKILL/SIGSTOP never blocked, the null sigevent's
 * SIGALRM with the timer id, port_getn's `max` 0 count, a change error with
 * no room in the eventlist); the rest are here so the contract's list reads
 * as one file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as osc } from 'node:os';
import fs from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';

const code = (c: string) => (e: unknown): boolean => e instanceof sys.SysError && e.code === c;
const Z = { tv_sec: 0, tv_nsec: 0 };
const E = osc.errno as Readonly<Record<string, number>>;

test('SysError: code, errno (Node\'s negative number of the host), syscall, name', () => {
  try { sys.close(0x7ffffff0); assert.fail('close of an unknown fd'); } catch (e) {
    assert.ok(e instanceof sys.SysError);
    assert.equal(e.name, 'SysError');
    assert.equal(e.code, 'EBADF');
    assert.equal(e.errno, -E.EBADF!);
    assert.equal(e.syscall, 'close');
  }
});

test('sigaddset / sigdelset / sigismember: EINVAL outside 1..NSIG-1', () => {
  const set = sys.sigemptyset();
  for (const bad of [0, -1, sys.NSIG, 1.5]) {
    assert.throws(() => sys.sigaddset(set, bad), code('EINVAL'), `sigaddset ${bad}`);
    assert.throws(() => sys.sigdelset(set, bad), code('EINVAL'), `sigdelset ${bad}`);
    assert.throws(() => sys.sigismember(set, bad), code('EINVAL'), `sigismember ${bad}`);
  }
  sys.sigaddset(set, 1); sys.sigaddset(set, sys.NSIG - 1);
  assert.ok(sys.sigismember(set, sys.SIGRTMAX));
  assert.deepEqual(set.toArray(), [1, 64]);
  assert.throws(() => sys.sigaddset({ w0: 0, w1: 0 } as unknown as sys.sigset_t, 1), TypeError, 'not a sigset_t');
  assert.throws(() => sys.sigismember(null as unknown as sys.sigset_t, 1), TypeError);
});

test('sigaction: EINVAL for changing SIGKILL / SIGSTOP; a query of them answers SIG_DFL (C allows act NULL)', () => {
  for (const s of [sys.SIGKILL, sys.SIGSTOP]) {
    assert.throws(() => sys.sigaction(s, { sa_handler: sys.SIG_IGN }), code('EINVAL'));
    assert.throws(() => sys.sigaction(s, { sa_handler: sys.SIG_DFL }), code('EINVAL'));
    assert.equal(sys.sigaction(s, null).sa_handler, sys.SIG_DFL);
  }
  assert.throws(() => sys.sigaction(0, null), code('EINVAL'));
  assert.throws(() => sys.sigaction(sys.NSIG, null), code('EINVAL'));
  // The old action comes back in the shape given.
  const before = sys.sigaction(sys.SIGURG, { sa_handler: sys.SIG_IGN, sa_flags: sys.SA_RESTART });
  const mine = sys.sigaction(sys.SIGURG, before);
  assert.equal(mine.sa_handler, sys.SIG_IGN);
  assert.equal(mine.sa_flags, sys.SA_RESTART);
});

test('sigprocmask: SIGKILL and SIGSTOP are silently never blocked; EINVAL for a bad how with a set; returns the old mask', () => {
  const all = sys.sigfillset();
  const old = sys.sigprocmask(sys.SIG_SETMASK, all);
  try {
    const now = sys.sigprocmask(sys.SIG_BLOCK, null);
    assert.ok(!sys.sigismember(now, sys.SIGKILL));
    assert.ok(!sys.sigismember(now, sys.SIGSTOP));
    assert.ok(sys.sigismember(now, sys.SIGUSR1) && sys.sigismember(now, sys.SIGRTMAX));
    assert.throws(() => sys.sigprocmask(3, sys.sigemptyset()), code('EINVAL'));
    sys.sigprocmask(3, null); // with no set, `how` is not looked at (POSIX; Linux and NetBSD alike)
  } finally { sys.sigprocmask(sys.SIG_SETMASK, old); }
  assert.deepEqual(sys.sigprocmask(sys.SIG_BLOCK, null).toArray(), old.toArray());
});

test('sigtimedwait: EAGAIN when the timeout expires; sigqueue to another pid ENOTSUP; kill / lwp_kill signal 0 checks', () => {
  const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGUSR2);
  assert.throws(() => sys.sigtimedwait(set, Z), code('EAGAIN'));
  assert.throws(() => sys.sigqueue(process.pid + 1_000_000, sys.SIGUSR2, 1), (e) => code('ENOTSUP')(e) || code('ESRCH')(e));
  sys.kill(process.pid, 0); sys.kill(0, 0); sys.lwp_kill(1, 0);
  assert.throws(() => sys.lwp_kill(99_999, 0), code('ESRCH'));
  assert.throws(() => sys.lwp_kill(99_999, sys.NSIG), code('EINVAL')); // the signal is checked first
});

test('sigqueue / kill of a realtime signal: one delivery each with its own siginfo_t; sigpending sees them', () => {
  const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGRTMIN);
  const old = sys.sigprocmask(sys.SIG_BLOCK, set);
  try {
    sys.sigqueue(process.pid, sys.SIGRTMIN, 7);
    sys.sigqueue(0, sys.SIGRTMIN, 8);
    sys.kill(process.pid, sys.SIGRTMIN);
    assert.ok(sys.sigismember(sys.sigpending(), sys.SIGRTMIN));
    const a = sys.sigtimedwait(set, Z), b = sys.sigtimedwait(set, Z), c = sys.sigtimedwait(set, Z);
    assert.deepEqual([a.si_code, a.si_value, b.si_code, b.si_value, c.si_code], [sys.SI_QUEUE, 7, sys.SI_QUEUE, 8, sys.SI_USER]);
    assert.equal(a.si_pid, process.pid);
    assert.throws(() => sys.sigtimedwait(set, Z), code('EAGAIN'));
  } finally { sys.sigprocmask(sys.SIG_SETMASK, old); }
});

test('timer_create(clock, null): SIGEV_SIGNAL with SIGALRM and the timer id as value (si_code SI_TIMER)', () => {
  const set = sys.sigemptyset(); sys.sigaddset(set, sys.SIGALRM);
  const old = sys.sigprocmask(sys.SIG_BLOCK, set);
  const t = sys.timer_create(sys.CLOCK_MANUAL, null);
  try {
    sys.timer_settime(t, 0, { it_value: { tv_sec: 1, tv_nsec: 0 }, it_interval: Z });
    sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 1, tv_nsec: 0 });
    const i = sys.sigtimedwait(set, Z);
    assert.deepEqual([i.si_signo, i.si_code, i.si_value, i.si_overrun], [sys.SIGALRM, sys.SI_TIMER, t, 0]);
  } finally { sys.timer_delete(t); sys.sigprocmask(sys.SIG_SETMASK, old); }
});

test('timers: ids from 0 reused; EINVAL for CPU clocks, bad sigev_notify or signo; TypeErrors for missing function / port', () => {
  const a = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_NONE });
  sys.timer_delete(a);
  const b = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_NONE });
  assert.equal(b, a);
  sys.timer_delete(b);
  assert.throws(() => sys.timer_delete(b), code('EINVAL'));
  assert.throws(() => sys.timer_gettime(b), code('EINVAL'));
  assert.throws(() => sys.timer_getoverrun(b), code('EINVAL'));
  for (const c of [sys.CLOCK_PROCESS_CPUTIME_ID, sys.CLOCK_THREAD_CPUTIME_ID, sys.CLOCK_VIRTUAL, 77])
    assert.throws(() => sys.timer_create(c, { sigev_notify: sys.SIGEV_NONE }), code('EINVAL'), `clock ${c}`);
  assert.throws(() => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: 99 }), code('EINVAL'));
  assert.throws(() => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_KEVENT, sigev_notify_kqueue: 0 }), code('EINVAL')); // AIO only
  assert.throws(() => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: 0 }), code('EINVAL'));
  assert.throws(() => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sys.NSIG }), code('EINVAL'));
  assert.throws(() => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_THREAD }), TypeError);
  assert.throws(() => sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT }), TypeError);
});

test('timers on a port: one queued event folding expirations; an invalid interval only matters when arming; delete withdraws, disarm does not', () => {
  const p = sys.port_create();
  const t = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 9 } });
  try {
    const bad = { tv_sec: 0, tv_nsec: 1e9 };
    assert.throws(() => sys.timer_settime(t, 0, { it_value: { tv_sec: 1, tv_nsec: 0 }, it_interval: bad }), code('EINVAL'));
    sys.timer_settime(t, 0, { it_value: Z, it_interval: bad }); // disarming: the interval is not looked at
    sys.timer_settime(t, 0, { it_value: { tv_sec: 1, tv_nsec: 0 }, it_interval: { tv_sec: 1, tv_nsec: 0 } });
    sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 3, tv_nsec: 0 });
    const l = sys.port_getn(p, 0, 0);
    assert.equal(l.nget, 1, 'one queued event for three expirations');
    const ev = sys.port_get(p, Z);
    assert.deepEqual({ ...ev }, { portev_events: 3, portev_source: sys.PORT_SOURCE_TIMER, portev_object: t, portev_user: 9 });
    assert.equal(sys.timer_getoverrun(t), 2);
    sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 1, tv_nsec: 0 });
    sys.timer_settime(t, 0, { it_value: Z, it_interval: Z }); // disarm: the queued event stays
    assert.equal(sys.port_getn(p, 0, 0).nget, 1);
    assert.deepEqual(sys.timer_gettime(t), { it_value: Z, it_interval: Z });
    sys.timer_settime(t, 0, { it_value: { tv_sec: 1, tv_nsec: 0 }, it_interval: Z });
  } finally { sys.timer_delete(t); }
  assert.equal(sys.port_getn(p, 0, 0).nget, 0, 'timer_delete withdrew its queued event');
  sys.close(p);
});

test('port_get / port_getn: ETIME, max 0 counts, nget 0 at once, a zero timeout takes what is there, nget > max EINVAL', () => {
  const p = sys.port_create();
  assert.throws(() => sys.port_get(p, Z), code('ETIME'));
  for (let i = 0; i < 3; i++) sys.port_send(p, i, i);
  const c = sys.port_getn(p, 0, 0);
  assert.equal(c.length, 0); assert.equal(c.nget, 3);
  assert.equal(sys.port_getn(p, 5, 0).length, 0);
  assert.throws(() => sys.port_getn(p, 2, 3), code('EINVAL'));
  const l = sys.port_getn(p, 5, 4, Z);
  assert.equal(l.nget, 3);
  assert.deepEqual(l.map((e) => [e.portev_source, e.portev_events, e.portev_object, e.portev_user]),
    [[sys.PORT_SOURCE_USER, 0, 0, 0], [sys.PORT_SOURCE_USER, 1, 0, 1], [sys.PORT_SOURCE_USER, 2, 0, 2]]);
  sys.port_send(p, 2 ** 31, -0);
  const e = sys.port_get(p);
  assert.equal(e.portev_events, -(2 ** 31));
  assert.ok(Object.is(e.portev_user, -0));
  sys.close(p);
  assert.throws(() => sys.port_send(p, 0, 0), code('EBADF'));
});

test('port_alert: one alert event per get until removed with events 0; EBUSY for UPDATE in alert mode; SET|UPDATE EINVAL', () => {
  const p = sys.port_create();
  sys.port_send(p, 5, 5);
  assert.throws(() => sys.port_alert(p, sys.PORT_ALERT_SET | sys.PORT_ALERT_UPDATE, 1, 1), code('EINVAL'));
  sys.port_alert(p, sys.PORT_ALERT_SET, 7, 8);
  assert.throws(() => sys.port_alert(p, sys.PORT_ALERT_UPDATE, 7, 8), code('EBUSY'));
  for (let i = 0; i < 2; i++) {
    const l = sys.port_getn(p, 4, 1);
    assert.equal(l.length, 1);
    assert.deepEqual({ ...l[0]! }, { portev_events: 7, portev_source: sys.PORT_SOURCE_ALERT, portev_object: 0, portev_user: 8 });
  }
  sys.port_alert(p, 0, 0, 0);
  assert.equal(sys.port_get(p, Z).portev_user, 5, 'the queued event stayed');
  sys.close(p);
});

test('port_sendn: per-port codes in errors, never thrown; EINVAL for an empty list', () => {
  const p = sys.port_create(), kq = sys.kqueue();
  const errors: (string | null)[] = [];
  assert.equal(sys.port_sendn([p, kq, 0x7ffffff0, p], 1, 2, errors), 2);
  assert.deepEqual(errors, [null, 'EBADFD', 'EBADF', null]);
  assert.throws(() => sys.port_sendn([], 1, 2), code('EINVAL'));
  assert.throws(() => sys.port_send(kq, 0, 0), code('EBADFD'));
  // EBADFD, which Node's table lacks, takes Linux's number on Linux (docs/sys.md, Errors).
  if (process.platform === 'linux') assert.throws(() => sys.port_send(kq, 0, 0), (e) => e instanceof sys.SysError && e.errno === -77);
  // Kernel descriptors start at 2^20; events accept [-2^31, 2^32) only.
  assert.ok(p >= 2 ** 20 && kq >= 2 ** 20);
  assert.throws(() => sys.port_send(p, 2 ** 32, 0), code('EINVAL'));
  assert.throws(() => sys.port_send(p, -(2 ** 31) - 1, 0), code('EINVAL'));
  assert.equal(sys.port_getn(p, 8, 1, Z).length, 2, 'the two events port_sendn queued on p');
  sys.port_send(p, 2 ** 32 - 1, 0);
  assert.equal(sys.port_get(p, Z).portev_events, -1);
  sys.close(p); sys.close(kq);
});

test('port_associate / port_dissociate: EBADFD for an object that is not an open fd, EINVAL for PORT_SOURCE_USER, ENOENT when not associated', () => {
  const p = sys.port_create();
  const [r, w] = pipe();
  try {
    assert.throws(() => sys.port_associate(p, sys.PORT_SOURCE_FD, 0x0fffffff, sys.POLLIN, 0), code('EBADFD'));
    assert.throws(() => sys.port_associate(p, sys.PORT_SOURCE_USER, r, sys.POLLIN, 0), code('EINVAL'));
    assert.throws(() => sys.port_dissociate(p, sys.PORT_SOURCE_FD, r), code('ENOENT'));
    sys.port_associate(p, sys.PORT_SOURCE_FD, w, sys.POLLOUT, 3);
    const ev = sys.port_get(p, { tv_sec: 10, tv_nsec: 0 });
    assert.deepEqual([ev.portev_source, ev.portev_object, ev.portev_user, ev.portev_events & sys.POLLOUT], [sys.PORT_SOURCE_FD, w, 3, sys.POLLOUT]);
    assert.throws(() => sys.port_dissociate(p, sys.PORT_SOURCE_FD, w), code('ENOENT'), 'one-shot: retrieved, so gone');
  } finally { sys.close(p); sys.close(r); sys.close(w); }
});

test('kevent: EV_ADD stays in returned flags; EVFILT_USER modify keeps udata; change errors as EV_ERROR entries (host errno), or the call\'s errno with no room', () => {
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 11)], 0);
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, 0, sys.NOTE_TRIGGER, 0, 22)], 0);
  const got = sys.kevent(kq, null, 4, Z);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.udata, 11, 'a modify does not change udata');
  assert.equal(got[0]!.flags & (sys.EV_ADD | sys.EV_CLEAR), sys.EV_ADD | sys.EV_CLEAR);
  const errs = sys.kevent(kq, [sys.EV_SET(5, sys.EVFILT_USER, sys.EV_DELETE, 0, 0, 1), sys.EV_SET(6, sys.EVFILT_USER, sys.EV_ADD | sys.EV_RECEIPT, 0, 0, 2)], 4);
  assert.deepEqual(errs.map((e) => [e.ident, e.flags, e.data]), [[5, sys.EV_ERROR, E.ENOENT], [6, sys.EV_ERROR, 0]]);
  assert.throws(() => sys.kevent(kq, [sys.EV_SET(7, sys.EVFILT_USER, sys.EV_DELETE, 0, 0, 1)], 0), code('ENOENT'));
  assert.throws(() => sys.kevent(kq, [sys.EV_SET(0x0fffffff, sys.EVFILT_READ, sys.EV_ADD, 0, 0, 1)], 0), code('EBADF'));
  assert.throws(() => sys.kevent(kq, null, -1), code('EINVAL'));
  sys.close(kq);
  assert.throws(() => sys.kevent(kq, null, 0), code('EBADF'));
});

test('EVFILT_SIGNAL: data counts generations also while ignored; EV_CLEAR always set', () => {
  const kq = sys.kqueue();
  const old = sys.sigaction(sys.SIGWINCH, { sa_handler: sys.SIG_IGN });
  try {
    sys.kevent(kq, [sys.EV_SET(sys.SIGWINCH, sys.EVFILT_SIGNAL, sys.EV_ADD, 0, 0, 0)], 0);
    sys.kill(process.pid, sys.SIGWINCH); sys.kill(process.pid, sys.SIGWINCH);
    const ev = sys.kevent(kq, null, 2, Z);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.data, 2);
    assert.ok((ev[0]!.flags & sys.EV_CLEAR) !== 0);
  } finally { sys.sigaction(sys.SIGWINCH, old); sys.close(kq); }
});

test('EVFILT_PROC: ESRCH for a pid that does not exist', () => {
  const kq = sys.kqueue();
  const r = sys.kevent(kq, [sys.EV_SET(0x3ffffff0, sys.EVFILT_PROC, sys.EV_ADD, sys.NOTE_EXIT, 0, 0)], 1);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.flags & sys.EV_ERROR, sys.EV_ERROR);
  assert.equal(r[0]!.data, E.ESRCH);
  sys.close(kq);
});

test('aio: EBADF, EINVAL (negative offset, nbytes beyond the buffer, not over a SharedArrayBuffer, aio_reqprio past AIO_PRIO_DELTA_MAX, a list past AIO_LISTIO_MAX); aio_return once, EINVAL after', async () => {
  const path = `/tmp/rev-contract-aio-${process.pid}`;
  fs.writeFileSync(path, 'hello');
  const fd = fs.openSync(path, 'r');
  const buf = new Uint8Array(new SharedArrayBuffer(8));
  try {
    assert.throws(() => sys.aio_read({ aio_fildes: 0x0fffffff, aio_offset: 0, aio_buf: buf, aio_nbytes: 5 }), code('EBADF'));
    assert.throws(() => sys.aio_read({ aio_fildes: fd, aio_offset: -1, aio_buf: buf, aio_nbytes: 5 }), code('EINVAL'));
    assert.throws(() => sys.aio_read({ aio_fildes: fd, aio_offset: 0, aio_buf: buf, aio_nbytes: 9 }), code('EINVAL'));
    assert.throws(() => sys.aio_read({ aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(8), aio_nbytes: 5 }), code('EINVAL'));
    assert.throws(() => sys.aio_read({ aio_fildes: fd, aio_offset: 0, aio_buf: buf, aio_nbytes: 5, aio_reqprio: sys.AIO_PRIO_DELTA_MAX + 1 }), code('EINVAL'));
    assert.throws(() => sys.lio_listio(sys.LIO_NOWAIT, new Array<null>(sys.AIO_LISTIO_MAX + 1).fill(null), null), code('EINVAL'));
    const cb: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: buf, aio_nbytes: 5 };
    sys.aio_read(cb);
    assert.equal(typeof cb.aio_id, 'number');
    await sys.aio_suspend_async([cb], { tv_sec: 10, tv_nsec: 0 });
    assert.equal(sys.aio_error(cb), 0);
    assert.equal(sys.aio_cancel(fd, cb), sys.AIO_ALLDONE);
    assert.equal(sys.aio_return(cb.aio_id!), 5);
    assert.throws(() => sys.aio_return(cb), code('EINVAL'));
    assert.equal(Buffer.from(buf.subarray(0, 5)).toString(), 'hello');
  } finally { sys.close(fd); fs.rmSync(path, { force: true }); }
});

test('aio: aio_error gives EINPROGRESS then ECANCELED as the host\'s numbers; aio_suspend EAGAIN at its timeout; SIGEV_PORT is a PORT_SOURCE_AIO event (object the aio_id, user the portnfy_user)', async () => {
  const [r, w] = pipe();
  const p = sys.port_create();
  const buf = new Uint8Array(new SharedArrayBuffer(16));
  try {
    const cb: sys.aiocb = { aio_fildes: r, aio_offset: 0, aio_buf: buf, aio_nbytes: 4 };
    sys.aio_read(cb);
    assert.equal(sys.aio_error(cb), E.EINPROGRESS);
    assert.throws(() => sys.aio_suspend([cb], Z), code('EAGAIN'));
    assert.throws(() => sys.aio_return(cb), code('EINPROGRESS'));
    const c = sys.aio_cancel(r, cb);
    assert.ok(c === sys.AIO_CANCELED || c === sys.AIO_NOTCANCELED, `aio_cancel ${c}`);
    await sys.aio_suspend_async([cb], { tv_sec: 10, tv_nsec: 0 });
    assert.equal(sys.aio_error(cb), E.ECANCELED);
    assert.throws(() => sys.aio_return(cb), code('ECANCELED'));
    assert.throws(() => sys.aio_return(cb), code('EINVAL'), 'collected by the failing aio_return');

    const cb2: sys.aiocb = { aio_fildes: r, aio_offset: 0, aio_buf: buf, aio_nbytes: 4,
      aio_sigevent: { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 33 } } };
    sys.aio_read(cb2);
    fs.writeSync(w, 'abcd');
    const ev = await sys.port_get_async(p, { tv_sec: 10, tv_nsec: 0 });
    assert.deepEqual([ev.portev_source, ev.portev_object, ev.portev_user], [sys.PORT_SOURCE_AIO, cb2.aio_id, 33]);
    assert.equal(sys.aio_return(cb2), 4);
  } finally { sys.close(p); sys.close(r); sys.close(w); }
});

test('times: the table of timeouts (docs/sys.md, Conventions)', () => {
  const p = sys.port_create(), kq = sys.kqueue();
  const bad = { tv_sec: 0, tv_nsec: -1 };
  try {
    // lwp_park: absolute; past (negative tv_sec allowed) is ETIMEDOUT without sleeping; malformed EINVAL.
    assert.throws(() => sys.lwp_park({ tv_sec: -1, tv_nsec: 0 }), code('ETIMEDOUT'));
    assert.throws(() => sys.lwp_park(Z), code('ETIMEDOUT'));
    assert.throws(() => sys.lwp_park(bad), code('EINVAL'));
    assert.throws(() => sys.lwp_park({ tv_sec: 0, tv_nsec: 1e9 }), code('EINVAL'));
    // ports: a malformed timeout is EINVAL only when the call would have to wait.
    assert.throws(() => sys.port_get(p, bad), code('EINVAL'));
    sys.port_send(p, 1, 1);
    assert.equal(sys.port_get(p, bad).portev_user, 1);
    // beyond TIME_SEC_MAX is clamped, not an error
    sys.port_send(p, 1, 2);
    assert.equal(sys.port_get(p, { tv_sec: 1e15, tv_nsec: 0 }).portev_user, 2);
    // kevent: malformed is EINVAL
    assert.throws(() => sys.kevent(kq, null, 1, bad), code('EINVAL'));
    assert.deepEqual(sys.kevent(kq, null, 1, Z), []);
    // not an object with numeric fields: TypeError
    assert.throws(() => sys.port_get(p, { tv_sec: '1', tv_nsec: 0 } as unknown as sys.Timespec), TypeError);
    assert.throws(() => sys.lwp_park(5 as unknown as sys.Timespec), TypeError);
    // unsigned counts take a negative value modulo 2^32
    sys.port_send(p, 1, 3);
    assert.equal(sys.port_getn(p, -1, 1, Z).length, 1);
  } finally { sys.close(p); sys.close(kq); }
});
