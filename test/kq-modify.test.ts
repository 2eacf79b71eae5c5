/**
 * A change to an existing knote (EV_ADD again, or EV_ENABLE / EV_DISABLE
 * without EV_ADD) stores the change's udata, fflags and data in the knote:
 * the seed's kqueue_register does so for every filter but EVFILT_USER (whose
 * touch keeps udata), and kqueue(2) says re-adding modifies the parameters
 * of the original event. A filter with a touch of its own must do the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';

const { EVFILT_SIGNAL, EV_ADD, EV_CLEAR, EV_DISABLE, EV_ENABLE, SIGUSR1, SIG_IGN, SIG_DFL } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('EVFILT_SIGNAL: EV_ADD of an existing knote changes its udata (seed kqueue_register)', () => {
  const kq = sys.kqueue();
  sys.sigaction(SIGUSR1, { sa_handler: SIG_IGN });
  try {
    assert.deepEqual(sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, 7)], 0, ZERO), []);
    assert.deepEqual(sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_ADD, 0, 0, 8)], 0, ZERO), []);
    sys.kill(process.pid, SIGUSR1);
    const ev = sys.kevent(kq, null, 4, ZERO);
    assert.deepEqual(ev.map((e) => ({ ...e })), [{ ident: SIGUSR1, filter: EVFILT_SIGNAL, flags: EV_ADD | EV_CLEAR, fflags: 0, data: 1, udata: 8 }]);
    // A change without EV_ADD modifies too (the seed's modify path), and
    // what it counted meanwhile is kept.
    sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_DISABLE, 0, 0, 9)], 0, ZERO);
    sys.kill(process.pid, SIGUSR1);
    sys.kill(process.pid, SIGUSR1);
    assert.deepEqual(sys.kevent(kq, null, 4, ZERO), []);
    sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_ENABLE, 0, 0, 10)], 0, ZERO);
    const ev2 = sys.kevent(kq, null, 4, ZERO);
    assert.equal(ev2.length, 1);
    assert.equal(ev2[0]!.udata, 10);
    assert.equal(ev2[0]!.data, 2);
  } finally {
    sys.close(kq);
    sys.sigaction(SIGUSR1, { sa_handler: SIG_DFL });
  }
});
