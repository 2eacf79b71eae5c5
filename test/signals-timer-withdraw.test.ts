/**
 * timer_delete withdraws the timer's queued signal wherever it waits: on the
 * process queue, and on the queue of an LWP in sigwait that it was handed to
 * (sig.ts: a sigwaiter takes a process signal first, put straight on its
 * queue). A signal left there outlives its timer, and the next timer_create
 * reuses the struct and the lowest free id: when the stale signal is taken,
 * its (handle, id) check matches the new timer and takes that timer's
 * pending expirations, so the stale signal reports the new timer's overruns
 * and the new timer's own signal reports none.
 *
 * Deterministic: CLOCK_MANUAL fires in the calling thread, and an async
 * sigwaitinfo started but not yet resumed keeps the caller a sigwaiter while
 * the test deletes and re-creates the timer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { take_until_eagain } from './helpers.js';
import * as sys from 'ukern/sys';

const { SIGRTMIN, SIG_BLOCK, SIG_SETMASK, CLOCK_MANUAL, SIGEV_SIGNAL } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const ms = (n: number): sys.Timespec => ({ tv_sec: 0, tv_nsec: n * 1e6 });
const now0 = { tv_sec: 0, tv_nsec: 0 };

test('timer_delete withdraws a timer signal already handed to a sigwaiter; a new timer reusing its id keeps its overruns', async () => {
  const s = SIGRTMIN + 3;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const first = sys.sigwaitinfo_async(set);
  // The first timer fires once while this LWP is a sigwaiter: its signal is handed to it.
  const t1 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_SIGNAL, sigev_signo: s, sigev_value: 111 });
  sys.timer_settime(t1, 0, { it_value: ms(1), it_interval: ms(0) });
  sys.clock_advance(CLOCK_MANUAL, ms(1));
  sys.timer_delete(t1);
  // Same id (lowest free), same struct: three expirations, one signal, overrun 2.
  const t2 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_SIGNAL, sigev_signo: s, sigev_value: 222 });
  assert.equal(t2, t1, 'the id is reused (the case this test is about)');
  sys.timer_settime(t2, 0, { it_value: ms(1), it_interval: ms(1) });
  sys.clock_advance(CLOCK_MANUAL, ms(3));
  const a = await first;
  const rest = take_until_eagain(() => sys.sigtimedwait(set, now0));
  sys.timer_delete(t2);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  const got = [a, ...rest].map((i) => ({ value: i.si_value, overrun: i.si_overrun }));
  assert.deepEqual(got, [{ value: 222, overrun: 2 }], 'only the live timer\'s signal, with its overruns');
});

test('timer_delete withdraws a timer signal handed to a sigwaiter: nothing pending for the LWP afterwards', async () => {
  const s = SIGRTMIN + 4;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const ac = new AbortController();
  const w = sys.sigwaitinfo_async(set, { signal: ac.signal });
  const t = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_SIGNAL, sigev_signo: s, sigev_value: 7 });
  sys.timer_settime(t, 0, { it_value: ms(1), it_interval: ms(0) });
  sys.clock_advance(CLOCK_MANUAL, ms(1));
  sys.timer_delete(t);
  const pending = sys.sigpending().toArray();
  // The waiter was woken for a signal that is gone: it waits on (nothing to take) until aborted.
  ac.abort();
  const outcome = await w.then((i) => `took value ${i.si_value}`, (e: Error) => e.name);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  assert.deepEqual(pending, [], 'the deleted timer\'s signal is not pending');
  assert.equal(outcome, 'AbortError');
});
