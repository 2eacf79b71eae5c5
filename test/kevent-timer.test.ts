/**
 * EVFILT_TIMER. Expected values from the seed's filt_timer* (period in ms,
 * EV_CLEAR set automatically, data = expirations since the last retrieval,
 * a modify's period taking effect at the next expiry) and FreeBSD's
 * kqueue(2) for the NOTE_* units and NOTE_ABSTIME. Cases translated from
 * libkqueue's test/timer.c say so. Time bounds are one-sided where the
 * machine may be slow: a timer never fires early; lateness only grows data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import * as sys from 'ukern/sys';
import { kstat } from 'ukern/sys';

const { EV_SET, kevent, kqueue, close, EVFILT_TIMER, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_DISPATCH, EV_RECEIPT, EV_ERROR } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const E = constants.errno;
const LONG = { tv_sec: 10, tv_nsec: 0 };
const now = () => Number(process.hrtime.bigint()) / 1e6;
const timer = (ident: number, flags: number, data: number, fflags = 0, udata = 0) => EV_SET(ident, EVFILT_TIMER, flags, fflags, data, udata);
function change(kq: number, ...c: sys.kevent_t[]): void { assert.deepEqual(kevent(kq, c, 0, ZERO), []); }
/** Waits (in the kernel, not a bare sleep) for ms. */
function pause(ms: number): void { const k = kqueue(); kevent(k, null, 1, { tv_sec: 0, tv_nsec: ms * 1e6 }); close(k); }
function get(kq: number): sys.kevent_t {
  const r = kevent(kq, null, 1, LONG);
  assert.equal(r.length, 1, 'an event within 10 s');
  return r[0]!;
}

// libkqueue timer.c: add, del, get
test('timer: add then delete; EV_CLEAR is set automatically; first event never early', () => {
  const kq = kqueue();
  const t0 = now();
  change(kq, timer(1, EV_ADD, 100, 0, 3.5));
  const e = get(kq);
  const dt = now() - t0;
  assert.ok(dt >= 99.9, `fired after ${dt} ms for a 100 ms period`);
  assert.equal(e.ident, 1); assert.equal(e.filter, EVFILT_TIMER);
  assert.equal(e.flags, EV_ADD | EV_CLEAR); assert.equal(e.fflags, 0); assert.equal(e.udata, 3.5);
  assert.ok(e.data >= 1);
  change(kq, timer(1, EV_DELETE, 0));
  assert.deepEqual(kevent(kq, null, 1, ZERO), []);
  assert.equal(kevent(kq, [timer(999, EV_DELETE, 0)], 1, ZERO)[0]!.data, E.ENOENT, 'delete of a never-added timer');
  close(kq);
});

test('timer: periodic; data counts the expirations since the last retrieval, from elapsed time', () => {
  const kq = kqueue();
  const p = 20;
  const tBefore = now();
  change(kq, timer(3, EV_ADD, p));
  const tAfter = now();
  let sum = 0;
  sum += get(kq).data;
  pause(130);
  const r = kevent(kq, null, 4, ZERO);
  assert.equal(r.length, 1, 'one event carries every expiration');
  assert.ok(r[0]!.data >= 4, `data ${r[0]!.data} after ~130 ms of a 20 ms timer`);
  sum += r[0]!.data;
  sum += get(kq).data; // blocks until the next expiry
  const tRet = now();
  assert.ok(sum <= Math.floor((tRet - tBefore) / p), `never early: ${sum} expirations in ${tRet - tBefore} ms`);
  assert.ok(sum >= Math.floor((tRet - tAfter) / p) - 2, `none lost: ${sum} expirations in ${tRet - tAfter} ms`);
  close(kq);
});

