/**
 * Resource controls: kq_max, kq_knotes_max and kq_calloutmax (the seed's
 * kern.kq_calloutmax) give ENOMEM when exhausted, never corruption, and the
 * capacity comes back when objects are freed. This file boots its own
 * kernel with small tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import * as sys from 'ukern/sys';
import { kstat } from 'ukern/sys';

sys.boot({ kq_max: 4, kq_knotes_max: 64, kq_calloutmax: 3 });

const { EV_SET, kevent, kqueue, close, EVFILT_USER, EVFILT_TIMER, EV_ADD, EV_DELETE, EV_ERROR, EV_ONESHOT, NOTE_TRIGGER } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const E = constants.errno;
const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;

test('kq_max: the next kqueue() is ENOMEM; closing one makes room', () => {
  const kqs = [kqueue(), kqueue(), kqueue(), kqueue()];
  assert.throws(() => kqueue(), code('ENOMEM'));
  close(kqs.pop()!);
  kqs.push(kqueue());
  for (const k of kqs) close(k);
});

test('kq_knotes_max: EV_ADD beyond it is ENOMEM per change; deleting makes room', () => {
  const kq = kqueue();
  const r = kevent(kq, Array.from({ length: 70 }, (_, i) => EV_SET(i, EVFILT_USER, EV_ADD, 0, 0, 0)), 70, ZERO);
  assert.equal(r.length, 6);
  for (const e of r) { assert.equal(e.flags, EV_ERROR); assert.equal(e.data, E.ENOMEM); }
  assert.equal(kstat('kqueue')['kqueue.knotes_in_use'], 64);
  assert.throws(() => kevent(kq, [EV_SET(100, EVFILT_USER, EV_ADD, 0, 0, 0)], 0, ZERO), code('ENOMEM'));
  // A modify of an existing knote needs no memory.
  kevent(kq, [EV_SET(3, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, 0)], 0, ZERO);
  assert.equal(kevent(kq, null, 4, ZERO).length, 1);
  kevent(kq, [EV_SET(0, EVFILT_USER, EV_DELETE, 0, 0, 0)], 0, ZERO);
  kevent(kq, [EV_SET(100, EVFILT_USER, EV_ADD, 0, 0, 0)], 0, ZERO);
  close(kq);
  assert.equal(kstat('kqueue')['kqueue.knotes_in_use'], 0);
});

test('kq_calloutmax: the fourth timer knote is ENOMEM, across kqueues; freeing one makes room', () => {
  const a = kqueue(), b = kqueue();
  const t = (id: number, flags = EV_ADD) => EV_SET(id, EVFILT_TIMER, flags, 0, 60_000, 0);
  kevent(a, [t(1), t(2)], 0, ZERO);
  kevent(b, [t(1)], 0, ZERO);
  const r = kevent(b, [t(2), t(3)], 4, ZERO);
  assert.deepEqual(r.map((e) => [e.flags, e.data]), [[EV_ERROR, E.ENOMEM], [EV_ERROR, E.ENOMEM]]);
  assert.throws(() => kevent(a, [t(9)], 0, ZERO), code('ENOMEM'));
  kevent(a, [t(1, EV_DELETE)], 0, ZERO);
  kevent(b, [EV_SET(2, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 1, 0)], 0, ZERO);
  assert.equal(kevent(b, null, 1, { tv_sec: 5, tv_nsec: 0 })[0]!.ident, 2);
  // The oneshot was dropped at delivery: room for one again.
  kevent(b, [t(3)], 0, ZERO);
  close(a); close(b);
  assert.equal(kstat('kqueue')['kqueue.timer_knotes'], 0);
});
