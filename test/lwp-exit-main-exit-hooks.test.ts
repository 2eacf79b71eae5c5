/**
 * The main thread's lwp_exit ends the Node process (process.exit) once the
 * last LWP has gone, and the program's 'exit' listeners (its exit hooks)
 * then run in that thread. They ran bound to LWP 1, which had exited: a
 * kernel call from one acted as it. A hook that collected what was left
 * (lwp_wait(0) until ESRCH) found the last LWP, which ends the process
 * rather than becoming a zombie, and slept for it for ever: the process
 * never ended. The thread is now bound to the dead handle before the
 * process exits, as an LWP's worker is after lwp_exit, and such a call
 * unwinds with LwpExit.
 *
 * The child (this file with FIX_MAIN_EXIT_HOOK set) creates LWP 2 (it
 * returns after 100 ms), registers that hook, and calls lwp_exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { childRun } from './helpers.js';

/** LWP 2: returns after 100 ms. */
export function returnsLater(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
}

if (!isMainThread) {
  // An LWP loading this file for its export.
} else if (process.env.FIX_MAIN_EXIT_HOOK !== undefined) {
  sys.lwp_create({ module: new URL(import.meta.url), export: 'returnsLater' });
  process.on('exit', () => {
    for (;;) {
      try {
        writeSync(1, `collected ${sys.lwp_wait(0)}\n`);
      } catch (e) {
        writeSync(1, `wait ${(e as { code?: string }).code ?? (e as { message?: string }).message}\n`);
        break;
      }
    }
  });
  sys.lwp_exit();
} else {
  test('a kernel call from an exit hook of a process the main thread\'s lwp_exit ended unwinds (LwpExit), not acts as LWP 1: a hook\'s lwp_wait(0) does not hold the process for ever', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), [], 10_000, { FIX_MAIN_EXIT_HOOK: '1' });
    assert.equal(r.signal, null, `killed at the deadline: the exit hook waited for ever\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, 'wait lwp_exit\n', r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
}
