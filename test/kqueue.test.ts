/**
 * kqueue / kevent core and EVFILT_USER, single thread. Expected values come
 * from the seed (DragonFly kern_event.c) and the kqueue(2) pages; cases
 * translated from libkqueue's test/kevent.c, test/kqueue.c and test/user.c
 * say so. Returned flags keep EV_ADD (DragonFly; docs/sys.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import * as sys from '../src/sys/index.js';
import { kstat_snapshot } from '../src/kern/kstat.js';

const { EV_SET, kevent, kqueue, close } = sys;
const { EVFILT_USER, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_RECEIPT, EV_DISPATCH, EV_ERROR } = sys;
const { NOTE_TRIGGER, NOTE_FFNOP, NOTE_FFAND, NOTE_FFOR, NOTE_FFCOPY, NOTE_FFCTRLMASK, NOTE_FFLAGSMASK } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const E = constants.errno;
const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;

/** Applies changes, expecting no error entries. */
function change(kq: number, ...changes: sys.kevent_t[]): void {
  assert.deepEqual(kevent(kq, changes, 0, ZERO), []);
}
/** Polls pending events. */
function poll(kq: number, n = 16): sys.kevent_t[] { return kevent(kq, null, n, ZERO); }
const user = (ident: number, flags: number, fflags = 0, data = 0, udata = 0) => EV_SET(ident, EVFILT_USER, flags, fflags, data, udata);
const trigger = (ident: number, fflags = 0, data = 0) => user(ident, 0, NOTE_TRIGGER | fflags, data);

test('constants have DragonFly / FreeBSD values', () => {
  assert.deepEqual([sys.EVFILT_READ, sys.EVFILT_WRITE, sys.EVFILT_AIO, sys.EVFILT_VNODE, sys.EVFILT_PROC, sys.EVFILT_SIGNAL,
    sys.EVFILT_TIMER, sys.EVFILT_EXCEPT, sys.EVFILT_USER, sys.EVFILT_FS], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10]);
  assert.deepEqual([EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_RECEIPT, EV_DISPATCH],
    [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80]);
  assert.deepEqual([sys.EV_SYSFLAGS, sys.EV_FLAG1, sys.EV_EOF, EV_ERROR, sys.EV_NODATA], [0xf000, 0x2000, 0x8000, 0x4000, 0x1000]);
  assert.deepEqual([NOTE_FFNOP, NOTE_FFAND, NOTE_FFOR, NOTE_FFCOPY, NOTE_FFCTRLMASK, NOTE_FFLAGSMASK, NOTE_TRIGGER],
    [0, 0x40000000, 0x80000000, 0xc0000000, 0xc0000000, 0x00ffffff, 0x01000000]);
  assert.deepEqual([sys.NOTE_SECONDS, sys.NOTE_MSECONDS, sys.NOTE_USECONDS, sys.NOTE_NSECONDS, sys.NOTE_ABSTIME], [1, 2, 4, 8, 0x10]);
  assert.deepEqual(EV_SET(1, -9, 2, 3, 4, 5.5), { ident: 1, filter: -9, flags: 2, fflags: 3, data: 4, udata: 5.5 });
});

// libkqueue test/kqueue.c, test/kevent.c: descriptors and argument errors.
test('kqueue() gives distinct descriptors; close makes them EBADF; double close is EBADF', () => {
  const a = kqueue(), b = kqueue();
  assert.notEqual(a, b);
  close(a);
  assert.throws(() => kevent(a, null, 1, ZERO), code('EBADF'));
  assert.throws(() => close(a), code('EBADF'));
  close(b);
});

test('kevent on a descriptor that is not a kqueue, or not open, is EBADF', () => {
  assert.throws(() => kevent(0, null, 1, ZERO), code('EBADF'));
  assert.throws(() => kevent(-1, null, 1, ZERO), code('EBADF'));
  assert.throws(() => kevent(2 ** 40, null, 1, ZERO), code('EBADF'));
  assert.throws(() => kevent(1.5, null, 1, ZERO), code('EBADF'));
  const p = sys.port_create();
  assert.throws(() => kevent(p, null, 1, ZERO), code('EBADF'), 'an event port is not a kqueue');
  close(p);
});

