/**
 * A Timer's deliveries that nobody has taken fold into one entry, as a
 * POSIX timer's expirations fold into its pending signal: one entry per
 * delivery grew without bound under an interval timer nobody iterated.
 * Deterministic on the manual clock: each advance is one delivery (kstat
 * timer.delivered counts it, in the same turn that runs the Timer's
 * callback), none taken until the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Timer } from 'ukern';
import { until } from './helpers.js';

const M = sys.CLOCK_MANUAL;
const delivered = (): number => sys.kstat()['timer.delivered'] ?? 0;

test('deliveries nobody took fold into one entry: expirations summed, the latest time', async () => {
  using t = new Timer({ clock: M, delay: 1, interval: 1 });
  const t0 = sys.clock_gettime(M), ms0 = t0.tv_sec * 1e3 + t0.tv_nsec / 1e6;
  const d0 = delivered();
  const N = 50;
  for (let k = 1; k <= N; k++) {
    sys.clock_advance(M, { tv_sec: 0, tv_nsec: k === N ? 3e6 : 1e6 }); // the last: three expirations in one delivery
    await until(() => delivered() === d0 + k, 5000, `delivery ${k}`);
  }
  const x = await t.next({ timeout: 0 });
  assert.deepEqual(x, { expirations: N + 2, overrun: N + 1, time: ms0 + N + 2 });
  await assert.rejects(t.next({ timeout: 0 }), (e: sys.SysError) => e.code === 'ETIMEDOUT', 'nothing else is queued');
  // A delivery taken as it comes is its own.
  const p = t.next({ timeout: 5000 });
  sys.clock_advance(M, { tv_sec: 0, tv_nsec: 1e6 });
  assert.deepEqual(await p, { expirations: 1, overrun: 0, time: ms0 + N + 3 });
});
