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
 * Deterministic: an LWP's async sigwaitinfo cannot resume while its thread
 * is blocked in Atomics.wait, so each waiter stays one until the test
 * releases it. The start function is this file's own export (run in the
 * LWP's worker, where no test is registered).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from 'ukern/sys';

const { SIGRTMIN, SIG_BLOCK, SIG_SETMASK } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const now0 = { tv_sec: 0, tv_nsec: 0 };

/**
 * In an LWP (its mask inherited: arg.signo blocked): with arg.late, waits
 * for a[1] = 4 first; starts an async sigwaitinfo for arg.signo, says so
 * (a[0] = 1), blocks its thread until a[1] is 1 or 2, then exits at once
 * (2) or lets the wait run (1): a[2] the value it returned, a[0] = 2; then
 * it lives on, still blocking the signal, until a[1] = 3.
 */
export async function asyncWaiter(arg: { sab: SharedArrayBuffer; signo: number; late: boolean }): Promise<void> {
  const a = new Int32Array(arg.sab);
  for (let c = Atomics.load(a, 1); arg.late && c !== 4; c = Atomics.load(a, 1)) Atomics.wait(a, 1, c, 1000);
  const w = sys.sigwaitinfo_async(set_of(arg.signo));
  w.catch(() => {});
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  for (let c = Atomics.load(a, 1); c !== 1 && c !== 2; c = Atomics.load(a, 1)) Atomics.wait(a, 1, c, 1000);
  if (Atomics.load(a, 1) === 2) sys.lwp_exit();
  const info = await w;
  a[2] = info.si_value;
  Atomics.store(a, 0, 2); Atomics.notify(a, 0);
  while (Atomics.load(a, 1) !== 3) Atomics.wait(a, 1, 1, 1000);
}

const self = new URL(import.meta.url);
interface Waiter { lid: number; a: Int32Array }
/** Waits (deadline 10 s) for a[0] to reach `v`. */
function reach(w: Waiter, v: number, what: string): void {
  const end = Date.now() + 10_000;
  while (Atomics.load(w.a, 0) < v) {
    if (Date.now() > end) throw new Error(`timed out: LWP ${w.lid} ${what}`);
    Atomics.wait(w.a, 0, v - 1, 50);
  }
}
/** An LWP in sigwait for signo; with `late`, one that starts its wait at go(). */
function start(signo: number, late = false): Waiter {
  const sab = new SharedArrayBuffer(16);
  const w = { lid: sys.lwp_create({ module: self, export: 'asyncWaiter', arg: { sab, signo, late } }), a: new Int32Array(sab) };
  if (!late) reach(w, 1, 'started its wait');
  return w;
}
function release(w: Waiter, how: number): void { Atomics.store(w.a, 1, how); Atomics.notify(w.a, 1); }
function go(w: Waiter): void { release(w, 4); reach(w, 1, 'started its wait'); }
function drain(set: sys.sigset_t): (number | string)[] {
  const r: (number | string)[] = [];
  for (let i = take_now(set); ; i = take_now(set)) {
    r.push(typeof i === 'string' ? i : i.si_value);
    if (typeof i === 'string') return r;
  }
}
function take_now(set: sys.sigset_t): sys.siginfo_t | string {
  try { return sys.sigtimedwait(set, now0); } catch (e) { return (e as sys.SysError).code; }
}

if (isMainThread) {
  test('a realtime signal a sigwaiter gives back goes before the younger ones of its number', () => {
    const s = SIGRTMIN + 10;
    const set = set_of(s);
    sys.sigprocmask(SIG_BLOCK, set);
    const w1 = start(s), w2 = start(s);
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
    assert.deepEqual({ first: w1.a[2], second: w2.a[2], after }, { first: 1, second: 2, after: [3, 4, 'EAGAIN'] });
  });

  test('a realtime signal given back is handed to a waiter before the younger one it holds', () => {
    const s = SIGRTMIN + 11;
    const set = set_of(s);
    sys.sigprocmask(SIG_BLOCK, set);
    const w1 = start(s, true), w2 = start(s); // w1 first on the list of live LWPs, waiting later
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
    assert.deepEqual({ first: w1.a[2], after }, { first: 1, after: [2, 'EAGAIN'] });
  });
}
