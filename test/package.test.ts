/**
 * The package by its name, as programs get it: `ukern` and `ukern/sys` (the
 * bundle's entries over one kernel script per thread, with its code cache),
 * LWPs whose start modules import `ukern/sys`, in a fresh child process
 * with a deadline (test/scenarios/package.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

test('ukern and ukern/sys by name: one kernel per thread, shared with LWPs on the bundle trampoline', () => {
  const r = scenario('package', [], 90_000);
  assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(o.shared, true, 'a Port of ukern is not a port of ukern/sys');
  assert.equal(o.sysErrorShared, true, 'ukern/sys threw an error that is not ukern SysError');
  assert.equal(o.lwp, true, 'the LWP importing ukern/sys did not send on the main thread\'s port');
  assert.equal(o.died, true);
  assert.equal(o.grandchild, true, 'an LWP\'s own create did not run');
  assert.equal(o.cache, 'used', 'V8 rejected the kernel script\'s code cache (or it is missing)');
});
