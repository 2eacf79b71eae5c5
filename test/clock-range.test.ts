/**
 * Time ranges: every clock and timer value is checked against what a signed
 * 64-bit nanosecond time holds (±9 223 372 036 s), reads back exactly, and
 * keeps "never early" at magnitudes where a double has no nanoseconds left.
 * Its own file (its own process): it drives CLOCK_MANUAL to the top of its
 * range, from where it can never come back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { TIME_SEC_MAX } from '../src/kern/time.js';


sys.boot({ timer_max: 16 });

const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;
const ts = (tv_sec: number, tv_nsec: number): sys.Timespec => ({ tv_sec, tv_nsec });
const Z = ts(0, 0);
const spec = (value: sys.Timespec, interval: sys.Timespec = Z): sys.Itimerspec => ({ it_value: value, it_interval: interval });
const M = sys.CLOCK_MANUAL;
const DELAYTIMER_MAX = 0x7fffffff;
const valid = (t: sys.Timespec) => Number.isSafeInteger(t.tv_sec) && Number.isInteger(t.tv_nsec) && t.tv_nsec >= 0 && t.tv_nsec < 1e9;
const portTimer = (clock: number, port: number, user: number) =>
  sys.timer_create(clock, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: user } });
const poll = (port: number) => sys.port_getn(port, 16, 1, Z);

test('CLOCK_MANUAL rejects times no 64-bit time_t holds and stays settable', () => {
  const before = sys.clock_gettime(M);
  for (const s of [1e300, 2 ** 53, TIME_SEC_MAX + 1, Infinity, NaN]) {
    assert.throws(() => sys.clock_settime(M, ts(s, 0)), code('EINVAL'), `tv_sec ${s}`);
  }
  assert.deepEqual(sys.clock_gettime(M), before, 'unchanged');
  sys.clock_settime(M, ts(before.tv_sec + 1, 0));
  assert.deepEqual(sys.clock_gettime(M), ts(before.tv_sec + 1, 0));
  assert.throws(() => sys.clock_advance(M, ts(1e300, 0)), code('EINVAL'));
  assert.throws(() => sys.clock_advance(M, ts(0, 1.5)), code('EINVAL'));
});

test('an overrun beyond DELAYTIMER_MAX reads DELAYTIMER_MAX', () => {
  const port = sys.port_create();
  const t = portTimer(M, port, 1);
  sys.timer_settime(t, 0, spec(ts(0, 1), ts(0, 1)));
  sys.clock_advance(M, ts(3, 0)); // 3e9 expirations of a 1 ns period
  const ev = poll(port);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.portev_events, DELAYTIMER_MAX);
  assert.equal(sys.timer_getoverrun(t), DELAYTIMER_MAX);
  sys.timer_delete(t);
  sys.close(port);
});

test('real clocks: absolute deadlines far in the past fire at once, far in the future stay armed (never NaN)', () => {
  const port = sys.port_create();
  for (const clock of [sys.CLOCK_REALTIME, sys.CLOCK_MONOTONIC]) {
    const t = portTimer(clock, port, clock);
    sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(0, 1)));
    const ev = sys.port_getn(port, 1, 1, ts(5, 0));
    assert.equal(ev.length, 1, `clock ${clock}: a deadline in the past fires`);
    for (const far of [ts(TIME_SEC_MAX, 999_999_999), ts(TIME_SEC_MAX - 12_345, 678)]) {
      sys.timer_settime(t, sys.TIMER_ABSTIME, spec(far, ts(TIME_SEC_MAX, 999_999_999)));
      const g = sys.timer_gettime(t);
      assert.ok(valid(g.it_value) && valid(g.it_interval), `clock ${clock}: ${JSON.stringify(g)}`);
      const now = sys.clock_gettime(clock);
      // Time left, to within the microsecond a double keeps at 2^63 ns.
      assert.ok(Math.abs((g.it_value.tv_sec - (far.tv_sec - now.tv_sec)) * 1e9) <= 1e9, JSON.stringify(g));
    }
    // Relative: a large value is armed; one whose expiry would pass the range is EOVERFLOW.
    sys.timer_settime(t, 0, spec(ts(TIME_SEC_MAX - 2e9, 5)));
    assert.ok(valid(sys.timer_gettime(t).it_value));
    assert.throws(() => sys.timer_settime(t, 0, spec(ts(TIME_SEC_MAX, 999_999_999))), code('EOVERFLOW'));
    assert.deepEqual(sys.timer_gettime(t), spec(Z, Z));
    assert.equal(poll(port).length, 0, 'nothing else fired');
    sys.timer_delete(t);
  }
  sys.close(port);
});

test('CLOCK_MANUAL near 2^63 ns: exact tv_nsec, never early, advance stops at the top', () => {
  const port = sys.port_create();
  const t = portTimer(M, port, 5);
  const X = ts(9_000_000_000, 123_456_789);
  sys.clock_settime(M, X);
  assert.deepEqual(sys.clock_gettime(M), X, 'reads back exactly');
  sys.clock_advance(M, ts(0, 1));
  assert.deepEqual(sys.clock_gettime(M), ts(X.tv_sec, X.tv_nsec + 1));
  // One nanosecond ahead, where a double's step is 1024 ns: not early.
  const now = sys.clock_gettime(M);
  sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(now.tv_sec, now.tv_nsec + 1)));
  assert.equal(poll(port).length, 0, 'not fired at once');
  const g = sys.timer_gettime(t);
  assert.ok(valid(g.it_value) && (g.it_value.tv_sec > 0 || g.it_value.tv_nsec > 0), JSON.stringify(g));
  sys.clock_advance(M, ts(0, 2048));
  assert.equal(poll(port).length, 1, 'fired once its time passed');
  // A periodic timer in the past at this magnitude does not loop: it fires and re-arms ahead.
  sys.timer_settime(t, sys.TIMER_ABSTIME, spec(ts(1, 0), ts(0, 1)));
  assert.equal(poll(port)[0]!.portev_events, DELAYTIMER_MAX);
  const g2 = sys.timer_gettime(t);
  assert.ok(valid(g2.it_value), JSON.stringify(g2));
  sys.timer_settime(t, 0, spec(Z));
  // The top of the range.
  const TOP = ts(TIME_SEC_MAX, 999_999_999);
  sys.timer_settime(t, sys.TIMER_ABSTIME, spec(TOP));
  sys.clock_settime(M, ts(TIME_SEC_MAX, 999_999_998));
  assert.deepEqual(sys.clock_gettime(M), ts(TIME_SEC_MAX, 999_999_998));
  assert.throws(() => sys.clock_advance(M, ts(0, 2)), code('EOVERFLOW'));
  assert.deepEqual(sys.clock_gettime(M), ts(TIME_SEC_MAX, 999_999_998), 'unchanged by the failed advance');
  sys.clock_advance(M, ts(0, 1));
  assert.deepEqual(sys.clock_gettime(M), TOP);
  assert.equal(poll(port).length, 1, 'a timer at the last nanosecond fires');
  assert.throws(() => sys.clock_advance(M, ts(0, 1)), code('EOVERFLOW'));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(0, 1))), code('EOVERFLOW'));
  assert.throws(() => sys.clock_settime(M, ts(0, 0)), code('EINVAL'), 'never back');
  sys.clock_settime(M, TOP); // setting it to where it is is allowed
  sys.timer_delete(t);
  sys.close(port);
});
