/**
 * Lwp.of(lid) is "an existing LWP by lid", and lids start at 1. It took 0,
 * which lwp_wait reads as "any LWP": Lwp.of(0).wait() collected whichever
 * LWP exited first (another Lwp object's, whose own wait() then failed
 * ESRCH and whose outcome was lost) and resolved undefined. 0 is now
 * ERR_OUT_OF_RANGE, as -1 is. LWP review.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Lwp } from 'ukern';
import { until } from './helpers.js';

const range = (e: unknown): boolean => e instanceof RangeError && (e as { code?: string }).code === 'ERR_OUT_OF_RANGE';

test('Lwp.of(0) is ERR_OUT_OF_RANGE: no LWP has lid 0', () => {
  assert.throws(() => Lwp.of(0), range);
  assert.equal(Lwp.of(1).lid, 1);
});

test('an exited LWP made by Lwp.create is collected by its own wait(), not by an Lwp.of(0) made before', async () => {
  const body = 'export function f() { return 42; }';
  const l = Lwp.create<number>({ module: 'data:text/javascript,' + encodeURIComponent(body), export: 'f' });
  await until(() => sys.lwp_snapshot().lwps.find((x) => x.lid === l.lid)?.state === 'ZOMB', 10_000, 'the LWP to exit');
  let other: Promise<unknown> | undefined;
  try { other = Lwp.of(0).wait(); } catch (e) { assert.ok(range(e)); }
  assert.equal(await l.wait(), 42);
  if (other !== undefined) await other.catch(() => undefined);
  assert.deepEqual(sys.lwp_check(), []);
});
