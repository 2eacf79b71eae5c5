/**
 * The main thread's lwp_exit waits for the process to end (H_PROC_EXIT)
 * or for a panic, which notifies that word but does not change it. Its
 * loop looked at the panic mark, then waited on the word with no bound: a
 * panic marked between the look and the wait (its notify came before the
 * wait began) was never seen, and the main thread waited for ever while
 * the LWPs left, dead in the kernel or stuck, never exited. The wait is
 * now bounded (a backstop, as a kernel mutex's wait has), and the loop
 * looks at the mark again.
 *
 * The interleaving cannot be forced from outside, so the child (this file
 * with FIX_EXIT_RACE set) makes its outcome: once LWP 1 has exited and its
 * thread is in that wait, LWP 2 stores the panic mark with no notify (the
 * notify that came too early), then blocks outside the kernel for 30 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { H_PANIC } from '../src/kern/hdr.js';
import { childRun } from './helpers.js';

/** LWP 2: once LWP 1 is a zombie (and a little more: its thread is in the wait), the mark without its notify. */
export function marksLate(): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + 10_000;
  while (sys.lwp_snapshot().lwps.find((l) => l.lid === 1)?.state !== 'ZOMB' && Date.now() < end) Atomics.wait(nap, 0, 0, 1);
  Atomics.wait(nap, 0, 0, 200);
  Atomics.store(I32, H_PANIC, 1);
  Atomics.wait(nap, 0, 0, 30_000);
}

if (!isMainThread) {
  // An LWP loading this file for its export.
} else if (process.env.FIX_EXIT_RACE !== undefined) {
  sys.lwp_create({ module: new URL(import.meta.url), export: 'marksLate' });
  sys.lwp_exit();
} else {
  test('a panic marked after the main thread\'s lwp_exit last looked, and notified before it waited, still ends the process (status 70), within seconds', async () => {
    const t0 = Date.now();
    const r = await childRun(fileURLToPath(import.meta.url), [], 10_000, { FIX_EXIT_RACE: '1' });
    assert.equal(r.signal, null, `killed at the deadline: the main thread waited on in lwp_exit\n${r.stderr}`);
    assert.equal(r.status, 70, r.stderr);
    assert.ok(Date.now() - t0 < 8_000, `ended ${Date.now() - t0} ms after the start`);
  });
}
