/**
 * EV_NODATA with EV_EOF on OS descriptors, as DragonFly's filters set it:
 * filt_piperead and filt_soread at EOF once nothing is left to read ("only
 * set NODATA if all data has been exhausted"), filt_pipewrite and
 * filt_sowrite with every EV_EOF. The os filters reported EV_EOF alone, so
 * a program that reads until EV_NODATA never saw the end. Each wait has a
 * deadline (kevent's timeout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe, socketpair, shutdown } from './fixtures/osfd.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_EOF, EV_NODATA } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };
const one = (kq: number): sys.kevent_t => {
  const ev = kevent(kq, null, 8, SOON);
  assert.equal(ev.length, 1, 'one event within 5 s');
  return ev[0]!;
};

test('pipe read: EV_EOF with the bytes left, then EV_EOF | EV_NODATA once they are read', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  kevent(kq, [EV_SET(r, EVFILT_READ, EV_ADD, 0, 0, 0)], 0, ZERO);
  writeSync(w, 'xy');
  close(w);
  const e = one(kq);
  assert.deepEqual([e.flags, e.data], [EV_ADD | EV_EOF, 2], 'bytes left: no EV_NODATA');
  assert.equal(readSync(r, Buffer.alloc(8)), 2);
  const d = one(kq);
  assert.deepEqual([d.flags, d.data], [EV_ADD | EV_EOF | EV_NODATA, 0], 'drained: EV_NODATA');
  close(kq); close(r);
});

test('pipe write: the reader gone is EV_EOF | EV_NODATA', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  writeSync(w, Buffer.alloc(65536)); // full: not writable
  kevent(kq, [EV_SET(w, EVFILT_WRITE, EV_ADD, 0, 0, 0)], 0, ZERO);
  close(r);
  const e = one(kq);
  assert.deepEqual([e.flags, e.data], [EV_ADD | EV_EOF | EV_NODATA, 0]);
  close(kq); close(w);
});

test('unix stream socket: the peer\'s shutdown is EV_EOF | EV_NODATA on an empty socket, EV_EOF alone with bytes left', () => {
  const [a, b] = socketpair();
  const kq = kqueue();
  kevent(kq, [EV_SET(a, EVFILT_READ, EV_ADD, 0, 0, 0)], 0, ZERO);
  writeSync(b, 'abc');
  shutdown(b, 1);
  // The bytes and the hang-up may be seen in one event or two: wait for EV_EOF.
  const end = Date.now() + 5000;
  let e = one(kq);
  while ((e.flags & EV_EOF) === 0) { assert.ok(Date.now() < end, 'EV_EOF within 5 s'); e = one(kq); }
  assert.deepEqual([e.flags, e.data], [EV_ADD | EV_EOF, 3], 'bytes left: no EV_NODATA');
  assert.equal(readSync(a, Buffer.alloc(8)), 3);
  const d = one(kq);
  assert.deepEqual([d.flags, d.data], [EV_ADD | EV_EOF | EV_NODATA, 0], 'drained: EV_NODATA');
  close(kq); close(a); close(b);
});
