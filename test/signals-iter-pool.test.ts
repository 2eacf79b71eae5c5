/**
 * signals() iterators count their blocks per thread (signals-iter-overlap);
 * the count belongs to the LWP that runs them, not to the worker thread,
 * which the pool hands to a later LWP with the class layer's modules still
 * loaded. An LWP that ends with an iterator still running (between two
 * steps, never returned) must not leave its count to the next LWP of its
 * worker: that one's iterator would then find the signal counted already,
 * not record that it blocked it, and leave it blocked when it ended.
 *
 * Two LWPs run one after the other on one warm worker (the pool keeps one
 * idle worker and gives the create the warmest); this file is also their
 * module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread, threadId } from 'node:worker_threads';
import * as sys from 'ukern/sys';
import { signals } from 'ukern';
import { until, within } from './helpers.js';

const self = new URL(import.meta.url);

/** LWP A: an iterator of SIGUSR2 that has taken one and is left running (not returned) when the LWP ends. */
export async function leave_running(a: { sab: SharedArrayBuffer }): Promise<void> {
  const r = new Int32Array(a.sab);
  Atomics.store(r, 0, threadId);
  const it = signals(['SIGUSR2']);
  const p = it.next();
  sys.lwp_kill(sys.lwp_self(), sys.SIGUSR2);
  const got = await p;
  Atomics.store(r, 1, got.value?.si_signo === sys.SIGUSR2 && sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), sys.SIGUSR2) ? 1 : 0);
}

/** LWP B: an iterator of SIGUSR2 run and returned; reports whether the signal is blocked after. */
export async function run_and_return(a: { sab: SharedArrayBuffer }): Promise<void> {
  const r = new Int32Array(a.sab);
  Atomics.store(r, 2, threadId);
  const before = sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), sys.SIGUSR2);
  const it = signals(['SIGUSR2']);
  const p = it.next();
  await new Promise((res) => setTimeout(res, 5));
  const during = sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), sys.SIGUSR2);
  await it.return();
  await p;
  const after = sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), sys.SIGUSR2);
  Atomics.store(r, 3, (before ? 1 : 0) | (during ? 2 : 0) | (after ? 4 : 0));
}

if (isMainThread) {
  // One idle worker kept, none prestarted, the surplus retired at once.
  sys.boot({ lwp_pool: 0, lwp_pool_linger: 0 });

  test('an LWP that ended with a signals() iterator running leaves no count to the next LWP of its worker', async () => {
    const sab = new SharedArrayBuffer(16);
    const r = new Int32Array(sab);
    const a = sys.lwp_create({ module: self, export: 'leave_running', arg: { sab } });
    assert.equal(await within(sys.lwp_wait_async(a), 30_000, 'LWP A'), a);
    assert.equal(Atomics.load(r, 1), 1, 'A\'s iterator took a SIGUSR2, which is blocked while it runs');
    // The pool keeps one idle worker and gives a create the warmest: once A's
    // worker is idle, B runs on it. A worker not reused here (A's left running
    // iterator retiring it) is a failure, not a reason to skip the case.
    await until(() => sys.kstat('lwp')['lwp.pool_idle'] === 1, 10_000, "A's worker idle (not retired)");
    const b = sys.lwp_create({ module: self, export: 'run_and_return', arg: { sab } });
    assert.equal(await within(sys.lwp_wait_async(b), 30_000, 'LWP B'), b);
    assert.equal(Atomics.load(r, 2), Atomics.load(r, 0), `the second LWP ran on the first one's worker (idle ${sys.kstat('lwp')['lwp.pool_idle']})`);
    assert.equal(Atomics.load(r, 3), 2, 'B: not blocked before, blocked while its iterator ran, unblocked after (bits before 1, during 2, after 4)');
  });
}
