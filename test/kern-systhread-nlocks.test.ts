/**
 * A kernel helper thread's lock count (cur.nlocksw: what copyin_check,
 * host_enter / host_leave at process exit, diag_publish and the timers'
 * idle hook read to tell whether the thread holds a kernel mutex) is its
 * own. Every thread that is not an LWP counted in one shared header word
 * (H_SCRATCH): the clock, intr and aio threads and lwp0 all did, so one of
 * them holding a lock made the others read a lock held, and their plain
 * increments and decrements of one word from several threads lost updates,
 * leaving the count wrong for good (a stress of SIGEV_PORT timers beside
 * aio threads left it at 1 with no lock held). Each system thread now
 * counts in a word of its own. The threads here attach as the kernel's
 * helper threads do; every wait has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { kernel_image } from '../src/kern/boot.js';
import { within } from './helpers.js';

const fixture = new URL('./fixtures/kern-sysnlocks.js', import.meta.url);

function run<T>(role: string, ctl: SharedArrayBuffer, hint: number, iters = 0): Promise<T> {
  const w = new Worker(fixture, { workerData: { image: kernel_image(), ctl, role, hint, iters } });
  return new Promise<T>((resolve, reject) => {
    w.once('message', (m: T) => { resolve(m); });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited (${code}) before it answered`)));
  });
}

test('a helper thread holding a kernel mutex does not make another helper thread read a lock held', async () => {
  sys.lwp_self(); // (boots the kernel)
  const ctl = new SharedArrayBuffer(16), c = new Int32Array(ctl);
  const holder = run<{ held: number; told: boolean; after: number }>('hold', ctl, 71);
  const probe = await within(run<{ ok: boolean; mine: number }>('probe', ctl, 72), 20000, 'the probe');
  Atomics.store(c, 1, 1); Atomics.notify(c, 1);
  const h = await within(holder, 20000, 'the holder');
  assert.equal(probe.ok, true, 'the holder took its lock');
  assert.equal(h.held, 1, 'the holder counts its lock');
  assert.equal(probe.mine, 0, "the probe's own count, while the holder holds its lock");
  assert.equal(h.after, 0);
});

test('two helper threads taking and releasing locks at once each end with a count of 0', async () => {
  const ctl = new SharedArrayBuffer(16);
  const [a, b] = await within(Promise.all([
    run<{ before: number; after: number; both: boolean }>('churn', ctl, 73, 300_000),
    run<{ before: number; after: number; both: boolean }>('churn', ctl, 74, 300_000),
  ]), 60000, 'the churning threads');
  assert.deepEqual([a, b], [{ before: 0, after: 0, both: true }, { before: 0, after: 0, both: true }]);
});