test('argument errors: wrong JS types are TypeError, bad values EINVAL', () => {
  const kq = kqueue();
  assert.throws(() => kevent(kq, {} as unknown as sys.kevent_t[], 1, ZERO), TypeError);
  assert.throws(() => kevent(kq, [null as unknown as sys.kevent_t], 1, ZERO), TypeError);
  assert.throws(() => kevent(kq, [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD, fflags: 0, data: 0 } as sys.kevent_t], 1, ZERO), TypeError);
  assert.throws(() => kevent(kq, [user('1' as unknown as number, EV_ADD)], 1, ZERO), TypeError);
  assert.throws(() => kevent(kq, null, '1' as unknown as number, ZERO), TypeError);
  assert.throws(() => kevent(kq, null, -1, ZERO), code('EINVAL'));
  assert.throws(() => kevent(kq, null, 1.5, ZERO), code('EINVAL'));
  assert.throws(() => kevent(kq, null, 1, { tv_sec: 0, tv_nsec: 1e9 }), code('EINVAL'));
  assert.throws(() => kevent(kq, null, 1, { tv_sec: -1, tv_nsec: 0 }), code('EINVAL'));
  assert.throws(() => kevent(kq, null, 1, 5 as unknown as sys.Timespec), TypeError);
  // A TypeError anywhere in the changelist applies none of it.
  assert.throws(() => kevent(kq, [user(1, EV_ADD), { x: 1 } as unknown as sys.kevent_t], 0, ZERO), TypeError);
  assert.deepEqual(kevent(kq, [user(1, EV_DELETE)], 1, ZERO)[0]!.data, E.ENOENT);
  close(kq);
});

test('per-change errors come back as EV_ERROR entries with the positive errno, and end the call', () => {
  const kq = kqueue();
  change(kq, user(7, EV_ADD | EV_CLEAR), trigger(7));
  const r = kevent(kq, [
    user(1, EV_DELETE, 0, 0, 11),                       // absent: ENOENT
    user(1, EV_ENABLE, 0, 0, 12),                       // modify of absent: ENOENT
    EV_SET(1, 99, EV_ADD, 0, 0, 13),                    // filter >= 0: EINVAL
    EV_SET(1, -11, EV_ADD, 0, 0, 14),                   // beyond EVFILT_SYSCOUNT: EINVAL
    EV_SET(1, sys.EVFILT_FS, EV_ADD, 0, 0, 15),         // a system filter without operations: EINVAL
    EV_SET(12345, sys.EVFILT_READ, EV_ADD, 0, 0, 16),   // not an open descriptor: EBADF
    user(-1, EV_ADD, 0, 0, 17),                         // ident C could not hold: EINVAL
    user(2, EV_ADD, 0, 0.5, 18),                        // data C could not hold: EINVAL
  ], 16, ZERO);
  assert.deepEqual(r.map((e) => [e.flags, e.data, e.udata]), [
    [EV_ERROR, E.ENOENT, 11], [EV_ERROR, E.ENOENT, 12], [EV_ERROR, E.EINVAL, 13], [EV_ERROR, E.EINVAL, 14],
    [EV_ERROR, E.EINVAL, 15], [EV_ERROR, E.EBADF, 16], [EV_ERROR, E.EINVAL, 17], [EV_ERROR, E.EINVAL, 18],
  ]);
  assert.equal(r.length, 8, 'the triggered knote is not collected in a call that reported errors');
  assert.equal(poll(kq).length, 1);
  close(kq);
});

