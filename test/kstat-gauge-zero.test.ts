/**
 * A kstat gauge (a counter that goes down as well as up: ports, kqueues,
 * knotes, lanes, waiters in use) read while a thread's copy of it crosses
 * zero. Each copy is two words, bumped one after the other (low, then the
 * carry or borrow into the high one); the low word was unsigned, so every
 * crossing of zero carried or borrowed, and a read between the two bumps
 * was off by 2^32 (4294967295 or -4294967296 for a gauge at 0 or -1). The
 * low word is signed now: only a copy crossing +-2^31 carries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { kstat_counter, kstat_snapshot } from '../src/kern/kstat.js';
import * as sys from '../src/sys/index.js';
import { kernel_image } from '../src/kern/boot.js';
import { within } from './helpers.js';

kstat_counter('ktest', 'gauge'); // before boot: the layout is the booting thread's

test('a gauge read while another thread moves its copy across zero is never off by 2^32', async () => {
  sys.lwp_self(); // (boots the kernel)
  const ctl = new SharedArrayBuffer(8), c = new Int32Array(ctl);
  const w = new Worker(new URL('./fixtures/kstat-flip.js', import.meta.url), { workerData: { image: kernel_image(), ctl } });
  const done = new Promise<number>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited (${code}) before it answered`)));
  });
  try {
    await within(new Promise<void>((resolve) => {
      const poll = (): void => { if (Atomics.load(c, 1) === 1) resolve(); else setTimeout(poll, 1); };
      poll();
    }), 20000, 'the worker starting');
    const seen = new Set<number>();
    const end = Date.now() + 1000;
    for (let i = 0; Date.now() < end; i++) {
      seen.add(kstat_snapshot('ktest')['ktest.gauge']!);
      if (seen.size > 2) break;
    }
    const bad = [...seen].filter((v) => v !== 0 && v !== -1);
    assert.deepEqual(bad, [], `values read: ${[...seen].join(', ')}`);
  } finally {
    Atomics.store(c, 0, 1);
    const n = await within(done, 20000, 'the worker stopping');
    assert.ok(n > 0);
  }
});
