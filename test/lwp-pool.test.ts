/**
 * The worker pool's choice of worker (src/lwp/pool.ts), with real workers
 * running a stand-in trampoline (test/fixtures/pool-trampoline.ts) that
 * speaks the pool's protocol without a kernel: a create goes to the idle
 * worker that ran an LWP last (it keeps what V8 compiled), and a surplus of
 * idle workers loses its coldest, never the one just used.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../src/lwp/pool.js';
import type { KernelImage } from '../src/kern/boot.js';
import { until as wait_until } from './helpers.js';

const TRAMPOLINE = new URL('./fixtures/pool-trampoline.js', import.meta.url).href;

/** Waits (event loop turning, 20 s deadline) until cond() holds. */
const until = (what: string, cond: () => boolean): Promise<void> => wait_until(cond, 20_000, what);

test('a create runs on the idle worker that ran an LWP last; the surplus retired is the coldest', async () => {
  const pool = new WorkerPool({} as KernelImage, TRAMPOLINE, 3, 0, { reap: () => { /* none die here */ }, changed: () => { /* no gauges */ } });
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const run = (lid: number, gate: boolean): void => pool.dispatch({ t: 'run', lid, module: '', exp: '', arg: { sab, gate } });
  pool.prestart(3);
  await until('3 idle workers', () => pool.idleCount === 3);
  // LWP 1 holds its worker until the refill (one new worker, 10 ms after
  // the dispatch) is up: its worker then turns idle beside 3 others, one
  // more than the pool keeps.
  run(1, true);
  await until('the refill', () => pool.workerCount === 4 && pool.idleCount === 3);
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  // LWP 1's 'idle' report: 4 idle, so one is retired.
  await until('the surplus retired', () => pool.workerCount === 3 && pool.idleCount === 3);
  run(2, false);
  await until('LWP 2 running', () => Atomics.load(a, 2) !== 0);
  assert.equal(Atomics.load(a, 2), Atomics.load(a, 1), 'LWP 2 did not run on the worker LWP 1 had warmed');
  // And again: 3 is given the last used (2's, the same worker) over two never used.
  await until('LWP 2 done', () => pool.idleCount === 3);
  run(3, false);
  await until('LWP 3 running', () => Atomics.load(a, 3) !== 0);
  assert.equal(Atomics.load(a, 3), Atomics.load(a, 1));
});

test('idle workers beyond the pool linger: a burst that comes back within lwp_pool_linger starts no worker; the surplus goes after it, coldest first', async () => {
  const LINGER = 400;
  let spawned = 0;
  const pool = new WorkerPool({} as KernelImage, TRAMPOLINE, 1, LINGER, { reap: () => { /* none die here */ }, changed: () => { spawned = Math.max(spawned, pool.workerCount); } });
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const run = (lid: number, gate: boolean): void => pool.dispatch({ t: 'run', lid, module: '', exp: '', arg: { sab, gate } });
  pool.prestart(1);
  await until('1 idle worker', () => pool.idleCount === 1);
  // LWP 1 holds its worker while the refill starts a second.
  run(1, true);
  await until('the refill', () => pool.workerCount === 2 && pool.idleCount === 1);
  // Before the gate opens: the worker cannot go idle (and its linger start) before this.
  const t0 = performance.now();
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  await until('LWP 1 done: a surplus of one', () => pool.idleCount === 2);
  // The next burst (one LWP) takes the warm worker; one is still idle, so no refill.
  run(2, false);
  await until('LWP 2 done', () => Atomics.load(a, 2) !== 0 && pool.idleCount === 2);
  assert.equal(Atomics.load(a, 2), Atomics.load(a, 1), 'LWP 2 did not run on the worker LWP 1 had warmed');
  await new Promise((r) => setTimeout(r, 20)); // past the refill's 10 ms: it must have started nothing
  assert.equal(pool.workerCount, 2, 'a worker was started or retired while the surplus lingered');
  await until('the surplus retired', () => pool.workerCount === 1);
  const waited = performance.now() - t0;
  assert.ok(waited >= LINGER, `the surplus went after ${waited.toFixed(0)} ms, before lwp_pool_linger (${LINGER} ms)`);
  assert.equal(spawned, 2, 'more than two workers were ever started');
  // The one kept is the warm one.
  run(3, false);
  await until('LWP 3 running', () => Atomics.load(a, 3) !== 0);
  assert.equal(Atomics.load(a, 3), Atomics.load(a, 1));
});
