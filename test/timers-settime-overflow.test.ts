/**
 * timer_settime's EOVERFLOW (a relative expiry beyond the largest 64-bit
 * time): the timer is left disarmed, as docs/sys.md says, and reads as any
 * disarmed timer does: the interval of the call that failed is not its.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';

sys.boot({});

const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;
const ts = (tv_sec: number, tv_nsec: number): sys.Timespec => ({ tv_sec, tv_nsec });
const Z = ts(0, 0);
const spec = (value: sys.Timespec, interval: sys.Timespec = Z): sys.Itimerspec => ({ it_value: value, it_interval: interval });

test('EOVERFLOW leaves the timer disarmed with no interval: the rejected one is not reported', () => {
  sys.clock_advance(sys.CLOCK_MANUAL, ts(10, 0));
  const t = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_NONE });
  sys.timer_settime(t, 0, spec(ts(100, 0), ts(3, 0)));
  assert.throws(() => sys.timer_settime(t, 0, spec(ts(9_223_372_035, 999_999_999), ts(7, 0))), code('EOVERFLOW'));
  assert.deepEqual(sys.timer_gettime(t), spec(Z, Z), 'disarmed, no interval');
  assert.deepEqual(sys.timer_settime(t, 0, spec(Z)), spec(Z, Z), 'the old setting a later call reports');
  sys.timer_delete(t);
});
