/**
 * The class layer's timeout rule is "0 polls" (ukern/waitopts.ts): a poll
 * takes what is there. Lwp.park({ timeout: 0 }) and Lwp.parkSync({
 * timeout: 0 }) turned the timeout into an absolute deadline already past,
 * and lwp_park checks that (ETIMEDOUT) before it looks for a pending unpark
 * (the seed's order, which the contract keeps): with an unpark pending they
 * rejected ETIMEDOUT and left it pending, so the next park with a real
 * timeout returned at once instead. LWP review.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Lwp } from 'ukern';

const timedOut = (e: unknown): boolean => e instanceof sys.SysError && e.code === 'ETIMEDOUT';
const pending = (): boolean | undefined => sys.lwp_snapshot().lwps.find((l) => l.lid === sys.lwp_self())?.unparkPending;

test('Lwp.park({ timeout: 0 }) takes a pending unpark (true); with none it rejects ETIMEDOUT', async () => {
  sys.lwp_unpark(sys.lwp_self());
  assert.equal(await Lwp.park({ timeout: 0 }), true);
  assert.equal(pending(), false, 'the unpark was left pending');
  await assert.rejects(Lwp.park({ timeout: 0 }), timedOut);
  sys.lwp_unpark(sys.lwp_self(), 7);
  assert.equal(await Lwp.park({ timeout: 0, hint: 7 }), true);
  assert.equal(pending(), false);
});

test('Lwp.parkSync({ timeout: 0 }) takes a pending unpark (true); with none it throws ETIMEDOUT', () => {
  sys.lwp_unpark(sys.lwp_self());
  assert.equal(Lwp.parkSync({ timeout: 0 }), true);
  assert.equal(pending(), false, 'the unpark was left pending');
  assert.throws(() => Lwp.parkSync({ timeout: 0 }), timedOut);
  assert.equal(pending(), false);
});
