/**
 * More claims of the `ukern/sys` contract (/work/shared/API.md, docs/sys.md),
 * each as worded there, on the package entry: lwp_kill's siginfo and its
 * pending-on-the-LWP rule, a SIGEV_SIGNAL timer's one pending signal with
 * its overrun (a realtime signal, which would otherwise queue one per
 * expiry), PORT_SOURCE_FD's replacement of a queued event and its
 * always-reported POLLHUP, PORT_SOURCE_FILE's event at once for a differing
 * time with the fobj itself as portev_object, aio_fsync's op and
 * lio_listio's LIO_WAIT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';

const code = (c: string) => (e: unknown): boolean => e instanceof sys.SysError && e.code === c;
const Z = { tv_sec: 0, tv_nsec: 0 };
const T10 = { tv_sec: 10, tv_nsec: 0 };

function blocking<T>(signos: number[], fn: (set: sys.sigset_t) => T): T {
  const set = sys.sigemptyset();
  for (const s of signos) sys.sigaddset(set, s);
  const old = sys.sigprocmask(sys.SIG_BLOCK, set);
  try { return fn(set); } finally { sys.sigprocmask(sys.SIG_SETMASK, old); }
}

test('lwp_kill: a blocked signal stays pending on that LWP; siginfo SI_USER, si_pid this process, si_lid the target', () => {
  blocking([sys.SIGUSR1], (set) => {
    sys.lwp_kill(sys.lwp_self(), sys.SIGUSR1);
    assert.ok(sys.sigismember(sys.sigpending(), sys.SIGUSR1));
    const i = sys.sigtimedwait(set, Z);
    assert.deepEqual([i.si_signo, i.si_code, i.si_pid, i.si_lid], [sys.SIGUSR1, sys.SI_USER, process.pid, sys.lwp_self()]);
    assert.ok(!sys.sigismember(sys.sigpending(), sys.SIGUSR1));
  });
});

test('SIGEV_SIGNAL timer: one pending signal per timer (a realtime one too), later expirations its overrun', () => {
  const s = sys.SIGRTMIN + 1;
  blocking([s], (set) => {
    const t = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: s, sigev_value: 5.5 });
    try {
      sys.timer_settime(t, 0, { it_value: { tv_sec: 1, tv_nsec: 0 }, it_interval: { tv_sec: 1, tv_nsec: 0 } });
      sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 3, tv_nsec: 0 });
      const i = sys.sigtimedwait(set, Z);
      assert.deepEqual([i.si_signo, i.si_code, i.si_value, i.si_overrun], [s, sys.SI_TIMER, 5.5, 2]);
      assert.equal(sys.timer_getoverrun(t), 2);
      assert.throws(() => sys.sigtimedwait(set, Z), code('EAGAIN'), 'one signal for three expirations');
      const old = sys.timer_settime(t, 0, { it_value: Z, it_interval: Z });
      assert.deepEqual(old.it_interval, { tv_sec: 1, tv_nsec: 0 }, 'timer_settime returns the old setting');
    } finally { sys.timer_delete(t); }
  });
});

test('PORT_SOURCE_FD: re-associating replaces events, user and a queued event; POLLHUP reported unasked', () => {
  const p = sys.port_create();
  const [r, w] = pipe();
  try {
    fs.writeSync(w, 'x');
    sys.port_associate(p, sys.PORT_SOURCE_FD, r, sys.POLLIN, 1);
    assert.equal(sys.port_getn(p, 0, 0).nget, 1, 'readable at once: queued');
    sys.port_associate(p, sys.PORT_SOURCE_FD, r, sys.POLLIN | sys.POLLRDNORM, 2);
    const l = sys.port_getn(p, 4, 1, T10);
    assert.equal(l.length, 1, 'the queued event was replaced, not doubled');
    assert.equal(l[0]!.portev_user, 2);
    assert.equal(l[0]!.portev_events & (sys.POLLIN | sys.POLLRDNORM), sys.POLLIN | sys.POLLRDNORM);
    fs.readSync(r, Buffer.alloc(1));
    sys.port_associate(p, sys.PORT_SOURCE_FD, r, sys.POLLPRI, 3);
    sys.close(w);
    const h = sys.port_get(p, T10);
    assert.equal(h.portev_user, 3);
    assert.equal(h.portev_events & sys.POLLHUP, sys.POLLHUP, 'POLLHUP though only POLLPRI was asked for');
  } finally { sys.close(p); sys.close(r); }
});

test('PORT_SOURCE_FILE: a time that differs from the file\'s is an event at once; portev_object is the fobj passed', () => {
  const p = sys.port_create();
  const path = `/tmp/rev-contract-file-${process.pid}`;
  fs.writeFileSync(path, 'a');
  try {
    const fobj: sys.file_obj_t = { fo_name: path, fo_atime: Z, fo_mtime: Z, fo_ctime: Z };
    sys.port_associate(p, sys.PORT_SOURCE_FILE, fobj, sys.FILE_MODIFIED, 4);
    const ev = sys.port_get(p, T10);
    assert.equal(ev.portev_source, sys.PORT_SOURCE_FILE);
    assert.equal(ev.portev_user, 4);
    assert.ok((ev.portev_events & sys.FILE_MODIFIED) !== 0);
    assert.equal(ev.portev_object as unknown, fobj, 'the very object passed');
    assert.throws(() => sys.port_dissociate(p, sys.PORT_SOURCE_FILE, fobj), code('ENOENT'), 'one-shot');
    assert.throws(() => sys.port_associate(p, sys.PORT_SOURCE_FILE, { ...fobj, fo_name: `${path}.none` }, sys.FILE_MODIFIED, 0), code('ENOENT'));
  } finally { sys.close(p); fs.rmSync(path, { force: true }); }
});

test('aio_fsync: O_SYNC and O_DSYNC, EINVAL for another op; lio_listio LIO_WAIT returns with every request done', () => {
  const path = `/tmp/rev-contract-lio-${process.pid}`;
  fs.writeFileSync(path, '');
  const fd = fs.openSync(path, 'r+');
  try {
    const a = new Uint8Array(new SharedArrayBuffer(3)); a.set([1, 2, 3]);
    const b = new Uint8Array(new SharedArrayBuffer(3)); b.set([4, 5, 6]);
    const l: sys.aiocb[] = [
      { aio_fildes: fd, aio_offset: 0, aio_buf: a, aio_nbytes: 3, aio_lio_opcode: sys.LIO_WRITE },
      { aio_fildes: fd, aio_offset: 3, aio_buf: b, aio_nbytes: 3, aio_lio_opcode: sys.LIO_WRITE },
      { aio_fildes: fd, aio_offset: 0, aio_buf: b, aio_nbytes: 0, aio_lio_opcode: sys.LIO_NOP },
    ];
    sys.lio_listio(sys.LIO_WAIT, [l[0]!, null, l[1]!, l[2]!], null);
    assert.equal(sys.aio_error(l[0]!), 0); assert.equal(sys.aio_error(l[1]!), 0);
    assert.equal(sys.aio_return(l[0]!), 3); assert.equal(sys.aio_return(l[1]!), 3);
    assert.deepEqual([...fs.readFileSync(path)], [1, 2, 3, 4, 5, 6]);
    for (const op of [sys.O_SYNC, sys.O_DSYNC]) {
      const cb: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: a, aio_nbytes: 0 };
      sys.aio_fsync(op, cb);
      sys.aio_suspend([cb], T10);
      assert.equal(sys.aio_return(cb), 0);
    }
    assert.throws(() => sys.aio_fsync(0x4242, { aio_fildes: fd, aio_offset: 0, aio_buf: a, aio_nbytes: 0 }), code('EINVAL'));
  } finally { sys.close(fd); fs.rmSync(path, { force: true }); }
});
