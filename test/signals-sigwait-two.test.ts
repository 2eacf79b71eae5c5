/**
 * Two sigwait_async of one thread, for different sets, pending at once
 * (the case the kern core review named for the restart outcome). The LWP's
 * wait set was one pair of words (LS.wait0/1, set_wait): each call wrote
 * its own set over the other's, and took it out of the per-signal waiter
 * counts, so a signal of the first call's set found nobody waiting for it
 * and stayed pending while that call slept on; and the signal code wakes
 * the first waiter on the LWP's queue, which need not be the one whose set
 * holds the signal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { within } from './helpers.js';

const { SIGUSR1, SIGUSR2, SIG_BLOCK, SIG_SETMASK } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };

for (const first of [SIGUSR1, SIGUSR2]) {
  test(`two sigwait_async of one thread for {SIGUSR1} and {SIGUSR2}: each takes its own signal (signal ${first === SIGUSR1 ? 'of the first call' : 'of the second call'} sent first)`, async () => {
    sys.sigprocmask(SIG_BLOCK, set_of(SIGUSR1, SIGUSR2));
    const a = sys.sigwait_async(set_of(SIGUSR1));
    const b = sys.sigwait_async(set_of(SIGUSR2));
    const second = first === SIGUSR1 ? SIGUSR2 : SIGUSR1;
    sys.kill(process.pid, first);
    assert.equal(await within(first === SIGUSR1 ? a : b, 5000, `the wait for signal ${first}`), first);
    sys.kill(process.pid, second);
    assert.equal(await within(first === SIGUSR1 ? b : a, 5000, `the wait for signal ${second}`), second);
    assert.deepEqual(sys.sigpending().toArray(), []);
    sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  });
}
