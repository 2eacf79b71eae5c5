/**
 * Two signals() iterators of one signal in one thread: each blocks the
 * signal while it runs, and the first to end unblocked it under the other
 * (it had blocked it first, so it thought the signal its own), whose
 * signal, sent between two of its steps, then ran its default action
 * (SIGUSR2: the process ended) instead of waiting for its next step. The
 * last iterator to end unblocks it now; a signal blocked before any of them
 * stays blocked after all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signals, kill } from 'ukern';
import * as sys from 'ukern/sys';
import { within } from './helpers.js';

const blocked = (signo: number): boolean => sys.sigismember(sys.sigprocmask(sys.SIG_BLOCK, null), signo);

test('signals(): the first of two iterators of a signal to end leaves it blocked for the other; the last unblocks it', async () => {
  const a = signals(['SIGUSR2']);
  const b = signals(['SIGUSR2', 'SIGRTMIN']);
  const pa = a.next();
  const pb = b.next();
  assert.equal(blocked(sys.SIGUSR2), true);
  await within(a.return(), 2000, 'a.return()');
  assert.deepEqual(await within(pa, 2000, 'a\'s pending step'), { done: true, value: undefined });
  // b still runs: its signal must wait for it, not be delivered (SIGUSR2's default ends the process).
  assert.equal(blocked(sys.SIGUSR2), true, 'still blocked: b runs');
  kill(process.pid, 'SIGUSR2');
  assert.equal((await within(pb, 5000, 'b\'s first step')).value?.si_signo, sys.SIGUSR2);
  // Between b's steps: sent now, it waits for the next one.
  kill(process.pid, 'SIGUSR2');
  assert.equal((await within(b.next(), 5000, 'b\'s second step')).value?.si_signo, sys.SIGUSR2);
  await b.return();
  assert.equal(blocked(sys.SIGUSR2), false, 'the last to end unblocked it');
  assert.equal(blocked(sys.SIGRTMIN), false);
});

test('signals(): a signal blocked before two overlapping iterators stays blocked after both, in either order', async () => {
  for (const order of [[0, 1], [1, 0]]) {
    const set = sys.sigemptyset();
    sys.sigaddset(set, sys.SIGUSR1);
    const old = sys.sigprocmask(sys.SIG_BLOCK, set);
    try {
      const its = [signals(['SIGUSR1', 'SIGUSR2']), signals(['SIGUSR2', 'SIGUSR1'])];
      const ps = its.map((it) => it.next());
      for (const i of order) {
        await within(its[i]!.return(), 2000, `return() ${i}`);
        assert.deepEqual(await within(ps[i]!, 2000, `pending step ${i}`), { done: true, value: undefined });
        assert.equal(blocked(sys.SIGUSR1), true, 'blocked before: stays blocked');
        assert.equal(blocked(sys.SIGUSR2), i === order[0], `SIGUSR2 after iterator ${i} of order ${order}`);
      }
    } finally {
      sys.sigprocmask(sys.SIG_SETMASK, old);
    }
    assert.equal(blocked(sys.SIGUSR1), false);
  }
});
