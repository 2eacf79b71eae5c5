/**
 * A dispatch whose run request cannot be posted (an argument that cannot be
 * cloned: lwp_create's EINVAL) leaves the pool as it was (src/lwp/pool.ts):
 * the worker it took goes back to the state it was taken in, starting or
 * idle, and keeps its place by warmth. Before, it was stored idle whatever
 * it had been, with the failed create's dispatch stamp: a worker still
 * starting was counted idle (kstat lwp.pool_idle), and the next create was
 * given that worker, cold or not even up, over the warm idle one the last
 * LWP ran on (waiting for its start). Real workers, the stand-in trampoline
 * of test/lwp-pool.test.ts (no kernel).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../src/lwp/pool.js';
import type { KernelImage } from '../src/kern/boot.js';
import { until as wait_until } from './helpers.js';

const TRAMPOLINE = new URL('./fixtures/pool-trampoline.js', import.meta.url).href;
const hooks = { reap: () => { /* none die here */ }, changed: () => { /* no gauges */ } };

const until = (what: string, cond: () => boolean): Promise<void> => wait_until(cond, 20_000, what);

const uncloneable = { f: (): void => { /* a function: DataCloneError */ } };

test('a failed dispatch gives a worker it started back as starting, not idle; it turns idle when it is up', async () => {
  const pool = new WorkerPool({} as KernelImage, TRAMPOLINE, 1, 60_000, hooks);
  // No worker yet: the dispatch starts one, and its post fails.
  assert.throws(() => pool.dispatch({ t: 'run', lid: 1, module: '', exp: '', arg: uncloneable }), { name: 'DataCloneError' });
  assert.equal(pool.workerCount, 1);
  assert.equal(pool.idleCount, 0, 'a worker still starting was counted idle');
  assert.equal(pool.startingCount, 1);
  await until('the worker up and idle', () => pool.idleCount === 1 && pool.startingCount === 0);
});

test('after a failed dispatch the next create still gets the idle worker the last LWP ran on', async () => {
  const pool = new WorkerPool({} as KernelImage, TRAMPOLINE, 1, 60_000, hooks);
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const run = (lid: number, gate: boolean): void => pool.dispatch({ t: 'run', lid, module: '', exp: '', arg: { sab, gate } });
  pool.prestart(1);
  await until('1 idle worker', () => pool.idleCount === 1);
  // LWP 1 holds the warm worker while the refill starts a second one.
  run(1, true);
  await until('LWP 1 running and the refill', () => Atomics.load(a, 1) !== 0 && pool.workerCount === 2);
  // This create takes the refill's worker (starting, or idle if up already), and fails.
  assert.throws(() => pool.dispatch({ t: 'run', lid: 9, module: '', exp: '', arg: uncloneable }), { name: 'DataCloneError' });
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  await until('both workers idle', () => pool.idleCount === 2);
  run(2, false);
  await until('LWP 2 running', () => Atomics.load(a, 2) !== 0);
  assert.equal(Atomics.load(a, 2), Atomics.load(a, 1), 'LWP 2 was not given the worker LWP 1 had warmed');
});
