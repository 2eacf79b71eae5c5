/**
 * An LWP ended by a panic while it waits, created suspended, for
 * lwp_continue (lwp_halt, in its worker, before its start function) is
 * said to have ended before its start function ran. Before, the trampoline
 * said "start function threw" for it: a function that never ran.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenarioAsync } from './helpers.js';

test('an LWP ended by a panic before its start function ran is not said to have thrown', async () => {
  const r = await scenarioAsync('halt-panic', [], 30_000);
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout, 'panicked EIO\nmain done\n', r.stderr);
  assert.equal(r.status, 70, r.stderr);
  assert.doesNotMatch(r.stderr, /start function threw/, r.stderr);
  assert.match(r.stderr, /ukern: LWP 2 ended before its start function ran: KernelPanicError: lwp_halt: EIO/, r.stderr);
});
