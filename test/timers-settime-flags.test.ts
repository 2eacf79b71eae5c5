/**
 * timer_settime's flags are a flags argument of docs/sys.md's conventions:
 * any integer in [-2^31, 2^32), its low 32 bits kept, as C's conversion to
 * int keeps them. The call took only [-2^31, 2^31), and an unsigned value
 * with the top bit set (0x80000000 | TIMER_ABSTIME, ~0 >>> 0) was EINVAL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

sys.boot({});
const M = sys.CLOCK_MANUAL;
const Z = { tv_sec: 0, tv_nsec: 0 };
const at = (s: number): sys.Itimerspec => ({ it_value: { tv_sec: s, tv_nsec: 0 }, it_interval: Z });

test('flags in [2^31, 2^32) are taken as their low 32 bits', () => {
  const id = sys.timer_create(M, { sigev_notify: sys.SIGEV_NONE });
  try {
    sys.clock_settime(M, { tv_sec: 100, tv_nsec: 0 });
    // TIMER_ABSTIME among the bits: absolute (200 - 100 = 100 s left).
    sys.timer_settime(id, 0xffffffff, at(200));
    assert.deepEqual(sys.timer_gettime(id).it_value, { tv_sec: 100, tv_nsec: 0 });
    sys.timer_settime(id, (0x80000000 | sys.TIMER_ABSTIME) >>> 0, at(150));
    assert.deepEqual(sys.timer_gettime(id).it_value, { tv_sec: 50, tv_nsec: 0 });
    // Without it: relative.
    sys.timer_settime(id, 0x80000000, at(7));
    assert.deepEqual(sys.timer_gettime(id).it_value, { tv_sec: 7, tv_nsec: 0 });
    // The same as their int twins.
    sys.timer_settime(id, -1, at(300));
    assert.deepEqual(sys.timer_gettime(id).it_value, { tv_sec: 200, tv_nsec: 0 });
    // Outside the range, or not an integer: EINVAL, the setting untouched.
    for (const f of [2 ** 32, -(2 ** 31) - 1, 1.5, NaN]) {
      assert.throws(() => sys.timer_settime(id, f, at(1)), { code: 'EINVAL' }, `flags ${f}`);
    }
    assert.deepEqual(sys.timer_gettime(id).it_value, { tv_sec: 200, tv_nsec: 0 });
  } finally {
    sys.timer_delete(id);
  }
});
