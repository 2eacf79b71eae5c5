/**
 * NOTE_LOWAT on a listening socket: DragonFly sends EVFILT_READ on a
 * listening socket to filt_solisten, which reports the accept backlog in
 * data and fires while a connection waits, with no low-water mark (the
 * backlog is no byte count). The os filter compared the backlog with the
 * mark, so a server registering its sockets with NOTE_LOWAT never heard of
 * a connection until that many waited. The wait has a deadline (kevent's
 * timeout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { tcp_listen, tcp_connect } from './fixtures/osfd.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EV_ADD, NOTE_LOWAT } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('a listening socket with NOTE_LOWAT: one waiting connection is an event, data = the backlog', () => {
  const l = tcp_listen();
  const kq = kqueue();
  kevent(kq, [EV_SET(l.fd, EVFILT_READ, EV_ADD, NOTE_LOWAT, 4, 7)], 0, ZERO);
  assert.deepEqual(kevent(kq, null, 8, ZERO), [], 'nothing waits');
  const c = tcp_connect(l.port);
  const ev = kevent(kq, null, 8, { tv_sec: 5, tv_nsec: 0 });
  assert.deepEqual(ev.map((e) => [e.ident, e.udata, e.data]), [[l.fd, 7, 1]], 'the connection within 5 s');
  close(kq); close(c); close(l.fd);
});
