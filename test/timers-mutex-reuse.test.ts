/**
 * A timer's it_mutex outlives the timer. The taker of a timer's signal
 * matches it to its timer after the signal lock is dropped (signfy.ts
 * timer_signal_taken): it takes the it_mutex of the struct the signal names
 * and only then compares the creation generation, so it may hold the mutex
 * of a struct whose timer was deleted in the meantime. When timer_create
 * handed that struct out again, the cache zeroed it, mutex word included:
 * the new timer's first arm took the lock under its holder, and the
 * holder's release then found a word it did not own (a not-owner panic, or
 * a lock freed under its new holder).
 *
 * Deterministic: the window is held open by a wrapper around the take's
 * callback, which deletes the timer, has an LWP take the dead struct's
 * it_mutex as the late taker does (test/fixtures/hold-mutex.ts), and creates
 * the timer that reuses the struct while the LWP holds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { sig_set_timer_ops } from '../src/signals/kapi.js';
import { timer_signal_taken } from '../src/timers/signfy.js';
import { IT, itimers } from '../src/timers/itimer.js';

const { SIGRTMIN, SIG_BLOCK, SIG_SETMASK, CLOCK_MANUAL, SIGEV_SIGNAL } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const ms = (n: number): sys.Timespec => ({ tv_sec: 0, tv_nsec: n * 1e6 });
const now0 = { tv_sec: 0, tv_nsec: 0 };
const fixture = new URL('./fixtures/hold-mutex.js', import.meta.url);

/** Waits (deadline 20 s) until a[i] is not `v`. */
function until_not(a: Int32Array, i: number, v: number, what: string): number {
  const end = Date.now() + 20_000;
  while (Atomics.load(a, i) === v) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    Atomics.wait(a, i, v, 50);
  }
  return Atomics.load(a, i);
}

test('a struct reused by timer_create keeps the it_mutex a late signal taker holds', () => {
  const s = SIGRTMIN + 6;
  const set = set_of(s);
  sys.sigprocmask(SIG_BLOCK, set);
  const t1 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_SIGNAL, sigev_signo: s, sigev_value: 111 });
  sys.timer_settime(t1, 0, { it_value: ms(1), it_interval: ms(0) });
  sys.clock_advance(CLOCK_MANUAL, ms(1));
  const inuse0 = itimers.inuse;
  const sab = new SharedArrayBuffer(12);
  const h = new Int32Array(sab);
  const holder = sys.lwp_create({ module: fixture, export: 'holdMutex', arg: { sab } });
  let seen: { reused: boolean; word: number; before: number } | undefined;
  let t2 = -1;
  sig_set_timer_ops((it, gen) => {
    sig_set_timer_ops(timer_signal_taken);
    sys.timer_delete(t1);
    Atomics.store(h, 0, it + IT.mutex); Atomics.notify(h, 0); // the late taker takes the dead timer's lock
    until_not(h, 1, 0, 'the LWP to take the it_mutex');
    const before = I32[it + IT.mutex]!;
    t2 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_SIGNAL, sigev_signo: s, sigev_value: 222 });
    seen = { reused: itimers.inuse === inuse0 && I32[it + IT.tid] === t2, word: I32[it + IT.mutex]!, before };
    Atomics.store(h, 2, 1); Atomics.notify(h, 2);
    until_not(h, 1, 1, 'the LWP to release the it_mutex');
    return timer_signal_taken(it, gen);  // the generation no longer matches: nothing taken
  });
  let a: sys.siginfo_t;
  try { a = sys.sigtimedwait(set, now0); } finally { sig_set_timer_ops(timer_signal_taken); }
  assert.ok(seen?.reused, 'timer_create reused the deleted timer\'s struct (the case this test is about)');
  assert.equal(seen.before, holder, 'the LWP held the it_mutex');
  assert.equal(seen.word, holder, 'the holder still owns the it_mutex after the struct was handed out again');
  assert.equal(Atomics.load(h, 1), 2, 'the holder\'s release found its own lock');
  sys.lwp_wait(holder);
  // The new timer works: its lock is free again and its expiries signal.
  sys.timer_settime(t2, 0, { it_value: ms(1), it_interval: ms(1) });
  sys.clock_advance(CLOCK_MANUAL, ms(3));
  const b = sys.sigtimedwait(set, now0);
  sys.timer_delete(t2);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  assert.deepEqual([a.si_value, a.si_overrun, b.si_value, b.si_overrun], [111, 0, 222, 2]);
});
