/**
 * A process-directed signal handed to an LWP in sigwait stays the process's:
 *
 *   - signals handed to a waiter before it ran again (it is a waiter until
 *     then: the first wakes it, the next ones follow it to its queue) are
 *     not all its own: its wait returns one, and the others go back to the
 *     process, where another LWP can take them — not left on the first
 *     waiter's queue, out of reach of every other LWP, once it has moved
 *     on (POSIX: a signal pending for the process is accepted by any thread
 *     in sigwait for it; NetBSD gives a sigwaiter exactly one);
 *   - the signal handed to a waiter whose LWP exits before it took it (an
 *     async sigwait never resumed) goes back to the process: it is not
 *     lost with the LWP's own directed signals.
 *
 * Deterministic: the waiter (fixtures/sigwaiter-lwp.ts) is held in its
 * wait until the test releases it.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { set_of, start_waiter, reach, release, take_now, let_waiters_go } from './fixtures/sigwaiter-lwp.js';

const { SIGRTMIN, SIGUSR2, SIG_BLOCK, SIG_SETMASK } = sys;

afterEach(let_waiters_go); // (what a failed test left)

test('signals handed to a sigwaiter before it ran again: its wait returns one, the others are the process\'s, for another LWP to take', async () => {
  const s = SIGRTMIN + 5;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const w = start_waiter(s), { lid, a } = w;
  sys.sigqueue(process.pid, s, 1); // handed to the waiter: it wakes
  sys.sigqueue(process.pid, s, 2); // it is a waiter until it runs: handed too
  release(w, 1);
  reach(w, 2, 'returned from its wait');
  const other = take_now(set); // it blocks s and waits no more: value 2 is for this LWP
  release(w, 3);
  sys.lwp_wait(lid);
  const rest = take_now(set);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  assert.deepEqual({ waiter: [a[2], a[3]], other: typeof other === 'string' ? other : other.si_value, rest },
    { waiter: [s, 1], other: 2, rest: 'EAGAIN' });
});

test('the signal handed to a sigwaiter whose LWP exits before taking it goes back to the process', async () => {
  for (const [s, v] of [[SIGRTMIN + 6, 9], [SIGUSR2, 0]] as const) {
    const set = set_of(s);
    sys.sigprocmask(SIG_BLOCK, set);
    const w = start_waiter(s), { lid } = w;
    sys.sigqueue(process.pid, s, v); // handed to the waiter
    release(w, 2); // which exits without taking it
    sys.lwp_wait(lid);
    const got = take_now(set);
    const rest = take_now(set);
    sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
    assert.deepEqual({ got: typeof got === 'string' ? got : [got.si_signo, got.si_code, got.si_value], rest },
      { got: [s, sys.SI_QUEUE, v], rest: 'EAGAIN' }, `signal ${s}`);
  }
});

test('the signal handed to a sigwaiter whose wait a handler interrupted first is the process\'s again', async () => {
  const s = SIGRTMIN + 7, intr = SIGRTMIN + 8;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const w = start_waiter(s, { intr }), { lid, a } = w;
  sys.lwp_kill(lid, intr); // ends its sleep (EINTR to come)
  sys.sigqueue(process.pid, s, 5); // it is still a waiter until it runs: handed to it
  release(w, 1);
  reach(w, 2, 'returned from its wait');
  const other = take_now(set);
  release(w, 3);
  sys.lwp_wait(lid);
  const late = take_now(set); // before s is unblocked here (its default action would end the process)
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  sys.sigaction(intr, { sa_handler: sys.SIG_DFL });
  assert.deepEqual({ eintr: a[2], handled: a[3], other: typeof other === 'string' ? other : other.si_value, late: typeof late === 'string' ? late : 'taken after the LWP exited' },
    { eintr: 1, handled: 1, other: 5, late: 'EAGAIN' });
});
