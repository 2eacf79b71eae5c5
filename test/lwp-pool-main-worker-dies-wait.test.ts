/**
 * A worker of the main thread's pool that dies at its start (before the
 * trampoline runs: it cannot exit its LWP itself) while the main thread is
 * blocked in a synchronous lwp_wait for that LWP. The pool's reap of it
 * came from the worker's 'exit' event, on the main thread's event loop,
 * which the blocked thread never reached: it waited for ever. lwp0 now
 * reaps it too, when the worker's channel to lwp0 closes (pool.ts WS_LID),
 * and the wait collects it.
 *
 * The child is scenarios/pool-faults.ts with UKERN_TEST_WORKER_FAULT=
 * main:exit:1 (fixtures/worker-faults.ts: the main thread's first Worker,
 * LWP 2's, is `process.exit(1)`), case 'lwp-creates': boot({ lwp_pool: 0 }),
 * one create, then lwp_wait on it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { childRun } from './helpers.js';

const SCENARIO = fileURLToPath(new URL('./scenarios/pool-faults.js', import.meta.url));

test('the main thread blocked in lwp_wait for an LWP whose worker (its own pool\'s) died at its start collects it, not waits for ever', async () => {
  const r = await childRun(SCENARIO, ['lwp-creates', 'returnsAtOnce'], 20_000, { UKERN_NO_BUNDLE: '1', UKERN_TEST_WORKER_FAULT: 'main:exit:1' });
  assert.equal(r.signal, null, `killed at the deadline: the main thread waited for ever\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /Worker 1 of main dies at its start/);
  assert.equal(r.stdout, 'waited it\nmain done\n', r.stderr);
  assert.equal(r.status, 0, r.stderr);
});
