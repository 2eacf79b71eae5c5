/**
 * The Timer class (public behaviour, through the `ukern` entry): intervals
 * and overruns on the manual clock, one-shots in the past, AbortSignal,
 * early exit from the iterator disarming the timer, expiry times, and its
 * argument errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Timer } from 'ukern';
import { within } from './helpers.js';

const M = sys.CLOCK_MANUAL;
const adv = (ns: number) => sys.clock_advance(M, { tv_sec: Math.floor(ns / 1e9), tv_nsec: ns % 1e9 });

test('Timer on the manual clock: interval, overruns through the iterator, dispose', async () => {
  const before = sys.kstat()['timer.created']!;
  {
    using t = new Timer({ clock: M, delay: 1, interval: 1 });
    assert.equal(sys.kstat()['timer.created'], before + 1);
    const it = t[Symbol.asyncIterator]();
    adv(1e6);
    assert.deepEqual((await within(it.next(), 5000, 'first')).value, { expirations: 1, overrun: 0, time: 1 }); // time: the manual clock, ms
    adv(3.5e6);
    assert.deepEqual((await within(it.next(), 5000, 'second')).value, { expirations: 3, overrun: 2, time: 4.5 });
    assert.deepEqual(t.get().it_interval, { tv_sec: 0, tv_nsec: 1e6 });
  }
  assert.equal(sys.kstat()['timer.deleted']! >= 1, true);
});

test('Timer one-shot, absolute in the past fires at once and the iterator ends', async () => {
  const t = new Timer({ clock: M, delay: 0.000001, absolute: true });
  const got = [];
  for await (const x of t) got.push({ expirations: x.expirations, overrun: x.overrun });
  assert.deepEqual(got, [{ expirations: 1, overrun: 0 }]);
  t.close();
  assert.equal(t.closed, true);
});

test('Timer on the real clock with an AbortSignal', async () => {
  const ac = new AbortController();
  const t = new Timer({ delay: 2, interval: 2, signal: ac.signal });
  let n = 0;
  await within((async () => { for await (const x of t) { assert.ok(x.expirations >= 1); if (++n === 3) ac.abort(); } })(), 10000, 'three expiries');
  assert.equal(n, 3);
  assert.equal(t.closed, true);
  assert.throws(() => new Timer({ delay: 1, signal: ac.signal }));
  assert.throws(() => new Timer({ delay: -1 }), RangeError);
});

test('Timer: leaving for await early disarms it; expiries carry their time; bad options are argument errors; an aborted signal is an AbortError', async () => {
  const t = new Timer({ delay: 1, interval: 1 });
  const times: number[] = [];
  await within((async () => { for await (const x of t) { times.push(x.time); if (times.length === 3) break; } })(), 10000, 'three expiries');
  const g = t.get();
  assert.equal(g.it_value.tv_sec + g.it_value.tv_nsec + g.it_interval.tv_sec + g.it_interval.tv_nsec, 0, 'break disarmed it');
  assert.ok(times[0]! > 0 && times[1]! >= times[0]! && times[2]! >= times[1]!, `times ${times}`);
  t.close();
  assert.throws(() => new Timer({ delay: '1' as unknown as number }), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => new Timer({ delay: -1 }), (e: unknown) => (e as { code?: string }).code === 'ERR_OUT_OF_RANGE');
  // The error names the option and the call: a missing delay said only "a time in ms must be a number".
  assert.throws(() => new Timer({ interval: 5 } as unknown as { delay: number }), { code: 'ERR_INVALID_ARG_TYPE', message: 'Timer: options.delay must be a number of ms, got undefined' });
  {
    using s = new Timer({ delay: 1000 });
    assert.throws(() => s.set({ delay: 1, interval: NaN }), { code: 'ERR_OUT_OF_RANGE', message: 'Timer.set: options.interval must be a non-negative finite number of ms, got NaN' });
  }
  assert.throws(() => new Timer({ delay: 1, signal: AbortSignal.abort('x') }), (e: unknown) => (e as Error).name === 'AbortError' && (e as Error).cause === 'x');
  { using u = new Timer({ delay: 1000 }); assert.equal(u.closed, false); }
});