test('timer: a nanosecond period counts millions of expirations without as many wake-ups', () => {
  const kq = kqueue();
  const t0 = now();
  change(kq, timer(1, EV_ADD, 1, sys.NOTE_NSECONDS));
  // Collect until 20 ms worth of expirations came (a loaded machine may
  // run the clock thread late: the count then arrives in later firings).
  // Never more than elapsed time allows, and far fewer collections than
  // expirations: they are counted from elapsed time, not one per wake-up.
  let total = 0, collects = 0;
  while (total < 20e6 && now() - t0 < 10_000) { total += get(kq).data; collects++; }
  const dt = now() - t0;
  assert.ok(total >= 20e6 && total <= dt * 1e6, `${total} expirations over ${dt} ms`);
  assert.ok(collects < total / 1000, `${collects} collections for ${total} expirations`);
  close(kq);
});

test('timer: EV_ONESHOT fires once with data 1 and is deleted', () => {
  const kq = kqueue();
  const base = kstat('kqueue')['kqueue.timer_knotes']!;
  change(kq, timer(2, EV_ADD | EV_ONESHOT, 30, 0, 8));
  assert.equal(kstat('kqueue')['kqueue.timer_knotes'], base + 1);
  assert.deepEqual(get(kq), { ident: 2, filter: EVFILT_TIMER, flags: EV_ADD | EV_CLEAR | EV_ONESHOT, fflags: 0, data: 1, udata: 8 });
  assert.deepEqual(kevent(kq, null, 1, { tv_sec: 0, tv_nsec: 100e6 }), []);
  assert.equal(kevent(kq, [timer(2, EV_DELETE, 0)], 1, ZERO)[0]!.data, E.ENOENT);
  assert.equal(kstat('kqueue')['kqueue.timer_knotes'], base);
  close(kq);
});

test('timer: a zero period means one unit; a zero oneshot fires at once', () => {
  const kq = kqueue();
  change(kq, timer(1, EV_ADD | EV_ONESHOT, 0));
  assert.equal(get(kq).data, 1);
  // One unit is 1 ms: ten expirations take about 10 ms, and never fewer
  // milliseconds than there are expirations. Counted over as many
  // retrievals as it takes (a deadline, not one look after a pause: data
  // counts the expirations up to the clock thread's last firing, and on a
  // loaded machine it fired late: 'data >= 10' after a 20 ms pause failed).
  const t0 = now();
  change(kq, timer(2, EV_ADD, 0));
  let n = 0;
  while (n < 10 && now() - t0 < 5_000) n += get(kq).data;
  const ms = now() - t0;
  assert.ok(n >= 10, `ten expirations within 5 s (${n})`);
  assert.ok(n <= ms + 1, `no more expirations than milliseconds (${n} in ${ms.toFixed(1)} ms)`);
  close(kq);
});

test('timer: deleting stops it; closing the kqueue frees its timers', () => {
  const kq = kqueue();
  const base = kstat('kqueue')['kqueue.timer_knotes']!;
  change(kq, timer(1, EV_ADD, 10), timer(2, EV_ADD, 10), timer(3, EV_ADD, 10));
  change(kq, timer(1, EV_DELETE, 0));
  // Until both others fired (a deadline, not a pause: a loaded machine may
  // run the clock thread late); the deleted one never comes.
  const seen = new Set<number>();
  const t0 = now();
  while ((!seen.has(2) || !seen.has(3)) && now() - t0 < 10_000) {
    for (const e of kevent(kq, null, 8, { tv_sec: 1, tv_nsec: 0 })) seen.add(e.ident);
  }
  pause(30);
  for (const e of kevent(kq, null, 8, ZERO)) seen.add(e.ident);
  assert.deepEqual([...seen].sort(), [2, 3]);
  close(kq);
  assert.equal(kstat('kqueue')['kqueue.timer_knotes'], base);
});

test('timer: disable and enable (libkqueue): a oneshot disabled then enabled still fires', () => {
  const kq = kqueue();
  change(kq, timer(4, EV_ADD | EV_ONESHOT, 100));
  change(kq, timer(4, EV_DISABLE, 0));
  assert.deepEqual(kevent(kq, null, 1, ZERO), []);
  change(kq, timer(4, EV_ENABLE, 0));
  assert.deepEqual(get(kq), { ident: 4, filter: EVFILT_TIMER, flags: EV_ADD | EV_CLEAR | EV_ONESHOT, fflags: 0, data: 1, udata: 0 });
  close(kq);
});

