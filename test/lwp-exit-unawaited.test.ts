/**
 * An LWP that ends by lwp_exit() from an async callback its start function
 * does not await: the LwpExit reaches the worker as an unhandled rejection,
 * with the start function still suspended. The worker must be retired as for
 * an lwp_exit() from a synchronous callback (an uncaught LwpExit), and so
 * tell its owner that the LWP is gone: the process then ends, no LWP but
 * LWP 1 being alive (scenarios/lwp-exit-unawaited.ts). Before, the rejection
 * was only printed; the worker said nothing and the booting thread held the
 * process for the exited LWP for ever.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

test('the process ends when its last LWP exited from a callback its start function did not await', () => {
  const r = scenario('lwp-exit-unawaited', [], 30_000);
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'exiting\nalive at exit: 1\n', r.stderr);
});
