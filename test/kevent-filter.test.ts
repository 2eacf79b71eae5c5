/**
 * The filter table: a filter registered from outside the core (here a test
 * filter in EVFILT_PROC's slot, shaped like the seed's filt_proc) plugs in
 * without touching it. Its event op sets EV_EOF / EV_NODATA / EV_ONESHOT as
 * filt_proc does at exit, and its touch op shapes what is reported; the
 * core reports those flags, deletes the oneshot knote after delivery, and
 * never loses an activation fired from another source while processing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { filter_register, EVENT_PROCESS } from '../src/kqueue/filter.js';
import { K, kn_ident, kn_setdata, kn_data } from '../src/kqueue/knote.js';
import { knote_fire } from '../src/kqueue/kern.js';

const { EV_SET, kevent, kqueue, close, EVFILT_PROC, EV_ADD, EV_DELETE, EV_CLEAR, EV_EOF, EV_NODATA, EV_ONESHOT, EV_DISABLE, EV_ENABLE } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const E = constants.errno;
const NOTE_EXIT = 0x80000000, NOTE_FORK = 0x40000000;

// A "process" table for the test: ident -> the knotes watching it.
const watchers = new Map<number, Set<number>>();
const detached: number[] = [];
filter_register(EVFILT_PROC, {
  name: 'testproc',
  attach(kn) {
    const id = kn_ident(kn);
    if (id === 0) return 'ESRCH';
    I32[kn + K.flags] |= EV_CLEAR; // as filt_procattach
    if (!watchers.has(id)) watchers.set(id, new Set());
    watchers.get(id)!.add(kn);
    return 0;
  },
  detach(kn) { watchers.get(kn_ident(kn))?.delete(kn); detached.push(kn_ident(kn)); },
  event(kn, hint) {
    const ev = ((hint >>> 0) & 0xf0000000) >>> 0;
    if ((I32[kn + K.sfflags] >>> 0 & ev) !== 0) I32[kn + K.fflags] |= ev;
    if (ev === NOTE_EXIT) {
      watchers.get(kn_ident(kn))?.delete(kn);
      kn_setdata(kn, hint & 0xff); // exit status
      I32[kn + K.flags] |= EV_EOF | EV_NODATA | EV_ONESHOT;
      return true;
    }
    return I32[kn + K.fflags] !== 0;
  },
  touch(kn, kev, type) {
    if (type === EVENT_PROCESS) kev.data = kn_data(kn) * 1; // default copy; shows the hook runs
  },
});
/** The source side: like the seed's knote(list, hint), from outside kevent. */
function post(id: number, hint: number): void {
  for (const kn of [...(watchers.get(id) ?? [])]) knote_fire(kn, hint, (k) => I32[k + K.filter] === EVFILT_PROC && kn_ident(k) === id);
}

test('a filter registered outside the core: attach errors, EV_CLEAR set by attach, fflags accumulated', () => {
  const kq = kqueue();
  assert.equal(kevent(kq, [EV_SET(0, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, 0)], 1, ZERO)[0]!.data, E.ESRCH);
  kevent(kq, [EV_SET(42, EVFILT_PROC, EV_ADD, NOTE_EXIT | NOTE_FORK, 0, 7)], 0, ZERO);
  assert.deepEqual(kevent(kq, null, 4, ZERO), []);
  post(42, NOTE_FORK);
  post(42, NOTE_FORK);
  assert.deepEqual(kevent(kq, null, 4, ZERO), [{ ident: 42, filter: EVFILT_PROC, flags: EV_ADD | EV_CLEAR, fflags: NOTE_FORK, data: 0, udata: 7 }]);
  assert.deepEqual(kevent(kq, null, 4, ZERO), [], 'EV_CLEAR cleared fflags');
  close(kq);
});

test('EV_EOF | EV_NODATA | EV_ONESHOT set by the filter: reported once, then the knote is gone', () => {
  const kq = kqueue();
  kevent(kq, [EV_SET(43, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, 0)], 0, ZERO);
  post(43, NOTE_EXIT | 3);
  assert.deepEqual(kevent(kq, null, 4, ZERO), [{ ident: 43, filter: EVFILT_PROC, flags: EV_ADD | EV_CLEAR | EV_EOF | EV_NODATA | EV_ONESHOT, fflags: NOTE_EXIT, data: 3, udata: 0 }]);
  assert.ok(detached.includes(43), 'detach ran');
  assert.equal(kevent(kq, [EV_SET(43, EVFILT_PROC, EV_DELETE, 0, 0, 0)], 1, ZERO)[0]!.data, E.ENOENT);
  close(kq);
});

test('an activation while the knote is disabled is kept, and one after close finds nothing', () => {
  const kq = kqueue();
  kevent(kq, [EV_SET(44, EVFILT_PROC, EV_ADD | EV_DISABLE, NOTE_FORK, 0, 0)], 0, ZERO);
  post(44, NOTE_FORK);
  assert.deepEqual(kevent(kq, null, 4, ZERO), []);
  kevent(kq, [EV_SET(44, EVFILT_PROC, EV_ENABLE, NOTE_FORK, 0, 0)], 0, ZERO);
  assert.equal(kevent(kq, null, 4, ZERO)[0]!.fflags, NOTE_FORK);
  close(kq);
  assert.equal(watchers.get(44)!.size, 0, 'close detached it');
  post(44, NOTE_FORK); // nothing to do, nothing breaks
});