test('timer: expirations while disabled are kept and delivered on enable', () => {
  const kq = kqueue();
  change(kq, timer(1, EV_ADD | EV_DISABLE, 20));
  pause(300); // >= 3 periods counted even if the clock thread runs late
  assert.deepEqual(kevent(kq, null, 1, ZERO), []);
  change(kq, timer(1, EV_ENABLE, 20));
  const r = kevent(kq, null, 1, ZERO);
  assert.equal(r.length, 1, 'pending at once');
  assert.ok(r[0]!.data >= 3, `data ${r[0]!.data}`);
  close(kq);
});

test('timer: EV_DISPATCH (libkqueue) disables after each delivery; enabling delivers what accumulated (seed)', () => {
  const kq = kqueue();
  change(kq, timer(4, EV_ADD | EV_DISPATCH, 40));
  const e = get(kq);
  assert.equal(e.flags, EV_ADD | EV_CLEAR | EV_DISPATCH);
  assert.ok(e.data >= 1);
  pause(400); // >= 3 periods counted even if the clock thread runs late
  assert.deepEqual(kevent(kq, null, 1, ZERO), [], 'disabled by dispatch');
  change(kq, timer(4, EV_ENABLE | EV_DISPATCH, 40));
  const r = kevent(kq, null, 1, ZERO);
  assert.equal(r.length, 1, 'the expirations counted while disabled are pending at once');
  assert.ok(r[0]!.data >= 3, `data ${r[0]!.data}`);
  assert.deepEqual(kevent(kq, null, 1, ZERO), [], 'disabled again');
  change(kq, timer(4, EV_DELETE, 0));
  pause(100);
  assert.deepEqual(kevent(kq, null, 1, ZERO), []);
  close(kq);
});

test('timer: NOTE_* units (libkqueue unit checks); several units at once or a negative period is EINVAL', () => {
  const kq = kqueue();
  const cases: [number, number, number][] = [
    [50_000, sys.NOTE_USECONDS, 50], [50e6, sys.NOTE_NSECONDS, 50], [50, sys.NOTE_MSECONDS, 50], [50, 0, 50], [1, sys.NOTE_SECONDS, 1000],
  ];
  for (const [data, fflags, ms] of cases) {
    const t0 = now();
    change(kq, timer(100, EV_ADD | EV_ONESHOT, data, fflags));
    const e = get(kq);
    const dt = now() - t0;
    assert.equal(e.ident, 100);
    assert.equal(e.fflags, 0, 'a timer reports no fflags');
    assert.ok(dt >= ms - 0.1, `fflags ${fflags}: fired after ${dt} ms, wanted ${ms}`);
  }
  const r = kevent(kq, [timer(1, EV_ADD, 10, sys.NOTE_SECONDS | sys.NOTE_USECONDS), timer(2, EV_ADD, -5)], 4, ZERO);
  assert.deepEqual(r.map((e) => [e.flags, e.data]), [[EV_ERROR, E.EINVAL], [EV_ERROR, E.EINVAL]]);
  close(kq);
});

test('timer: NOTE_ABSTIME fires once at a CLOCK_REALTIME deadline; one in the past fires at once', () => {
  const kq = kqueue();
  const t0 = now();
  change(kq, timer(1, EV_ADD, Date.now() + 100, sys.NOTE_ABSTIME));
  const e = get(kq);
  assert.ok(now() - t0 >= 98, 'not before the deadline (Date.now() has ms resolution)');
  assert.equal(e.data, 1);
  assert.deepEqual(kevent(kq, null, 1, { tv_sec: 0, tv_nsec: 150e6 }), [], 'does not repeat');
  change(kq, timer(2, EV_ADD, 1, sys.NOTE_ABSTIME | sys.NOTE_SECONDS));
  assert.equal(get(kq).ident, 2);
  close(kq);
});

