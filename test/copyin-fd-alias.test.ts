/**
 * A descriptor number names one kernel file or none: numbers far above the
 * table (a kevent ident is any safe integer) must not wrap onto a real
 * descriptor. fd_file took fd - FD_BASE modulo 2^32, so kevent's
 * EVFILT_READ accepted port + 2^32 (or + k * 2^32) as the port itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import * as sys from '../src/sys/index.js';

const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('kevent: an ident of a kernel descriptor plus k * 2^32 is EBADF, not that descriptor', () => {
  const kq = sys.kqueue();
  const port = sys.port_create();
  const other = sys.kqueue();
  try {
    for (const fd of [port, other]) {
      for (const ident of [fd + 2 ** 32, fd + 2 ** 33, fd + 2 ** 40, fd + 2 ** 52]) {
        const r = sys.kevent(kq, [sys.EV_SET(ident, sys.EVFILT_READ, sys.EV_ADD | sys.EV_RECEIPT, 0, 0, 1)], 4, ZERO);
        assert.equal(r.length, 1, `ident ${ident}`);
        assert.equal(r[0]!.flags, sys.EV_ERROR);
        assert.equal(r[0]!.data, constants.errno.EBADF, `ident ${ident} (${fd} + ${ident - fd})`);
      }
    }
    // The descriptors themselves still work.
    const r = sys.kevent(kq, [sys.EV_SET(port, sys.EVFILT_READ, sys.EV_ADD | sys.EV_RECEIPT, 0, 0, 2)], 4, ZERO);
    assert.equal(r[0]!.data, 0);
    sys.port_send(port, 1, 2);
    assert.deepEqual(sys.kevent(kq, null, 8, ZERO).map((e) => e.ident), [port]);
  } finally {
    sys.close(kq); sys.close(port); sys.close(other);
  }
});
