/**
 * lwp_exit does not return; in a worker it unwinds the start function with
 * an LwpExit, and code on the way (a `finally`, a catch-all) may call the
 * kernel again. The LWP is a zombie by then (or freed, its slot perhaps
 * another LWP's), so such a call must not act as it: a sleep there wrote
 * the zombie's l_stat (ZOMB -> SLEEP -> ONPROC), and lwp_wait never
 * collected it. Deterministic: the test waits (outside the kernel) until
 * the LWP's `finally` is done before it looks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { pkgFixtures as fixtures } from './helpers.js';

test('a kernel call in a finally after lwp_exit unwinds again and leaves the zombie as it is: lwp_wait collects it', async () => {
  const sab = new SharedArrayBuffer(8);
  const a = new Int32Array(sab);
  const lid = sys.lwp_create({ module: fixtures, export: 'exitsThenCallsKernel', arg: { sab } });
  const end = Date.now() + 20_000;
  while (Atomics.load(a, 0) === 0) {
    assert.ok(Date.now() < end, 'the LWP did not finish its finally');
    Atomics.wait(a, 0, 0, 100);
  }
  const info = sys.lwp_snapshot().lwps.find((l) => l.lid === lid);
  assert.equal(info?.state, 'ZOMB', 'the LWP is a zombie after its finally');
  assert.equal(a[1], 5, 'the park after lwp_exit unwinds with LwpExit (5), it does not sleep');
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5_000);
  try {
    assert.equal(await sys.lwp_wait_async(lid, { signal: ac.signal }), lid);
  } finally {
    clearTimeout(timer);
  }
  assert.deepEqual(sys.lwp_check(), []);
});
