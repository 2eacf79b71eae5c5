/**
 * POSIX timers through ukern/sys (public behaviour), after illumos timer.c:
 * overrun arithmetic, absolute times in the past, re-arming and disarming
 * with an event queued, delete, port close, SIGEV_NONE, every errno path,
 * timer_max, and the real clock (SIGEV_THREAD and SIGEV_PORT, never early,
 * expirations counted from elapsed time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until, within } from './helpers.js';

sys.boot({ timer_max: 64 });

const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;
const ts = (tv_sec: number, tv_nsec: number): sys.Timespec => ({ tv_sec, tv_nsec });
const Z = ts(0, 0);
const spec = (value: sys.Timespec, interval: sys.Timespec = Z): sys.Itimerspec => ({ it_value: value, it_interval: interval });
const M = sys.CLOCK_MANUAL;
const monoNs = () => { const t = sys.clock_gettime(sys.CLOCK_MONOTONIC); return t.tv_sec * 1e9 + t.tv_nsec; };
const adv = (nsec: number) => sys.clock_advance(M, ts(Math.floor(nsec / 1e9), nsec % 1e9));
const poll = (port: number) => sys.port_getn(port, 16, 1, Z);
const portTimer = (clock: number, port: number, user: number) =>
  sys.timer_create(clock, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: user } });

test('overrun arithmetic on the manual clock: expirations folded into one event', () => {
  const port = sys.port_create();
  const t = portTimer(M, port, 7.25);
  sys.timer_settime(t, 0, spec(ts(0, 1000), ts(0, 100)));
  adv(999);
  assert.equal(poll(port).length, 0, 'not early by 1 ns');
  adv(1);
  let ev = poll(port);
  assert.equal(ev.length, 1);
  assert.deepEqual({ ...ev[0]! }, { portev_events: 1, portev_source: sys.PORT_SOURCE_TIMER, portev_object: t, portev_user: 7.25 });
  assert.equal(sys.timer_getoverrun(t), 0);
  adv(1050); // boundaries at +100 .. +1000: 10 expirations
  adv(30);   // 1080 in: no new boundary
  ev = poll(port);
  assert.equal(ev.length, 1, 'one queued event per timer');
  assert.equal(ev[0]!.portev_events, 10);
  assert.equal(sys.timer_getoverrun(t), 9);
  // Time left to the next boundary is exact.
  assert.deepEqual(sys.timer_gettime(t), spec(ts(0, 20), ts(0, 100)));
  adv(1e9); // 10^7 periods at once, computed, not counted
  ev = poll(port);
  assert.equal(ev[0]!.portev_events, 1e7);
  sys.timer_delete(t);
  sys.close(port);
});

test('an absolute time in the past fires at once; gettime and the old value', () => {
  const port = sys.port_create();
  const t = portTimer(M, port, 1);
  const now = sys.clock_gettime(M);
  assert.deepEqual(sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(now.tv_sec, 0))), spec(Z, Z));
  const ev = poll(port);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.portev_events, 1);
  assert.deepEqual(sys.timer_gettime(t), spec(Z, Z), 'a fired one-shot is disarmed');
  // Absolute in the future, periodic.
  const n0 = sys.clock_gettime(M);
  assert.deepEqual(sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(n0.tv_sec + 5, n0.tv_nsec), ts(1, 0))), spec(Z, Z));
  assert.deepEqual(sys.timer_gettime(t), spec(ts(5, 0), ts(1, 0)));
  // Past absolute with an interval: the expirations already elapsed count.
  const old = sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(n0.tv_sec - 3 >= 0 ? n0.tv_sec - 3 : 0, n0.tv_nsec), ts(1, 0)));
  assert.deepEqual(old, spec(ts(5, 0), ts(1, 0)));
  const e2 = poll(port);
  assert.equal(e2[0]!.portev_events, n0.tv_sec >= 3 ? 4 : n0.tv_sec + 1);
  sys.timer_delete(t);
  sys.close(port);
});

test('re-arming moves the deadline; disarm with an event queued keeps the event', () => {
  const port = sys.port_create();
  const t = portTimer(M, port, 2);
  sys.timer_settime(t, 0, spec(ts(0, 500)));
  sys.timer_settime(t, 0, spec(ts(0, 2000))); // re-arm later
  adv(1000);
  assert.equal(poll(port).length, 0);
  adv(1000);
  assert.equal(poll(port)[0]!.portev_events, 1);
  // Queue one, then disarm: the event stays and is delivered.
  sys.timer_settime(t, 0, spec(ts(0, 10), ts(0, 10)));
  adv(35);
  const old = sys.timer_settime(t, 0, spec(Z, ts(0, 5)));
  assert.deepEqual(old.it_interval, ts(0, 10));
  assert.deepEqual(sys.timer_gettime(t), spec(Z, Z));
  adv(1000);
  const ev = poll(port);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.portev_events, 3);
  sys.timer_delete(t);
  sys.close(port);
});

test('delete with an event queued withdraws it; later calls are EINVAL', () => {
  const port = sys.port_create();
  const t = portTimer(M, port, 3);
  sys.timer_settime(t, 0, spec(ts(0, 10)));
  adv(10);
  assert.equal(sys.port_getn(port, 0, 0, Z).nget, 1);
  sys.timer_delete(t);
  assert.equal(sys.port_getn(port, 0, 0, Z).nget, 0);
  assert.equal(poll(port).length, 0);
  assert.throws(() => sys.timer_delete(t), code('EINVAL'));
  assert.throws(() => sys.timer_gettime(t), code('EINVAL'));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(1, 0))), code('EINVAL'));
  assert.throws(() => sys.timer_getoverrun(t), code('EINVAL'));
  sys.close(port);
});

test('closing the port turns the notification off; the timer lives on', () => {
  const port = sys.port_create();
  const t = portTimer(M, port, 4);
  sys.timer_settime(t, 0, spec(ts(0, 10), ts(0, 10)));
  adv(25);
  sys.close(port);
  adv(100);
  const g = sys.timer_gettime(t);
  assert.deepEqual(g.it_interval, ts(0, 10));
  assert.ok(g.it_value.tv_nsec > 0);
  const p2 = sys.port_create();
  adv(100);
  assert.equal(sys.port_getn(p2, 0, 0, Z).nget, 0);
  sys.timer_delete(t);
  sys.close(p2);
});

test('SIGEV_NONE and the default sigevent; invalid interval only matters when arming', () => {
  const t = sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE });
  sys.timer_settime(t, 0, spec(Z, ts(0, 2e9))); // disarming: a bad interval is fine
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(1, 0), ts(0, 2e9))), code('EINVAL'));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(0, 1e9))), code('EINVAL'));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(-1, 0))), code('EINVAL'));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(0, -1))), code('EINVAL'));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(1, 0), ts(-1, 0))), code('EINVAL'));
  // Beyond what a 64-bit nanosecond time holds: EINVAL (as Linux); a valid
  // relative time whose expiry would pass that range: EOVERFLOW.
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(1e10, 0), ts(1e10, 0))), code('EINVAL'));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(9_223_372_035, 999_999_999))), code('EOVERFLOW'));
  assert.deepEqual(sys.timer_gettime(t), spec(Z, Z), 'EOVERFLOW leaves it disarmed');
  assert.throws(() => sys.timer_settime(t, 0, null as unknown as sys.Itimerspec), TypeError);
  assert.throws(() => sys.timer_settime(t, 'x' as unknown as number, spec(ts(1, 0))), TypeError);
  sys.timer_settime(t, 0, spec(ts(0, 5)));
  adv(10);
  assert.deepEqual(sys.timer_gettime(t), spec(Z, Z));
  assert.equal(sys.timer_getoverrun(t), 0);
  sys.timer_delete(t);
  const d = sys.timer_create(sys.CLOCK_REALTIME, null);
  sys.timer_settime(d, 0, spec(ts(100, 0)));
  const g = sys.timer_gettime(d);
  assert.ok(g.it_value.tv_sec >= 99 && g.it_value.tv_sec <= 100);
  sys.timer_delete(d);
  const s = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: 14, sigev_value: 3 });
  sys.timer_delete(s);
});

test('timer_create errno paths', () => {
  assert.throws(() => sys.timer_create(6, null), code('EINVAL'));
  assert.throws(() => sys.timer_create('x' as unknown as number, null), TypeError);
  assert.throws(() => sys.timer_create(sys.CLOCK_THREAD_CPUTIME_ID, null), code('EINVAL'));
  assert.throws(() => sys.timer_create(sys.CLOCK_PROCESS_CPUTIME_ID, { sigev_notify: sys.SIGEV_NONE }), code('EINVAL'));
  assert.throws(() => sys.timer_create(sys.CLOCK_VIRTUAL, null), code('EINVAL'));
  assert.throws(() => sys.timer_create(M, { sigev_notify: 9 }), code('EINVAL'));
  assert.throws(() => sys.timer_create(M, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: 0 }), code('EINVAL'));
  assert.throws(() => sys.timer_create(M, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sys.NSIG }), code('EINVAL'));
  assert.throws(() => sys.timer_create(M, { sigev_notify: sys.SIGEV_THREAD }), TypeError);
  assert.throws(() => sys.timer_create(M, { sigev_notify: sys.SIGEV_PORT }), TypeError);
  assert.throws(() => portTimer(M, 12345678, 0), code('EBADF'));
  const kq = sys.kqueue();
  // Another kind of descriptor: the port layer's "not a port" error (EBADFD on illumos).
  assert.throws(() => portTimer(M, kq, 0), (e: unknown) => e instanceof Error);
  sys.close(kq);
  for (const f of [sys.timer_gettime, sys.timer_getoverrun, sys.timer_delete]) {
    assert.throws(() => f(-1), code('EINVAL'));
    assert.throws(() => f(64), code('EINVAL'));
    assert.throws(() => f(63), code('EINVAL'));
    assert.throws(() => f(1.5), code('EINVAL'));
    assert.throws(() => f('1' as unknown as number), TypeError);
  }
  // No timer leaked by the failures above.
  assert.equal(sys.kstat('timer')['timer.created']! - sys.kstat('timer')['timer.deleted']!, 0);
});

test('timer_max: EAGAIN, and ids come back after delete', () => {
  const ids: number[] = [];
  for (;;) {
    try { ids.push(sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE })); } catch (e) { assert.ok(code('EAGAIN')(e)); break; }
  }
  assert.equal(ids.length, 64);
  assert.equal(new Set(ids).size, 64);
  sys.timer_delete(ids[10]!);
  const again = sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE });
  assert.equal(again, ids[10]);
  ids[10] = again;
  // A failing SIGEV_PORT creation gives its id back too.
  assert.throws(() => portTimer(M, 12345678, 0), code('EAGAIN'));
  for (const id of ids) sys.timer_delete(id);
});

test('real clock: SIGEV_THREAD periodic, on this thread, never early, overrun reported', async () => {
  const fires: number[] = [];
  let start = 0;
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, {
    sigev_notify: sys.SIGEV_THREAD, sigev_value: 11,
    sigev_notify_function: (v) => { assert.equal(v, 11); fires.push(performance.now()); },
  });
  start = performance.now();
  sys.timer_settime(t, 0, spec(ts(0, 5e6), ts(0, 5e6)));
  await until(() => fires.length >= 5, 10000, 'five deliveries');
  sys.timer_settime(t, 0, spec(Z));
  assert.ok(fires[0]! - start >= 5 - 0.01, `first fire at ${fires[0]! - start} ms`);
  const overrun = sys.timer_getoverrun(t);
  assert.ok(overrun >= 0);
  sys.timer_delete(t);
});

test('real clock: one-shot SIGEV_PORT with port_get, absolute realtime deadline', async () => {
  const port = sys.port_create();
  const t = portTimer(sys.CLOCK_REALTIME, port, 9);
  const now = sys.clock_gettime(sys.CLOCK_REALTIME);
  const due = now.tv_sec * 1e9 + now.tv_nsec + 20e6;
  sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(Math.floor(due / 1e9), due % 1e9)));
  const hint = sys.timer_port_deadline(port) - monoNs();
  assert.ok(hint > 0 && hint <= 20e6 + 1e6, `deadline hint ${hint} ns ahead`);
  const ev = await within(sys.port_get_async(port, ts(10, 0)), 12000, 'port_get');
  const got = sys.clock_gettime(sys.CLOCK_REALTIME);
  assert.ok(got.tv_sec * 1e9 + got.tv_nsec >= due - 1000, 'not early'); // 1 µs: double rounding of the wall clock
  assert.equal(ev.portev_object, t);
  assert.equal(ev.portev_events, 1);
  assert.equal(sys.timer_port_deadline(port), Infinity, 'no upcoming expiry after a one-shot');
  sys.timer_delete(t);
  sys.close(port);
});

test('real clock: 250 µs periodic, expirations counted from elapsed time', async () => {
  const port = sys.port_create();
  const t = portTimer(sys.CLOCK_MONOTONIC, port, 0);
  const P = 250_000;
  const t0 = sys.clock_gettime(sys.CLOCK_MONOTONIC);
  sys.timer_settime(t, 0, spec(ts(0, P), ts(0, P)));
  let total = 0;
  const ns = (a: sys.Timespec, b: sys.Timespec) => (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
  // Never ahead of elapsed time (a timer never fires early), checked at every delivery.
  const take = (evs: readonly sys.port_event_t[]) => {
    for (const e of evs) total += e.portev_events;
    const bound = Math.floor(ns(t0, sys.clock_gettime(sys.CLOCK_MONOTONIC)) / P) + 1;
    assert.ok(total <= bound, `expirations ${total} ran ahead of elapsed/period ${bound - 1}`);
  };
  const end = Date.now() + 300;
  while (Date.now() < end) take(await sys.port_getn_async(port, 16, 1, ts(1, 0)));
  // And not behind it: a loaded machine may delay the clock thread, but the
  // expirations it then folds into one event are counted from elapsed time,
  // so the count catches up with every period that passed before t1.
  const t1 = sys.clock_gettime(sys.CLOCK_MONOTONIC);
  const want = Math.floor(ns(t0, t1) / P);
  const deadline = Date.now() + 5000;
  while (total < want - 1 && Date.now() < deadline) take(await sys.port_getn_async(port, 16, 1, ts(1, 0)));
  sys.timer_settime(t, 0, spec(Z));
  assert.ok(total >= want - 1, `expirations ${total} behind elapsed/period ${want}`);
  sys.timer_delete(t);
  sys.close(port);
});

test('timers of one deadline fire in the order armed; one armed again goes after the rest (manual and monotonic clocks)', async () => {
  // Manual clock: exact, no time passes between the arms and the advance.
  {
    const port = sys.port_create();
    const tids = Array.from({ length: 12 }, (_, i) => portTimer(M, port, i));
    for (const t of tids) sys.timer_settime(t, 0, spec(ts(0, 5000)));
    sys.timer_settime(tids[3]!, 0, spec(ts(0, 5000))); // armed again: now the last of the deadline
    adv(5000);
    const users: number[] = [];
    for (let e = poll(port); e.length > 0; e = poll(port)) users.push(...e.map((x) => x.portev_user as number));
    assert.deepEqual(users, [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 3]);
    for (const t of tids) sys.timer_delete(t);
    sys.close(port);
  }
  // CLOCK_MONOTONIC, one absolute deadline 30 ms ahead (it was 0, 11, 10, ..., 1).
  {
    const port = sys.port_create();
    const tids = Array.from({ length: 12 }, (_, i) => portTimer(sys.CLOCK_MONOTONIC, port, i));
    const at = monoNs() + 30e6;
    for (const t of tids) sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(Math.floor(at / 1e9), at % 1e9)));
    const users: number[] = [];
    const end = Date.now() + 10_000;
    while (users.length < 12 && Date.now() < end) users.push(...sys.port_getn(port, 12, 1, ts(1, 0)).map((x) => x.portev_user as number));
    assert.deepEqual(users, Array.from({ length: 12 }, (_, i) => i));
    for (const t of tids) sys.timer_delete(t);
    sys.close(port);
  }
});
