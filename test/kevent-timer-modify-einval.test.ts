/**
 * EVFILT_TIMER: a modify (EV_ADD of an existing timer knote, or a change
 * without EV_ADD) is judged as an add is: two units at once or a negative
 * data is EINVAL (docs/sys.md), and the refused change leaves the timer as
 * it was (its period, its udata). It used to be accepted silently, its
 * values stored in the knote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import * as sys from '../src/sys/index.js';

const { EV_SET, kevent, kqueue, close, EVFILT_TIMER, EV_ADD, EV_ERROR, NOTE_SECONDS, NOTE_MSECONDS } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const E = constants.errno;
const timer = (ident: number, flags: number, data: number, fflags = 0, udata = 0) => EV_SET(ident, EVFILT_TIMER, flags, fflags, data, udata);

test('timer: a modify with a negative data or two units is EINVAL and changes nothing', () => {
  const kq = kqueue();
  try {
    // 200 ms: the refused changes below come well before its first expiry.
    assert.deepEqual(kevent(kq, [timer(1, EV_ADD, 200, 0, 5)], 0, ZERO), []);
    const err = (data: number) => ({ ident: 1, filter: EVFILT_TIMER, flags: EV_ERROR, fflags: 0, data, udata: 0 });
    assert.deepEqual(kevent(kq, [timer(1, EV_ADD, -1, 0, 6)], 4, ZERO), [{ ...err(E.EINVAL), udata: 6 }], 'EV_ADD, negative data');
    assert.deepEqual(kevent(kq, [timer(1, 0, -1000, NOTE_SECONDS, 7)], 4, ZERO), [{ ...err(E.EINVAL), fflags: NOTE_SECONDS, udata: 7 }], 'modify, negative data');
    assert.deepEqual(kevent(kq, [timer(1, EV_ADD, 5, NOTE_SECONDS | NOTE_MSECONDS, 8)], 4, ZERO),
      [{ ...err(E.EINVAL), fflags: NOTE_SECONDS | NOTE_MSECONDS, udata: 8 }], 'two units');
    assert.throws(() => kevent(kq, [timer(1, EV_ADD, -1)], 0, ZERO), (e: unknown) => e instanceof sys.SysError && e.code === 'EINVAL');
    // The refused changes left the knote as it was: its udata, its period.
    const evs = kevent(kq, null, 4, { tv_sec: 10, tv_nsec: 0 });
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.udata, 5, 'udata of the add, not of a refused modify');
    // A valid modify still works.
    assert.deepEqual(kevent(kq, [timer(1, EV_ADD | sys.EV_RECEIPT, 3600, NOTE_SECONDS, 9)], 4, ZERO).map((e) => e.data), [0]);
  } finally {
    close(kq);
  }
});
