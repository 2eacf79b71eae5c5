/**
 * A burst of one realtime signal handed to a sigwaiter before it ran again,
 * with more LWPs in sigwait for that signal: every waiter gets one.
 *
 * The burst follows the first waiter to its queue (it is a waiter until it
 * runs); when it takes one, or exits without taking any, the rest go back
 * to the process queue (ls_unhand) and are offered again (sig_redistribute).
 * The offer was one choose_taker per signal number, which hands one entry
 * to the first waiter it finds: with two entries back and two waiters, the
 * second waiter was passed over and slept on with a signal of its set
 * pending on the process, until some later generation of that signal.
 *
 * Deterministic: the waiters are fixtures/sigwaiter-lwp.ts's, each held in
 * its wait (its wait set registered) until the test releases it.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { set_of, start_waiter, returned, release, take_now, let_waiters_go } from './fixtures/sigwaiter-lwp.js';

const { SIGRTMIN, SIG_BLOCK, SIG_SETMASK } = sys;

afterEach(let_waiters_go); // (what a failed test left)

for (const first of ['takes one', 'exits'] as const) {
  test(`a burst given back by a sigwaiter that ${first === 'takes one' ? 'takes one of it' : 'exits without taking it'} reaches every other waiter`, () => {
    const s = SIGRTMIN + 9;
    const set = set_of(s);
    sys.sigprocmask(SIG_BLOCK, set);
    // The first waiter is set up first: first on the list of live LWPs, it
    // is handed the whole burst (none of s pending on the process meanwhile).
    const w1 = start_waiter(s), w2 = start_waiter(s), w3 = start_waiter(s);
    const n = first === 'takes one' ? 3 : 2; // one for each LWP that goes on waiting
    for (let v = 1; v <= n; v++) sys.sigqueue(process.pid, s, v);
    const got: number[] = [];
    if (first === 'takes one') {
      release(w1, 1);
      assert.ok(returned(w1, 10_000), 'the first waiter\'s wait returned');
      got.push(w1.a[3]!);
    } else {
      release(w1, 2);
      sys.lwp_wait(w1.lid);
    }
    release(w2, 1); release(w3, 1);
    const asleep: number[] = [];
    for (const w of [w2, w3]) if (!returned(w, 10_000)) asleep.push(w.lid);
    // Passed over: a signal more wakes it (the test's clean-up), before the asserts.
    for (let i = 0; i < asleep.length; i++) sys.sigqueue(process.pid, s, 100 + i);
    for (const w of [w2, w3]) { assert.ok(returned(w, 10_000), `LWP ${w.lid}'s wait returned after the clean-up`); got.push(w.a[3]!); }
    const left: (number | string)[] = [];
    for (let r = take_now(set); typeof r !== 'string'; r = take_now(set)) left.push(r.si_value);
    for (const w of first === 'takes one' ? [w1, w2, w3] : [w2, w3]) release(w, 3);
    for (const w of first === 'takes one' ? [w1, w2, w3] : [w2, w3]) sys.lwp_wait(w.lid);
    sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
    assert.deepEqual({ asleep, got: got.sort((x, y) => x - y), left },
      { asleep: [], got: first === 'takes one' ? [1, 2, 3] : [1, 2], left: [] });
  });
}