test('a change error with no room in the eventlist fails the call with that errno; earlier changes stay', () => {
  const kq = kqueue();
  assert.throws(() => kevent(kq, [user(1, EV_ADD), user(2, EV_DELETE), user(3, EV_ADD)], 0, ZERO), code('ENOENT'));
  // Change 1 was applied, change 3 was not (processing stops at the failure).
  assert.deepEqual(kevent(kq, [user(1, EV_DELETE | EV_RECEIPT), user(3, EV_DELETE | EV_RECEIPT)], 2, ZERO).map((e) => e.data), [0, E.ENOENT]);
  // Room for one entry: the first error takes it, the second fails the call.
  assert.throws(() => kevent(kq, [user(8, EV_DELETE), user(9, EV_DELETE)], 1, ZERO), code('ENOENT'));
  close(kq);
});

test('EV_RECEIPT: every change reports EV_ERROR with data 0 (or its errno) and no events are collected', () => {
  const kq = kqueue();
  change(kq, user(5, EV_ADD), trigger(5));
  const r = kevent(kq, [user(1, EV_ADD | EV_RECEIPT, 0, 0, 1), user(2, EV_ADD | EV_RECEIPT, 0, 0, 2), user(3, EV_DELETE | EV_RECEIPT)], 8, null);
  assert.deepEqual(r.map((e) => [e.ident, e.filter, e.flags, e.data]), [[1, EVFILT_USER, EV_ERROR, 0], [2, EVFILT_USER, EV_ERROR, 0], [3, EVFILT_USER, EV_ERROR, E.ENOENT]]);
  // EV_RECEIPT stays in the knote's flags and is reported with its events.
  change(kq, trigger(1));
  const got = poll(kq).find((e) => e.ident === 1)!;
  assert.equal(got.flags, EV_ADD | EV_RECEIPT);
  // No room for a receipt: the change is applied, nothing is reported, the rest is not applied (FreeBSD).
  assert.deepEqual(kevent(kq, [user(4, EV_ADD | EV_RECEIPT), user(6, EV_ADD)], 0, ZERO), []);
  assert.deepEqual(kevent(kq, [user(4, EV_DELETE | EV_RECEIPT), user(6, EV_DELETE | EV_RECEIPT)], 2, ZERO).map((e) => e.data), [0, E.ENOENT]);
  close(kq);
});

test('timeouts: zero polls, positive expires without error, null waits (woken by a trigger from a timer callback)', async () => {
  const kq = kqueue();
  assert.deepEqual(kevent(kq, null, 4, ZERO), []);
  const t0 = process.hrtime.bigint();
  assert.deepEqual(kevent(kq, null, 4, { tv_sec: 0, tv_nsec: 30e6 }), []);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms >= 29, `waited ${ms} ms for a 30 ms timeout`);
  // A sub-millisecond timeout (libkqueue's "hires" get) also expires quietly.
  const t1 = process.hrtime.bigint();
  assert.deepEqual(kevent(kq, null, 1, { tv_sec: 0, tv_nsec: 500_000 }), []);
  assert.ok(Number(process.hrtime.bigint() - t1) >= 500_000);
  // nevents 0 never waits, even with a null timeout.
  assert.deepEqual(kevent(kq, [user(1, EV_ADD)], 0, null), []);
  // A blocking kevent in this thread, woken by the EVFILT_TIMER of the same kqueue.
  change(kq, EV_SET(2, sys.EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 20, 0));
  const r = kevent(kq, null, 4, null);
  assert.deepEqual(r.map((e) => e.ident), [2]);
  close(kq);
});

test('udata is kept bit-exact (any double) and returned with events', () => {
  const kq = kqueue();
  const values = [0, -0, 1.5, -(2 ** 60), Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, 2 ** 53 + 2, 0xdeadbeef];
  values.forEach((v, i) => change(kq, user(i, EV_ADD | EV_ONESHOT, NOTE_TRIGGER, 0, v)));
  change(kq, user(100, EV_ADD | EV_ONESHOT, NOTE_TRIGGER, 0, NaN));
  const r = poll(kq, 64);
  values.forEach((v, i) => assert.ok(Object.is(r.find((e) => e.ident === i)!.udata, v), `udata ${v}`));
  assert.ok(Number.isNaN(r.find((e) => e.ident === 100)!.udata));
  close(kq);
});