test('timer: a modify changes period and udata; the new period applies from the next expiry (seed)', () => {
  const kq = kqueue();
  change(kq, timer(80, EV_ADD, 250, 0, 1));
  const t0 = now();
  change(kq, timer(80, EV_ADD, 20, 0, 2)); // modify: udata clobbered, period stored
  const e = get(kq);
  const late = now() - t0 - 250; // how long after the first expiry we got to collect it
  assert.ok(now() - t0 >= 200, 'the first expiry keeps the old period');
  assert.equal(e.udata, 2);
  // Expirations are counted from elapsed time: 1, plus one per 20 ms period
  // that passed before a loaded machine let us collect it (had the new
  // period applied from the modify, there would be ~12 already).
  assert.ok(e.data >= 1 && e.data <= 2 + Math.max(0, Math.ceil(late / 20)), `data ${e.data}, collected ${late.toFixed(1)} ms after the first expiry`);
  pause(150);
  const r = kevent(kq, null, 1, ZERO);
  assert.ok(r.length === 1 && r[0]!.data >= 4, 'then it runs at the new period');
  close(kq);
});

test('timer: EV_RECEIPT stays in the knote flags across modifies (libkqueue)', () => {
  const kq = kqueue();
  const rc = kevent(kq, [timer(77, EV_ADD | EV_RECEIPT | EV_ONESHOT, 3_600_000)], 1, null);
  assert.deepEqual(rc.map((e) => [e.flags, e.data]), [[EV_ERROR, 0]]);
  change(kq, timer(77, EV_ADD | EV_ONESHOT, 3_600_000));
  change(kq, timer(77, EV_DELETE, 0));
  const r2 = kevent(kq, [timer(78, EV_ADD | EV_RECEIPT | EV_ONESHOT, 10)], 1, null);
  assert.equal(r2[0]!.flags, EV_ERROR);
  assert.equal(get(kq).flags, EV_ADD | EV_RECEIPT | EV_ONESHOT | EV_CLEAR);
  close(kq);
});

test('timer: many timers on one kqueue each fire', () => {
  const kq = kqueue();
  const n = 200;
  change(kq, ...Array.from({ length: n }, (_, i) => timer(i, EV_ADD | EV_ONESHOT, 5 + (i % 20), 0, i)));
  const seen = new Set<number>();
  const end = now() + 10_000;
  while (seen.size < n && now() < end) for (const e of kevent(kq, null, 64, { tv_sec: 1, tv_nsec: 0 })) { assert.ok(!seen.has(e.ident)); seen.add(e.ident); }
  assert.equal(seen.size, n);
  close(kq);
});

test('timer: kevent_async wakes on a timer without blocking the event loop', async () => {
  // What must hold: the event loop turns while the wait is pending. Shown by
  // causality, not by a timer firing in time on a loaded machine: the timer
  // that wakes the wait (ident 1) is registered only from a setImmediate,
  // i.e. after the loop turned with the wait still pending. A kevent_async
  // that blocked the thread could only return once the safety timer (ident
  // 9, 5 s) fired, with a promise settled before any turn of the loop.
  const kq = kqueue();
  change(kq, timer(9, EV_ADD | EV_ONESHOT, 5000));
  let settled = false;
  let turnsWhilePending = 0;
  const w = sys.kevent_async(kq, null, 1, null);
  void w.then(() => { settled = true; }, () => { settled = true; });
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      if (!settled) turnsWhilePending++;
      if (turnsWhilePending < 3 && !settled) { setImmediate(turn); return; }
      resolve();
    };
    setImmediate(turn);
  });
  assert.equal(turnsWhilePending, 3, 'the event loop turned while kevent_async waited');
  change(kq, timer(1, EV_ADD | EV_ONESHOT, 1));
  const r = await w;
  assert.equal(r[0]!.ident, 1, 'woken by the timer registered while it waited');
  close(kq);
});
