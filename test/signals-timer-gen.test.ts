/**
 * A timer's signal is matched to its timer when it is taken, after the
 * signal lock is dropped (the timer's it_mutex comes first: sigqueue.ts
 * sig_unlock). In that window another LWP may delete the timer and create
 * one that reuses its struct and its id (the lowest free), and that timer
 * may fire: the stale take then matched the new timer by (struct, id) and
 * took its pending expirations, so the old signal reported the new timer's
 * overruns and the new timer's own signal reported none.
 *
 * Deterministic: the window is held open in this thread by a wrapper around
 * the take's callback (signfy.ts timer_signal_taken, the real one called
 * after), which deletes, creates and fires first, as another LWP would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { take_until_eagain } from './helpers.js';
import * as sys from '../src/sys/index.js';
import { sig_set_timer_ops } from '../src/signals/kapi.js';
import { timer_signal_taken } from '../src/timers/signfy.js';

const { SIGRTMIN, SIG_BLOCK, SIG_SETMASK, CLOCK_MANUAL, SIGEV_SIGNAL } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const ms = (n: number): sys.Timespec => ({ tv_sec: 0, tv_nsec: n * 1e6 });
const now0 = { tv_sec: 0, tv_nsec: 0 };

test('a signal taken while its timer is deleted and its struct and id reused does not take the new timer\'s expirations', () => {
  const s = SIGRTMIN + 5;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const t1 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_SIGNAL, sigev_signo: s, sigev_value: 111 });
  sys.timer_settime(t1, 0, { it_value: ms(1), it_interval: ms(0) });
  sys.clock_advance(CLOCK_MANUAL, ms(1));
  let t2 = -1, once = true;
  sig_set_timer_ops((it, x) => {
    if (once) {
      once = false;
      sys.timer_delete(t1);
      t2 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_SIGNAL, sigev_signo: s, sigev_value: 222 });
      sys.timer_settime(t2, 0, { it_value: ms(1), it_interval: ms(1) });
      sys.clock_advance(CLOCK_MANUAL, ms(3)); // three expirations, one signal
    }
    return timer_signal_taken(it, x);
  });
  let a: sys.siginfo_t;
  try { a = sys.sigtimedwait(set, now0); } finally { sig_set_timer_ops(timer_signal_taken); }
  assert.equal(t2, t1, 'the id is reused (the case this test is about)');
  const rest = take_until_eagain(() => sys.sigtimedwait(set, now0));
  sys.timer_delete(t2);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  const got = [a, ...rest].map((i) => ({ value: i.si_value, overrun: i.si_overrun }));
  assert.deepEqual(got, [{ value: 111, overrun: 0 }, { value: 222, overrun: 2 }], 'each signal with its own timer\'s overruns');
});
