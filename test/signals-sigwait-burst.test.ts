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
 * Deterministic: an LWP's async sigwaitinfo cannot resume while its thread
 * is blocked in Atomics.wait, so each waiter stays one (its wait set
 * registered) until the test releases it. The start function is this file's
 * own export (run in the LWP's worker, where no test is registered).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from 'ukern/sys';

const { SIGRTMIN, SIG_BLOCK, SIG_SETMASK } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const now0 = { tv_sec: 0, tv_nsec: 0 };

/**
 * In an LWP (its mask inherited: arg.signo blocked): starts an async
 * sigwaitinfo for arg.signo, says so (a[0] = 1), blocks its thread until
 * a[1] is set, then exits at once (a[1] = 2) or lets the wait run (a[1] =
 * 1): a[2] the value it returned, a[0] = 2; then it lives on, still
 * blocking the signal, until a[1] = 3.
 */
export async function asyncWaiter(arg: { sab: SharedArrayBuffer; signo: number }): Promise<void> {
  const a = new Int32Array(arg.sab);
  const w = sys.sigwaitinfo_async(set_of(arg.signo));
  w.catch(() => {});
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  Atomics.wait(a, 1, 0);
  if (Atomics.load(a, 1) === 2) sys.lwp_exit();
  const info = await w;
  a[2] = info.si_value;
  Atomics.store(a, 0, 2); Atomics.notify(a, 0);
  while (Atomics.load(a, 1) !== 3) Atomics.wait(a, 1, 1, 1000);
}

const self = new URL(import.meta.url);
interface Waiter { lid: number; a: Int32Array }
function start(signo: number): Waiter {
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const lid = sys.lwp_create({ module: self, export: 'asyncWaiter', arg: { sab, signo } });
  const end = Date.now() + 10_000;
  while (Atomics.load(a, 0) === 0) {
    if (Date.now() > end) throw new Error(`LWP ${lid} never started its wait`);
    Atomics.wait(a, 0, 0, 100);
  }
  return { lid, a };
}
function release(w: Waiter, how: number): void { Atomics.store(w.a, 1, how); Atomics.notify(w.a, 1); }
/** Waits (deadline `ms`) for the waiter's wait to return; false when it did not. */
function returned(w: Waiter, ms: number): boolean {
  const end = Date.now() + ms;
  while (Atomics.load(w.a, 0) !== 2) {
    if (Date.now() > end) return false;
    Atomics.wait(w.a, 0, 1, 50);
  }
  return true;
}
function take_now(set: sys.sigset_t): sys.siginfo_t | string {
  try { return sys.sigtimedwait(set, now0); } catch (e) { return (e as sys.SysError).code; }
}

if (isMainThread) {
  for (const first of ['takes one', 'exits'] as const) {
    test(`a burst given back by a sigwaiter that ${first === 'takes one' ? 'takes one of it' : 'exits without taking it'} reaches every other waiter`, () => {
      const s = SIGRTMIN + 9;
      const set = set_of(s);
      sys.sigprocmask(SIG_BLOCK, set);
      // The first waiter is set up first: first on the list of live LWPs, it
      // is handed the whole burst (none of s pending on the process meanwhile).
      const w1 = start(s), w2 = start(s), w3 = start(s);
      const n = first === 'takes one' ? 3 : 2; // one for each LWP that goes on waiting
      for (let v = 1; v <= n; v++) sys.sigqueue(process.pid, s, v);
      const got: number[] = [];
      if (first === 'takes one') {
        release(w1, 1);
        assert.ok(returned(w1, 10_000), 'the first waiter\'s wait returned');
        got.push(w1.a[2]!);
      } else {
        release(w1, 2);
        sys.lwp_wait(w1.lid);
      }
      release(w2, 1); release(w3, 1);
      const asleep: number[] = [];
      for (const w of [w2, w3]) if (!returned(w, 10_000)) asleep.push(w.lid);
      // Passed over: a signal more wakes it (the test's clean-up), before the asserts.
      for (let i = 0; i < asleep.length; i++) sys.sigqueue(process.pid, s, 100 + i);
      for (const w of [w2, w3]) { assert.ok(returned(w, 10_000), `LWP ${w.lid}'s wait returned after the clean-up`); got.push(w.a[2]!); }
      const left: (number | string)[] = [];
      for (let r = take_now(set); typeof r !== 'string'; r = take_now(set)) left.push(r.si_value);
      for (const w of first === 'takes one' ? [w1, w2, w3] : [w2, w3]) release(w, 3);
      for (const w of first === 'takes one' ? [w1, w2, w3] : [w2, w3]) sys.lwp_wait(w.lid);
      sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
      assert.deepEqual({ asleep, got: got.sort((x, y) => x - y), left },
        { asleep: [], got: first === 'takes one' ? [1, 2, 3] : [1, 2], left: [] });
    });
  }
}
