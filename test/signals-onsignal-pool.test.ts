/**
 * onSignal's listeners belong to the LWP that added them, not to its worker
 * thread, which the pool hands to a later LWP with the class layer's modules
 * still loaded. A function handler goes with its LWP (docs/sys.md), but the
 * listener table stayed: an LWP that ended with a listener of a signal left
 * its entry, so the next LWP of the worker found the signal handled, put no
 * kernel handler of its own, and its listener never ran; the signal met its
 * default action instead (SIGUSR1's ends the process; SIGURG's, used here,
 * discards it).
 *
 * Two LWPs run one after the other on one warm worker (as
 * signals-iter-pool); this file is also their module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread, threadId } from 'node:worker_threads';
import * as sys from 'ukern/sys';
import { onSignal } from 'ukern';
import { until, within } from './helpers.js';

const self = new URL(import.meta.url);

/** LWP A: a listener of SIGURG, never disposed, when the LWP ends. */
export function leave_listener(a: { sab: SharedArrayBuffer }): void {
  const r = new Int32Array(a.sab);
  Atomics.store(r, 0, threadId);
  onSignal('SIGURG', () => {});
}

/** LWP B: a listener of SIGURG, then a SIGURG to itself; reports how many times the listener ran (within 5 s). */
export async function listen(a: { sab: SharedArrayBuffer }): Promise<void> {
  const r = new Int32Array(a.sab);
  Atomics.store(r, 1, threadId);
  let got = 0;
  const sub = onSignal('SIGURG', () => { got++; });
  sys.lwp_kill(sys.lwp_self(), sys.SIGURG);
  const end = Date.now() + 5000;
  while (got === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 2));
  sub.dispose();
  Atomics.store(r, 2, got);
}

if (isMainThread) {
  // One idle worker kept, none prestarted, the surplus retired at once.
  sys.boot({ lwp_pool: 0, lwp_pool_linger: 0 });

  test('an LWP that ended with an onSignal listener leaves nothing to the next LWP of its worker: that one\'s listener runs', async () => {
    const sab = new SharedArrayBuffer(12);
    const r = new Int32Array(sab);
    const a = sys.lwp_create({ module: self, export: 'leave_listener', arg: { sab } });
    assert.equal(await within(sys.lwp_wait_async(a), 30_000, 'LWP A'), a);
    await until(() => sys.kstat('lwp')['lwp.pool_idle'] === 1, 10_000, "A's worker idle (not retired)");
    const b = sys.lwp_create({ module: self, export: 'listen', arg: { sab } });
    assert.equal(await within(sys.lwp_wait_async(b), 30_000, 'LWP B'), b);
    assert.equal(Atomics.load(r, 1), Atomics.load(r, 0), `the second LWP ran on the first one's worker (idle ${sys.kstat('lwp')['lwp.pool_idle']})`);
    assert.equal(Atomics.load(r, 2), 1, 'B\'s listener took its SIGURG once');
  });
}
