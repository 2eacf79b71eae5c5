/**
 * A Timer's delay and interval are kept to the nanosecond, rounded: a
 * positive one under half a nanosecond is 1 ns. It rounded to 0, and a
 * `delay` of 0 disarms: `new Timer({ delay: 1e-7 })` never fired; an
 * `interval` of 0 is a one-shot, while the Timer, told a positive interval,
 * went on waiting for a second delivery that never came (its iterator hung
 * after the first item). CLOCK_MANUAL: nothing fires but the advances here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Timer } from 'ukern';

const M = sys.CLOCK_MANUAL;
const ns = (n: number): sys.Timespec => ({ tv_sec: 0, tv_nsec: n });

test('a positive delay under half a nanosecond arms the Timer for 1 ns, and it fires', async () => {
  using t = new Timer({ clock: M, delay: 1e-7 });
  assert.deepEqual(t.get().it_value, ns(1));
  sys.clock_advance(M, ns(1));
  const x = await t.next({ timeout: 10_000 });
  assert.equal(x?.expirations, 1);
});

test('a positive interval under half a nanosecond is a 1 ns period: the Timer keeps delivering', async () => {
  using t = new Timer({ clock: M, delay: 1e-6, interval: 1e-7 });
  assert.deepEqual(t.get(), { it_value: ns(1), it_interval: ns(1) });
  const it = t[Symbol.asyncIterator]();
  sys.clock_advance(M, ns(1));
  const a = await it.next();
  assert.equal(a.done, false);
  assert.equal(a.value?.expirations, 1);
  sys.clock_advance(M, ns(3));
  // Before the fix the kernel's timer was a one-shot: this step never ended.
  const b = await Promise.race([it.next(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5_000).unref())]);
  assert.notEqual(b, 'hung', 'no second delivery');
  assert.equal((b as IteratorResult<{ expirations: number }>).value?.expirations, 3);
  await it.return?.();
});

test('set() rounds the same way', () => {
  using t = new Timer({ clock: M, delay: 0 });
  t.set({ delay: 4e-7, interval: 1e-9 });
  assert.deepEqual(t.get(), { it_value: ns(1), it_interval: ns(1) });
  t.set({ delay: 0, interval: 1e-9 }); // 0 still disarms
  assert.deepEqual(t.get().it_value, ns(0));
});
