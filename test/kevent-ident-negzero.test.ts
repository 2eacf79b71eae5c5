/**
 * kevent's integer fields are C integers (ident uintptr_t, filter short,
 * flags u_short, data intptr_t): -0 is 0 once copied in. Kept as -0, a
 * knote's ident came back as -0 in its receipt and in every event it
 * delivered, also to a change that named it 0. udata, a user word, stays
 * bit-exact (-0 included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';

const ZERO = { tv_sec: 0, tv_nsec: 0 };
const isPlusZero = (v: number): boolean => Object.is(v, 0);

test('an ident of -0 is 0: in the receipt, the events, and to a change naming it 0', () => {
  const kq = sys.kqueue();
  try {
    const rc = sys.kevent(kq, [sys.EV_SET(-0, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR | sys.EV_RECEIPT, 0, -0, -0)], 4, ZERO);
    assert.equal(rc.length, 1);
    assert.ok(isPlusZero(rc[0]!.ident), 'the receipt names ident 0, not -0');
    assert.equal(rc[0]!.data, 0, 'the receipt is a success');
    assert.ok(Object.is(rc[0]!.udata, -0), 'udata is a user word: -0 comes back as given');

    // Triggered by 0, and by -0: the one knote, whose events say 0.
    for (const id of [0, -0]) {
      const ev = sys.kevent(kq, [sys.EV_SET(id, sys.EVFILT_USER, 0, sys.NOTE_TRIGGER, 0, 0)], 4, ZERO);
      assert.equal(ev.length, 1, `trigger by ${Object.is(id, -0) ? '-0' : '0'}`);
      assert.ok(isPlusZero(ev[0]!.ident), `its event names ident 0 (trigger by ${Object.is(id, -0) ? '-0' : '0'})`);
    }

    // A change that fails echoes the fields as copied in: 0, not -0.
    const bad = sys.kevent(kq, [sys.EV_SET(-0, -0, sys.EV_ADD, 0, -0, 0)], 4, ZERO);
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.flags, sys.EV_ERROR);
    assert.ok(isPlusZero(bad[0]!.ident) && isPlusZero(bad[0]!.filter), 'the EV_ERROR entry names ident 0, filter 0');

    // -0 deletes the knote made with -0 (the same knote as 0).
    sys.kevent(kq, [sys.EV_SET(-0, sys.EVFILT_USER, sys.EV_DELETE, 0, 0, 0)], 0, ZERO);
    assert.throws(() => sys.kevent(kq, [sys.EV_SET(0, sys.EVFILT_USER, sys.EV_DELETE, 0, 0, 0)], 0, ZERO), (e: sys.SysError) => e.code === 'ENOENT');
  } finally { sys.close(kq); }
});
