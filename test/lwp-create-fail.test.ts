/**
 * lwp_create that fails after the LWP was allocated (an argument that
 * cannot be structured-cloned: the worker's message is refused) frees the
 * LWP: it never existed. The create hooks had run for it (the signals
 * subsystem's: a signal entry, live, with the creator's mask), so the exit
 * hooks must run too; before, the entry stayed on the live list, counted
 * as an LWP that blocks or does not block each signal, until its slot was
 * reused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { LIVE, sig_lock, sig_unlock } from '../src/signals/sigqueue.js';
import { sigacts_h } from '../src/signals/sigstate.js';
import { pkgFixtures as fixtures } from './helpers.js';

function live_entries(): number {
  sig_lock();
  let n = 0;
  for (let h = LIVE.head(sigacts_h()); h !== 0; h = LIVE.after(h)) n++;
  sig_unlock();
  return n;
}

test('lwp_create refused for its argument leaves no live signal entry behind', () => {
  sys.sigprocmask(sys.SIG_BLOCK, (() => { const t = sys.sigemptyset(); sys.sigaddset(t, sys.SIGUSR2); return t; })());
  const before = live_entries();
  for (let i = 0; i < 3; i++) {
    assert.throws(() => sys.lwp_create({ module: fixtures, export: 'returnsAtOnce', arg: () => 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  const after = live_entries();
  sys.sigprocmask(sys.SIG_SETMASK, sys.sigemptyset());
  assert.equal(after, before, 'the refused LWPs have no signal entry');
});
