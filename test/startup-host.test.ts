/**
 * The start-up cost of Node's builtins (kern/host.ts) and lwp0's start, each
 * in a fresh child process (test/scenarios/startup.ts):
 *  - a program that imports the kernel, boots and makes a port loads no
 *    node:worker_threads (the old kernel loaded it at import: ~1.5-1.8 ms
 *    of a fresh main thread, with the streams);
 *  - is_main_thread() answers in the main thread without loading it, and
 *    false in a Worker (the answer rests on every worker having loaded it
 *    before its first line: this test is where a Node that changes that fails);
 *  - the SAB channel the main thread opens late (before the kernel's first
 *    Worker start) still receives a SAB its first LWP posts;
 *  - lwp0 is started within the first lwp_create, so an LWP's own create is
 *    served while the main thread blocks outside the kernel.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

function run(mode: string): Record<string, number> {
  const r = scenario('startup', [mode], 90_000);
  assert.equal(r.status, 0, `${mode}: status ${r.status} signal ${r.signal}\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

test('import ukern/sys + boot + port_create loads no node:worker_threads in the main thread', () => {
  assert.deepEqual(run('host-import'), { worker_threads: 0 });
});

test('is_main_thread: true in the main thread without loading node:worker_threads, false in a Worker', () => {
  assert.deepEqual(run('host-main'), { main: 1, loadedBefore: 0, inWorker: 0 });
});

test('the main thread\'s SAB channel, opened late, receives the SharedArrayBuffer its first LWP posts (shared, not copied)', () => {
  assert.deepEqual(run('sab-deferred'), { shared: 1, first: 7, after: 9, loadedBefore: 0 });
});

test('an LWP\'s own lwp_create is served while the main thread blocks outside the kernel (lwp0 starts within the first create)', () => {
  const o = run('lwp0-blocked');
  assert.ok(o.ms! < 20_000, JSON.stringify(o));
});
