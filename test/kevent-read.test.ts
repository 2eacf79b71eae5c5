/**
 * EVFILT_READ on kernel descriptors: a kqueue (the seed's filt_kqueue: data
 * = pending events) and an event port (readable while it has events). Every
 * EV_* flag with this filter, readiness arriving before and after
 * registration, and closing the watched descriptor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import * as sys from 'ukern/sys';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_USER, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_DISPATCH, EV_ERROR, NOTE_TRIGGER } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const E = constants.errno;
const read = (fd: number, flags: number, udata = 0) => EV_SET(fd, EVFILT_READ, flags, 0, 0, udata);
const user = (ident: number, flags: number, fflags = 0) => EV_SET(ident, EVFILT_USER, flags, fflags, 0, 0);
function change(kq: number, ...c: sys.kevent_t[]): void { assert.deepEqual(kevent(kq, c, 0, ZERO), []); }
const poll = (kq: number, n = 8) => kevent(kq, null, n, ZERO);

test('read on a kqueue: readable with data = its pending events, not readable when drained', () => {
  const inner = kqueue(), outer = kqueue();
  change(outer, read(inner, EV_ADD, 4.5));
  assert.deepEqual(poll(outer), []);
  change(inner, user(1, EV_ADD | EV_CLEAR), user(2, EV_ADD | EV_CLEAR), user(1, 0, NOTE_TRIGGER));
  assert.deepEqual(poll(outer), [{ ident: inner, filter: EVFILT_READ, flags: EV_ADD, fflags: 0, data: 1, udata: 4.5 }]);
  change(inner, user(2, 0, NOTE_TRIGGER));
  assert.equal(poll(outer)[0]!.data, 2, 'level-triggered, data follows the count');
  assert.equal(poll(inner).length, 2);
  assert.deepEqual(poll(outer), [], 'drained: the knote is dropped from the queue at the scan');
  close(inner); close(outer);
});

test('read on a kqueue that already has events fires at registration', () => {
  const inner = kqueue(), outer = kqueue();
  change(inner, user(1, EV_ADD, NOTE_TRIGGER));
  change(outer, read(inner, EV_ADD));
  assert.equal(poll(outer)[0]!.data, 1);
  close(inner); close(outer);
});

test('read on a kqueue with EV_CLEAR: reported on each new event, not while the count stays', () => {
  const inner = kqueue(), outer = kqueue();
  change(outer, read(inner, EV_ADD | EV_CLEAR));
  change(inner, user(1, EV_ADD | EV_CLEAR, NOTE_TRIGGER));
  assert.equal(poll(outer).length, 1);
  assert.deepEqual(poll(outer), []);
  change(inner, user(2, EV_ADD | EV_CLEAR, NOTE_TRIGGER));
  assert.equal(poll(outer)[0]!.data, 2);
  close(inner); close(outer);
});

test('read on a kqueue with EV_ONESHOT, EV_DISPATCH, EV_DISABLE / EV_ENABLE', () => {
  const inner = kqueue(), outer = kqueue();
  change(inner, user(1, EV_ADD, NOTE_TRIGGER));
  change(outer, read(inner, EV_ADD | EV_ONESHOT));
  assert.equal(poll(outer).length, 1);
  assert.deepEqual(poll(outer), []);
  assert.equal(kevent(outer, [read(inner, EV_DELETE)], 1, ZERO)[0]!.data, E.ENOENT, 'oneshot deleted it');

  change(outer, read(inner, EV_ADD | EV_DISPATCH));
  assert.equal(poll(outer).length, 1);
  assert.deepEqual(poll(outer), [], 'dispatch disabled it');
  change(outer, read(inner, EV_ENABLE));
  assert.equal(poll(outer).length, 1, 'still readable once enabled');

  change(outer, read(inner, EV_DELETE), read(inner, EV_ADD | EV_DISABLE));
  assert.deepEqual(poll(outer), []);
  change(outer, read(inner, EV_ENABLE));
  assert.equal(poll(outer).length, 1);
  change(outer, read(inner, EV_DELETE));
  assert.deepEqual(poll(outer), []);
  close(inner); close(outer);
});

test('a blocking kevent on the outer kqueue wakes when the inner one gains an event', async () => {
  const inner = kqueue(), outer = kqueue();
  change(outer, read(inner, EV_ADD | EV_CLEAR));
  change(inner, user(1, EV_ADD | EV_CLEAR));
  const p = sys.kevent_async(outer, null, 1, { tv_sec: 10, tv_nsec: 0 });
  setTimeout(() => change(inner, user(1, 0, NOTE_TRIGGER)), 10);
  const r = await p;
  assert.deepEqual(r.map((e) => [e.ident, e.data]), [[inner, 1]]);
  close(inner); close(outer);
});

test('closing the watched kqueue drops the knote; the watcher sees nothing, EV_DELETE is EBADF (the seed checks the descriptor first)', () => {
  const inner = kqueue(), outer = kqueue();
  change(inner, user(1, EV_ADD, NOTE_TRIGGER));
  assert.equal(kevent(outer, [read(inner, EV_DELETE)], 1, ZERO)[0]!.data, E.ENOENT, 'an open descriptor without a knote: ENOENT');
  change(outer, read(inner, EV_ADD));
  close(inner);
  assert.deepEqual(poll(outer), []);
  assert.equal(kevent(outer, [read(inner, EV_DELETE)], 1, ZERO)[0]!.data, E.EBADF, 'kqueue_register: the descriptor (EBADF) before the knote (ENOENT)');
  assert.equal(kevent(outer, [read(inner, EV_ENABLE)], 1, ZERO)[0]!.data, E.EBADF, 'a modify of a closed descriptor: EBADF too');
  assert.equal(kevent(outer, [read(inner, EV_ADD)], 1, ZERO)[0]!.data, E.EBADF, 'a closed descriptor is EBADF');
  close(outer);
});

test('kqueues watching each other, and a kqueue watching itself, terminate', () => {
  const a = kqueue(), b = kqueue();
  change(a, read(b, EV_ADD));
  change(b, read(a, EV_ADD));
  change(a, read(a, EV_ADD));
  change(a, user(1, EV_ADD, NOTE_TRIGGER));
  const ra = poll(a).map((e) => e.ident).sort();
  assert.deepEqual(ra, [a, b, 1].sort());
  assert.deepEqual(poll(b).map((e) => e.ident), [a]);
  close(a);
  assert.deepEqual(poll(b), []);
  close(b);
});

test('read on an event port: readable while it has events, data = how many', () => {
  const port = sys.port_create(), kq = kqueue();
  change(kq, read(port, EV_ADD, 7));
  assert.deepEqual(poll(kq), []);
  sys.port_send(port, 1, 10);
  sys.port_send(port, 2, 20);
  assert.deepEqual(poll(kq), [{ ident: port, filter: EVFILT_READ, flags: EV_ADD, fflags: 0, data: 2, udata: 7 }]);
  sys.port_get(port, ZERO); sys.port_get(port, ZERO);
  assert.deepEqual(poll(kq), [], 'drained');
  sys.port_send(port, 3, 30);
  assert.equal(poll(kq)[0]!.data, 1, 'readable again');
  close(port);
  assert.deepEqual(poll(kq), [], 'closing the port dropped the knote');
  assert.equal(kevent(kq, [read(port, EV_DELETE)], 1, ZERO)[0]!.data, E.EBADF, 'the descriptor is checked before the knote');
  close(kq);
});

test('read on a port wakes a blocked kevent_async (port_send after the wait began)', async () => {
  const port = sys.port_create(), kq = kqueue();
  change(kq, read(port, EV_ADD | EV_CLEAR));
  const p = sys.kevent_async(kq, null, 4, { tv_sec: 10, tv_nsec: 0 });
  setTimeout(() => sys.port_send(port, 1, 1), 10);
  assert.equal((await p)[0]!.ident, port);
  close(port); close(kq);
});

test('read on a descriptor that is not open is EBADF (OS descriptors: kevent-os.test.ts)', () => {
  const kq = kqueue();
  const r = kevent(kq, [read(2 ** 40, EV_ADD), read(kq + 1024 * 7, EV_ADD)], 4, ZERO);
  assert.deepEqual(r.map((e) => [e.flags, e.data]), [[EV_ERROR, E.EBADF], [EV_ERROR, E.EBADF]]);
  close(kq);
});
