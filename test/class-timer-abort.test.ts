/**
 * A Timer's `signal` closes it from an abort listener (review of
 * src/ukern/timer.ts): close()'s error there has no caller to reach. Before
 * the fix, an abort after the id was deleted through ukern/sys threw
 * timer_delete's EINVAL out of the listener: an uncaught exception (the
 * process died; here the test failed with it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timer } from 'ukern';
import * as sys from 'ukern/sys';
import { within } from './helpers.js';

test('Timer: an abort after its id was deleted through ukern/sys closes it, no uncaught exception', async () => {
  const ac = new AbortController();
  const t = new Timer({ delay: 60_000, interval: 60_000, signal: ac.signal });
  const next = t.next();
  const step = t[Symbol.asyncIterator]().next();
  sys.timer_delete(t.id); // its other owner
  ac.abort();
  assert.equal(t.closed, true);
  assert.equal(await within(next, 10_000, 'the pending next() ends'), undefined);
  assert.deepEqual(await within(step, 10_000, 'the iterator ends'), { value: undefined, done: true });
  await new Promise((r) => setImmediate(r)); // an error thrown in the listener surfaces by now
  t.close(); // idempotent
});
