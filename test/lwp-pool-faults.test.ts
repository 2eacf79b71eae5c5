/**
 * Worker starts that fail or die, in the thread that owns the pool (the
 * booting main thread, lwp0), made so from the test side: a child process
 * (scenarios/pool-faults.ts) whose Worker is replaced before the kernel is
 * loaded, and whose lwp0 gets the same replacement as a preload
 * (fixtures/worker-faults.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { childRun } from './helpers.js';

/** What the main thread's third create prints: its LWP's own two creates (served by lwp0). */
const LWP_CREATES = 'in LWP: create 1: collected it, died false\nin LWP: create 2: collected it, died false\n';
const SCENARIO = fileURLToPath(new URL('./scenarios/pool-faults.js', import.meta.url));

function run(args: string[], fault: string, ms = 30_000) {
  return childRun(SCENARIO, args, ms, { UKERN_NO_BUNDLE: '1', UKERN_TEST_WORKER_FAULT: fault });
}

test('a worker of lwp0 that dies before lwp0 has the kernel: its LWP is reaped, and the process still ends', async () => {
  // LWP 2 creates LWP 3 and returns; lwp0's worker for LWP 3 dies at once,
  // and lwp0 loads its kernel only after that death was handled (the gate).
  const r = await run(['lwp-creates', 'createsOne', 'nowait'], 'lwp0:exit:1:gate', 20_000);
  assert.equal(r.signal, null, `hung (the booting thread was never told LWP 3 is gone):\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Worker 1 of lwp0 dies at its start/);
  assert.match(r.stderr, /lwp0 may load its kernel now/);
  assert.equal(r.stdout, 'main done\n', r.stderr);
});

test('a create in an LWP whose worker cannot be started ends that LWP as died; lwp0 and the kernel stay up', async () => {
  // lwp0's first Worker (for LWP 3) throws; its second (LWP 4) starts.
  const r = await run(['lwp-creates', 'createsTwoAndWaits'], 'lwp0:throw:1');
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'in LWP: create 1: collected it, died true\nin LWP: create 2: collected it, died false\nwaited it\nmain done\n', r.stderr);
  assert.doesNotMatch(r.stderr, /panic/, r.stderr);
  assert.match(r.stderr, /no worker could be started for LWP 3/, r.stderr);
});

test('lwp_create in the main thread whose worker cannot be started fails with EAGAIN; the next create works', async () => {
  // The main thread's first Worker (LWP 2's) throws; then LWP 3's and lwp0 start.
  const r = await run(['main-creates'], 'main:throw:1');
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'create 1: SysError EAGAIN, no LWP left true\ncreate 2: waited it\n' + LWP_CREATES + 'create 3: waited it\nmain done\n', r.stderr);
});

test('boot({ lwp_pool }) whose prestart cannot start lwp0 says so once; the first create starts it', async () => {
  // The prestart's timer starts lwp0 first: the main thread's first Worker; it throws.
  const r = await run(['main-creates', '1'], 'main:throw:1');
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'create 1: waited it\ncreate 2: waited it\n' + LWP_CREATES + 'create 3: waited it\nmain done\n', r.stderr);
  assert.equal(r.stderr.match(/lwp0 could not be started/g)?.length, 1, r.stderr);
});

test('a create whose worker started but lwp0 could not be started succeeds; lwp0 is tried again', async () => {
  // The first create starts LWP 2's worker (Worker 1), then lwp0 (Worker 2: throws).
  const r = await run(['main-creates', '0'], 'main:throw:2');
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'create 1: waited it\ncreate 2: waited it\n' + LWP_CREATES + 'create 3: waited it\nmain done\n', r.stderr);
  assert.equal(r.stderr.match(/lwp0 could not be started/g)?.length, 1, r.stderr);
});

test('a worker that cannot be started after its channel to lwp0 was made leaves no port open in lwp0', async () => {
  const r = await run(['port-leak'], 'main:throw:3');
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'create 2: EAGAIN\nlwp0 ports as before: true\nwaited it\nmain done\n', r.stderr);
});
