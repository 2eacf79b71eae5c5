/**
 * A worker the pool cannot start ahead of a create (new Worker throws, or
 * the channel made for it: resources short) fails no one (src/lwp/pool.ts):
 * the refill after a dispatch and boot's prestart run from the owner's
 * timers, where a throw was an uncaught exception, in the main thread a
 * crash of the program for a worker nobody had asked for yet, and in lwp0
 * the end of lwp0 (a panic). They now stop, say so once, and the next
 * dispatch refills again. Real workers, the stand-in trampoline of
 * test/lwp-pool.test.ts (no kernel); the start is made to fail through the
 * pool's lwp0Port hook, which spawn calls before new Worker.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { WorkerPool } from '../src/lwp/pool.js';
import type { KernelImage } from '../src/kern/boot.js';
import { until as wait_until } from './helpers.js';

const TRAMPOLINE = new URL('./fixtures/pool-trampoline.js', import.meta.url).href;

const until = (what: string, cond: () => boolean): Promise<void> => wait_until(cond, 20_000, what);

test('a refill or prestart whose worker cannot be started throws nowhere; the next dispatch refills', async () => {
  let failing = true, asked = 0;
  const uncaught: unknown[] = [];
  const seen = (e: unknown): void => { uncaught.push(e); };
  process.on('uncaughtExceptionMonitor', seen);
  const errors: unknown[][] = [];
  const was = console.error;
  console.error = (...a: unknown[]): void => { errors.push(a); };
  try {
    const pool = new WorkerPool({} as KernelImage, TRAMPOLINE, 1, 60_000, {
      reap: () => { /* none die here */ },
      changed: () => { /* no gauges */ },
      lwp0Port: () => {
        asked++;
        if (failing) throw new Error('no worker can be started now (test)');
        return new MessageChannel().port2;
      },
    });
    const sab = new SharedArrayBuffer(16);
    const a = new Int32Array(sab);
    const run = (lid: number): void => pool.dispatch({ t: 'run', lid, module: '', exp: '', arg: { sab, gate: true } });
    pool.prestart(1);
    assert.equal(pool.workerCount, 0);
    failing = false;
    // LWP 1 on a worker of its own, then the refill's one, idle.
    run(1);
    await until('LWP 1 running and the refill up', () => Atomics.load(a, 1) !== 0 && pool.workerCount === 2 && pool.idleCount === 1);
    failing = true;
    const before = asked;
    // LWP 2 takes the idle worker: the refill (10 ms later) tries to start one, and fails.
    run(2);
    await until('the refill tried', () => asked > before);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(uncaught, [], 'the failed start was thrown from a timer');
    assert.equal(errors.length, 1, 'the failures were not said once');
    // The next dispatch starts its worker, and the refill after it one more.
    failing = false;
    run(3);
    await until('the next refill', () => Atomics.load(a, 3) !== 0 && pool.workerCount === 4 && pool.idleCount === 1);
    Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  } finally {
    process.off('uncaughtExceptionMonitor', seen);
    console.error = was;
  }
});
