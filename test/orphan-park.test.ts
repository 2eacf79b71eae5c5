/**
 * An LWP that exits with an lwp_park_async pending has its sleeper
 * orphaned (kern/sleepq.ts sq_orphan). When a waker had already chosen that
 * sleeper (woken, its thread not yet back for it), sq_orphan passes the
 * wake-up on to the next sleeper of the list, so that a wake-up meant for
 * any waiter of an object is not lost. But an unpark is meant for one LWP,
 * and a park bucket holds the parks of every LWP and hint that hash there:
 * the unpark of the exiting LWP was passed on to another LWP's park, with
 * another hint, which returned as if unparked (docs/sys.md: lwp_park
 * "sleeps until unparked"). Found by the audit of what each async sleep
 * kind does when orphaned (finding 1 of the orphan brief).
 *
 * A parks async with hint H and then blocks its thread; LWP 1 parks async
 * with H + 128 (the same bucket); LWP 1 unparks A (woken, not resumed),
 * lets A return (orphaned), and collects it. LWP 1's own park must still be
 * parked: an unpark of it with its hint finds it there (the kstat
 * park_targeted counts one), not gone (park_not_parked).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until, within } from './helpers.js';

const sysUrl = import.meta.resolve('ukern/sys');
const body = `import * as sys from ${JSON.stringify(sysUrl)};
export function run(arg) {
  const a = new Int32Array(arg.sab);
  sys.lwp_park_async(null, arg.hint).catch(() => {});
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  Atomics.wait(a, 1, 0);
  return 0;
}
`;
const mod = 'data:text/javascript,' + encodeURIComponent(body);
const H = 1000; // bucket 1000 % 128; LWP 1 parks with H + 128, the same bucket

test('an unpark of an LWP that exits with its lwp_park_async pending is not passed on to another LWP\'s park', async () => {
  const me = sys.lwp_self();
  const sab = new SharedArrayBuffer(8), a = new Int32Array(sab);
  const lid = sys.lwp_create({ module: mod, export: 'run', arg: { sab, hint: H } });
  await until(() => Atomics.load(a, 0) === 1, 10_000, 'A to park');
  let mine = 0;
  const p = sys.lwp_park_async(null, H + 128).then(() => { mine++; });
  sys.lwp_unpark(lid, H);
  Atomics.store(a, 1, 1); Atomics.notify(a, 1);
  assert.equal(await within(sys.lwp_wait_async(lid), 10_000, 'A to exit'), lid);
  const k0 = sys.kstat('lwp');
  sys.lwp_unpark(me, H + 128);
  const k1 = sys.kstat('lwp');
  await within(p, 10_000, 'LWP 1\'s park');
  assert.equal(mine, 1);
  assert.deepEqual([k1['lwp.park_targeted']! - k0['lwp.park_targeted']!, k1['lwp.park_not_parked']! - k0['lwp.park_not_parked']!], [1, 0],
    'LWP 1\'s park had already returned: the unpark of A was passed on to it');
});
