/**
 * EVFILT_EXCEPT with NOTE_OOB on real loopback TCP sockets: urgent data sent
 * with send(MSG_OOB) through koffi (Node cannot send it) is reported with
 * fflags NOTE_OOB and data 1 while it is pending, and no longer once it is
 * read with recv(MSG_OOB); normal data never fires it; only sockets take
 * the filter (EOPNOTSUPP otherwise, as DragonFly's kqfilters say); an LWP
 * blocked in kevent is woken by the urgent byte through the intr thread.
 * Waits use kevent deadlines, never sleeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { writeSync, readSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high, socketpair, tcp_pair, send_oob, recv_oob } from './fixtures/osfd.js';
import { until, within } from './helpers.js';

const { EV_SET, kevent, kqueue, close, EVFILT_EXCEPT, EVFILT_READ, EV_ADD, EV_CLEAR, EV_DELETE, EV_ERROR, EV_RECEIPT, NOTE_OOB } = sys;
const E = constants.errno;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };
const ex = (fd: number, flags: number, fflags = NOTE_OOB, udata = 0) => EV_SET(fd, EVFILT_EXCEPT, flags, fflags, 0, udata);
const poll = (kq: number) => kevent(kq, null, 8, ZERO);
const errOf = (kq: number, c: sys.kevent_t) => kevent(kq, [{ ...c, flags: c.flags | EV_RECEIPT }], 1, ZERO)[0]!;

test('NOTE_OOB is 2 (DragonFly and FreeBSD)', () => { assert.equal(NOTE_OOB, 0x0002); });

test('EVFILT_EXCEPT NOTE_OOB: an urgent byte reports fflags NOTE_OOB, data 1, until it is read; normal data does not', () => {
  const [c, s] = tcp_pair();
  const kq = kqueue();
  assert.deepEqual(kevent(kq, [ex(s, EV_ADD, NOTE_OOB, 7)], 0, ZERO), []);
  assert.deepEqual(poll(kq), [], 'nothing pending');
  writeSync(c, 'abc');
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }), [], 'normal data is not exceptional');
  send_oob(c, 0x21);
  assert.deepEqual(kevent(kq, null, 8, SOON), [{ ident: s, filter: EVFILT_EXCEPT, flags: EV_ADD, fflags: NOTE_OOB, data: 1, udata: 7 }]);
  assert.equal(poll(kq).length, 1, 'level-triggered: still pending, reported again');
  assert.equal(recv_oob(s), 0x21, 'the urgent byte');
  assert.deepEqual(poll(kq), [], 'read: gone');
  readSync(s, Buffer.alloc(16));
  close(kq); close(c); close(s);
});

test('EVFILT_EXCEPT: an urgent byte already pending when registered reports at once', () => {
  const [c, s] = tcp_pair();
  send_oob(c, 0x41);
  writeSync(c, 'z');
  const kq = kqueue();
  // Wait until the bytes arrived (a READ knote sees the normal one, sent after), then register the EXCEPT one.
  kevent(kq, [EV_SET(s, EVFILT_READ, EV_ADD, 0, 0, 0)], 0, ZERO);
  assert.equal(kevent(kq, null, 1, SOON)[0]?.filter, EVFILT_READ);
  kevent(kq, [EV_SET(s, EVFILT_READ, EV_DELETE, 0, 0, 0)], 0, ZERO);
  assert.deepEqual(kevent(kq, [ex(s, EV_ADD)], 8, ZERO), [{ ident: s, filter: EVFILT_EXCEPT, flags: EV_ADD, fflags: NOTE_OOB, data: 1, udata: 0 }]);
  close(kq); close(c); close(s);
});

test('EVFILT_EXCEPT EV_CLEAR: once per urgent byte', () => {
  const [c, s] = tcp_pair();
  const kq = kqueue();
  kevent(kq, [ex(s, EV_ADD | EV_CLEAR)], 0, ZERO);
  send_oob(c, 0x41);
  assert.deepEqual(kevent(kq, null, 8, SOON), [{ ident: s, filter: EVFILT_EXCEPT, flags: EV_ADD | EV_CLEAR, fflags: NOTE_OOB, data: 1, udata: 0 }]);
  assert.deepEqual(poll(kq), [], 'EV_CLEAR: reported once');
  assert.equal(recv_oob(s), 0x41);
  send_oob(c, 0x42);
  assert.deepEqual(kevent(kq, null, 8, SOON).map((e) => [e.fflags, e.data]), [[NOTE_OOB, 1]], 'the next urgent byte reports again');
  assert.deepEqual(poll(kq), []);
  assert.equal(recv_oob(s), 0x42);
  close(kq); close(c); close(s);
});

test('EVFILT_EXCEPT without NOTE_OOB never fires', () => {
  const [c, s] = tcp_pair();
  const kq = kqueue();
  kevent(kq, [ex(s, EV_ADD, 0)], 0, ZERO);
  send_oob(c);
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 100e6 }), []);
  close(kq); close(c); close(s);
});

test('EVFILT_EXCEPT errnos: EOPNOTSUPP on a pipe and a kqueue, EBADF on a closed descriptor; a Unix socket takes it', () => {
  const kq = kqueue(), other = kqueue();
  const [r, w] = pipe_high(); // numbers nobody else takes once closed
  const err = (c: sys.kevent_t) => { const e = errOf(kq, c); assert.equal(e.flags & EV_ERROR, EV_ERROR); return e.data; };
  assert.equal(err(ex(r, EV_ADD)), E.EOPNOTSUPP, 'a pipe');
  assert.equal(err(ex(other, EV_ADD)), E.EOPNOTSUPP, 'a kqueue');
  close(r); close(w);
  assert.equal(err(ex(r, EV_ADD)), E.EBADF, 'closed');
  assert.equal(sys.kstat('intr')['intr.sources'], sys.kstat('intr')['intr.sources'], 'no source left behind by the refusals');
  const [a, b] = socketpair();
  assert.equal(err(ex(a, EV_ADD)), 0, 'a socket');
  assert.equal(err(ex(a, EV_DELETE)), 0);
  assert.equal(err(ex(a, EV_DELETE)), E.ENOENT);
  close(kq); close(other); close(a); close(b);
});

test('an LWP blocked in kevent is woken by an urgent byte (EVFILT_EXCEPT through the intr thread)', async () => {
  const [c, s] = tcp_pair();
  const kq = kqueue();
  kevent(kq, [ex(s, EV_ADD)], 0, ZERO);
  const sab = new SharedArrayBuffer(16), res = new Int32Array(sab);
  const sleeps0 = sys.kstat('kqueue')['kqueue.sleeps']!;
  const lid = sys.lwp_create({ module: new URL('./fixtures/osfd-lwp.js', import.meta.url), export: 'blockInKevent', arg: { kq, sab } });
  await until(() => sys.kstat('kqueue')['kqueue.sleeps']! > sleeps0, 10_000, 'the LWP to sleep in kevent');
  send_oob(c);
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.deepEqual([...res], [1, s, EVFILT_EXCEPT, 1]);
  close(kq); close(c); close(s);
});