test('idents: large ones are distinct knotes; the same ident under two filters is two knotes', () => {
  const kq = kqueue();
  const ids = [0, 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 0xffffffff];
  for (const id of ids) change(kq, user(id, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, id));
  change(kq, EV_SET(1, sys.EVFILT_TIMER, EV_ADD, 0, 60_000, 0));
  assert.deepEqual(poll(kq).map((e) => e.ident).sort((a, b) => a - b), ids.sort((a, b) => a - b));
  change(kq, user(1, EV_DELETE));
  change(kq, EV_SET(1, sys.EVFILT_TIMER, EV_DELETE, 0, 0, 0));
  close(kq);
});

// ---- EVFILT_USER (libkqueue test/user.c, expected values from filt_usertouch)

test('user: add and delete; nothing pending either way', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD));
  assert.deepEqual(poll(kq), []);
  change(kq, user(1, EV_DELETE));
  assert.deepEqual(poll(kq), []);
  assert.equal(kevent(kq, [user(1, EV_DELETE)], 1, ZERO)[0]!.data, E.ENOENT);
  close(kq);
});

test('user: get (EV_CLEAR) returns once per trigger, with fflags without the control bits', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_CLEAR, 0, 0, 77));
  change(kq, trigger(1));
  assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD | EV_CLEAR, fflags: 0, data: 0, udata: 77 }]);
  assert.deepEqual(poll(kq), []);
  change(kq, trigger(1));
  assert.equal(poll(kq).length, 1);
  close(kq);
});

test('user: without EV_CLEAR a triggered event stays triggered (level) and is returned by every call', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD, 0, 0, 5), trigger(1));
  for (let i = 0; i < 3; i++) assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD, fflags: 0, data: 0, udata: 5 }]);
  // EV_CLEAR in a modify un-triggers it (filt_usertouch).
  change(kq, user(1, EV_CLEAR));
  assert.deepEqual(poll(kq), []);
  close(kq);
});

test('user: a level-triggered event is returned once per call even with room for more', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD, NOTE_TRIGGER), user(2, EV_ADD, NOTE_TRIGGER));
  assert.deepEqual(poll(kq, 10).map((e) => e.ident), [1, 2]);
  assert.deepEqual(poll(kq, 1).map((e) => e.ident), [1]);
  assert.deepEqual(poll(kq, 1).map((e) => e.ident), [2], 'the returned one went to the back of the queue');
  close(kq);
});

test('user: disable and enable (libkqueue): a trigger while disabled is delivered on enable', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD), user(1, EV_DISABLE), trigger(1));
  assert.deepEqual(poll(kq), []);
  change(kq, user(1, EV_ENABLE));
  assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD, fflags: 0, data: 0, udata: 0 }]);
  change(kq, user(1, EV_DELETE));
  // EV_ADD | EV_DISABLE registers it disabled; a trigger is remembered.
  change(kq, user(2, EV_ADD | EV_DISABLE | EV_CLEAR), trigger(2));
  assert.deepEqual(poll(kq), []);
  change(kq, user(2, EV_ENABLE));
  assert.equal(poll(kq).length, 1);
  assert.deepEqual(poll(kq), []);
  close(kq);
});

test('user: disabling a queued event hides it without un-triggering it', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_CLEAR), trigger(1), user(1, EV_DISABLE));
  assert.deepEqual(poll(kq), []);
  assert.deepEqual(poll(kq), []);
  change(kq, user(1, EV_ENABLE));
  assert.deepEqual(poll(kq).map((e) => e.ident), [1]);
  close(kq);
});

