/**
 * Realtime signals of one number are accepted in the order they were
 * generated, also when a sigwaiter gives some back.
 *
 * A signal handed to an LWP in sigwait and not taken by it (the rest of a
 * burst when it takes one; everything on EINTR or at its exit) goes back to
 * the process queue (ls_unhand). It went to the tail, behind any younger
 * signal of its number generated meanwhile: two waiters, a burst 1, 2, 3 at
 * the first (it takes 1; 2 and 3 go back, 2 to the second waiter), then 4
 * (3 is handed to the second waiter too, which is a waiter until it runs):
 * the second takes 2 and gives 3 back behind 4, and the next sigwait got 4
 * before 3.
 *
 * Deterministic: the waiters are fixtures/sigwaiter-lwp.ts's, each held in
 * its wait until the test releases it.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { set_of, start_waiter, reach, release, go, take_now, let_waiters_go } from './fixtures/sigwaiter-lwp.js';

const { SIGRTMIN, SIG_BLOCK, SIG_SETMASK } = sys;

afterEach(let_waiters_go); // (what a failed test left)

/** The values sigtimedwait takes at once from `set`, then the error that ends them. */
function drain(set: sys.sigset_t): (number | string)[] {
  const r: (number | string)[] = [];
  for (let i = take_now(set); ; i = take_now(set)) {
    r.push(typeof i === 'string' ? i : i.si_value);
    if (typeof i === 'string') return r;
  }
}

test('a realtime signal a sigwaiter gives back goes before the younger ones of its number', () => {
  const s = SIGRTMIN + 10;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const w1 = start_waiter(s), w2 = start_waiter(s);
  for (let v = 1; v <= 3; v++) sys.sigqueue(process.pid, s, v); // all handed to the first waiter
  release(w1, 1); // it takes 1; 2 and 3 go back, 2 to the second waiter
  reach(w1, 2, 'returned from its wait');
  sys.sigqueue(process.pid, s, 4); // 3 is handed to the second waiter too, 4 stays
  release(w2, 1); // it takes 2 and gives 3 back
  reach(w2, 2, 'returned from its wait');
  const after = drain(set);
  for (const w of [w1, w2]) release(w, 3);
  for (const w of [w1, w2]) sys.lwp_wait(w.lid);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  assert.deepEqual({ first: w1.a[3], second: w2.a[3], after }, { first: 1, second: 2, after: [3, 4, 'EAGAIN'] });
});

test('a realtime signal given back is handed to a waiter before the younger one it holds', () => {
  const s = SIGRTMIN + 11;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const w1 = start_waiter(s, { late: true }), w2 = start_waiter(s); // w1 first on the list of live LWPs, waiting later
  sys.sigqueue(process.pid, s, 1); // handed to w2, the only waiter
  go(w1);
  sys.sigqueue(process.pid, s, 2); // handed to w1, the first waiter
  release(w2, 2); // w2 exits without taking 1: it goes back, and to w1, still a waiter
  sys.lwp_wait(w2.lid);
  release(w1, 1);
  reach(w1, 2, 'returned from its wait');
  const after = drain(set);
  release(w1, 3);
  sys.lwp_wait(w1.lid);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  assert.deepEqual({ first: w1.a[3], after }, { first: 1, after: [2, 'EAGAIN'] });
});