test('user: EV_ONESHOT delivers once and deletes the knote', () => {
  const kq = kqueue();
  change(kq, user(2, EV_ADD | EV_ONESHOT, 0, 0, 9));
  change(kq, trigger(2));
  assert.deepEqual(poll(kq), [{ ident: 2, filter: EVFILT_USER, flags: EV_ADD | EV_ONESHOT, fflags: 0, data: 0, udata: 9 }]);
  assert.deepEqual(poll(kq), []);
  assert.equal(kevent(kq, [user(2, EV_DELETE)], 1, ZERO)[0]!.data, E.ENOENT, 'gone after delivery');
  // A oneshot that never fired stays.
  change(kq, user(3, EV_ADD | EV_ONESHOT));
  assert.deepEqual(poll(kq), []);
  change(kq, user(3, EV_DELETE));
  close(kq);
});

test('user: EV_DISPATCH disables after delivery; EV_ENABLE re-arms (libkqueue dispatch)', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_CLEAR | EV_DISPATCH), trigger(1));
  assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD | EV_CLEAR | EV_DISPATCH, fflags: 0, data: 0, udata: 0 }]);
  assert.deepEqual(poll(kq), []);
  change(kq, user(1, EV_ENABLE | EV_CLEAR | EV_DISPATCH));
  assert.deepEqual(poll(kq), []);
  change(kq, trigger(1));
  assert.equal(poll(kq).length, 1);
  assert.deepEqual(poll(kq), []);
  // Triggered while disabled by dispatch: delivered when enabled again.
  change(kq, trigger(1));
  assert.deepEqual(poll(kq), []);
  change(kq, user(1, EV_ENABLE));
  assert.equal(poll(kq).length, 1);
  change(kq, user(1, EV_DELETE));
  assert.deepEqual(poll(kq), []);
  close(kq);
});

test('user: EV_DISPATCH without EV_CLEAR: still triggered, so enabling delivers it again', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_DISPATCH, NOTE_TRIGGER));
  assert.equal(poll(kq).length, 1);
  assert.deepEqual(poll(kq), []);
  change(kq, user(1, EV_ENABLE));
  assert.equal(poll(kq).length, 1);
  close(kq);
});

test('user: EV_ONESHOT | EV_DISPATCH and EV_ONESHOT | EV_CLEAR deliver once and delete', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_ONESHOT | EV_DISPATCH, NOTE_TRIGGER), user(2, EV_ADD | EV_ONESHOT | EV_CLEAR, NOTE_TRIGGER));
  assert.deepEqual(poll(kq).map((e) => e.ident), [1, 2]);
  assert.deepEqual(kevent(kq, [user(1, EV_DELETE), user(2, EV_DELETE)], 2, ZERO).map((e) => e.data), [E.ENOENT, E.ENOENT]);
  close(kq);
});

test('user: NOTE_TRIGGER at EV_ADD fires at once', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_CLEAR, NOTE_TRIGGER | NOTE_FFCOPY | 0x11, 3));
  assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD | EV_CLEAR, fflags: 0x11, data: 3, udata: 0 }]);
  close(kq);
});

test('user: fflags controls NOTE_FFNOP / FFAND / FFOR / FFCOPY and data copied from every change', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD, NOTE_FFCOPY | 0xf0f0));
  change(kq, user(1, 0, NOTE_FFOR | 0x000f));
  change(kq, user(1, 0, NOTE_FFAND | 0xff0f));
  change(kq, user(1, 0, NOTE_FFNOP | 0xffff)); // ignored
  change(kq, trigger(1, NOTE_FFNOP, 42));
  assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD, fflags: 0xf00f, data: 42, udata: 0 }]);
  // At attach the stored fflags start at 0: FFOR / FFAND combine with 0.
  change(kq, user(2, EV_ADD | EV_CLEAR, NOTE_FFOR | 0x30 | NOTE_TRIGGER), user(3, EV_ADD | EV_CLEAR, NOTE_FFAND | 0x30 | NOTE_TRIGGER));
  const r = poll(kq).filter((e) => e.ident !== 1);
  assert.deepEqual(r.map((e) => [e.ident, e.fflags]), [[2, 0x30], [3, 0]]);
  // Bits above NOTE_FFLAGSMASK never reach the stored fflags.
  change(kq, user(4, EV_ADD | EV_CLEAR, NOTE_FFCOPY | 0xffffff | NOTE_TRIGGER));
  assert.equal(poll(kq).find((e) => e.ident === 4)!.fflags, 0xffffff);
  close(kq);
});

test('user: EV_CLEAR clears fflags and data on retrieval; a modify keeps udata (DragonFly)', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_CLEAR, NOTE_FFCOPY | 0x5, 0, 1.25));
  change(kq, user(1, 0, NOTE_TRIGGER, 9, 2.5));
  change(kq, user(1, EV_ADD, NOTE_FFOR | 0x2, 10, 3.75)); // EV_ADD on an existing knote modifies it
  assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD | EV_CLEAR, fflags: 0x7, data: 10, udata: 1.25 }]);
  change(kq, trigger(1));
  assert.deepEqual(poll(kq), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD | EV_CLEAR, fflags: 0, data: 0, udata: 1.25 }]);
  close(kq);
});

test('user: EV_ADD on an existing knote does not reset what already fired, nor its flags', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_CLEAR), trigger(1));
  change(kq, user(1, EV_ADD | EV_ONESHOT));
  const r = poll(kq);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.flags, EV_ADD | EV_CLEAR, 'flags stay those of the first registration');
  change(kq, trigger(1));
  assert.equal(poll(kq).length, 1, 'not oneshot: still there');
  close(kq);
});

test('user: EV_ADD | EV_DELETE together adds (EV_ADD wins, as in the seed)', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | EV_DELETE, NOTE_TRIGGER));
  assert.equal(poll(kq).length, 1);
  close(kq);
});

test('input EV_SYSFLAGS bits are stripped from changes', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD | sys.EV_EOF | EV_ERROR | sys.EV_NODATA | sys.EV_FLAG1 | EV_CLEAR, NOTE_TRIGGER));
  assert.deepEqual(poll(kq).map((e) => e.flags), [EV_ADD | EV_CLEAR]);
  close(kq);
});

test('EV_DELETE of a queued knote removes its pending event', () => {
  const kq = kqueue();
  change(kq, user(1, EV_ADD, NOTE_TRIGGER), user(2, EV_ADD, NOTE_TRIGGER));
  change(kq, user(1, EV_DELETE));
  assert.deepEqual(poll(kq).map((e) => e.ident), [2]);
  close(kq);
});

test('many knotes: trigger all, collect in batches, each exactly once', () => {
  const kq = kqueue();
  const n = 5000;
  const adds: sys.kevent_t[] = [];
  for (let i = 0; i < n; i++) adds.push(user(i, EV_ADD | EV_CLEAR, 0, 0, i));
  change(kq, ...adds);
  change(kq, ...adds.map((a) => trigger(a.ident)));
  const seen = new Set<number>();
  for (;;) {
    const r = kevent(kq, null, 256, ZERO);
    if (r.length === 0) break;
    for (const e of r) { assert.ok(!seen.has(e.ident)); assert.equal(e.udata, e.ident); seen.add(e.ident); }
  }
  assert.equal(seen.size, n);
  close(kq);
});

test('close drops every knote; kstat counts them', () => {
  const before = kstat_snapshot('kqueue');
  const kq = kqueue();
  change(kq, ...Array.from({ length: 10 }, (_, i) => user(i, EV_ADD)));
  close(kq);
  const after = kstat_snapshot('kqueue');
  assert.equal(after['kqueue.knotes_added']! - before['kqueue.knotes_added']!, 10);
  assert.equal(after['kqueue.knotes_dropped']! - before['kqueue.knotes_dropped']!, 10);
  assert.equal(after['kqueue.kqueues_created']! - before['kqueue.kqueues_created']!, 1);
});
