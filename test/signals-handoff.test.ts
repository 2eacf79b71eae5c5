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
 * Deterministic: the waiter's async sigwaitinfo cannot resume while its
 * thread is blocked in Atomics.wait, which the test ends when it is done.
 * The start function is this file's own export (run in the LWP's worker,
 * where no test is registered).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from 'ukern/sys';

const { SIGRTMIN, SIGUSR2, SIG_BLOCK, SIG_SETMASK } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const now0 = { tv_sec: 0, tv_nsec: 0 };

/**
 * In an LWP (its mask inherited: arg.signo blocked): starts an async
 * sigwaitinfo for arg.signo, says so (a[0] = 1), blocks its thread until
 * a[1] is set, then exits at once (a[1] = 2) or lets the wait run (a[1] =
 * 1): a[2], a[3] the signal and value it returned, a[0] = 2; then, still
 * blocking the signal and no longer waiting, it lives on until a[1] = 3.
 */
export async function asyncWaiter(arg: { sab: SharedArrayBuffer; signo: number }): Promise<void> {
  const a = new Int32Array(arg.sab);
  const w = sys.sigwaitinfo_async(set_of(arg.signo));
  w.catch(() => {});
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  Atomics.wait(a, 1, 0);
  if (Atomics.load(a, 1) === 2) sys.lwp_exit();
  const info = await w;
  a[2] = info.si_signo; a[3] = info.si_value;
  Atomics.store(a, 0, 2); Atomics.notify(a, 0);
  while (Atomics.load(a, 1) !== 3) Atomics.wait(a, 1, 1, 1000);
}

/**
 * As asyncWaiter, with a function handler for arg.intr (its wait ends in
 * EINTR when arg.intr is sent at it): a[2] 1 when the wait failed EINTR,
 * a[3] the handler's runs; a[0] = 2 at the end.
 */
export async function asyncWaiterIntr(arg: { sab: SharedArrayBuffer; signo: number; intr: number }): Promise<void> {
  const a = new Int32Array(arg.sab);
  sys.sigaction(arg.intr, { sa_handler: () => { a[3] = a[3]! + 1; } });
  const w = sys.sigwaitinfo_async(set_of(arg.signo));
  Atomics.store(a, 0, 1); Atomics.notify(a, 0);
  Atomics.wait(a, 1, 0);
  try { await w; } catch (e) { if ((e as sys.SysError).code === 'EINTR') a[2] = 1; }
  Atomics.store(a, 0, 2); Atomics.notify(a, 0);
  while (Atomics.load(a, 1) !== 3) Atomics.wait(a, 1, 1, 1000);
}

const self = new URL(import.meta.url);
function start(signo: number, intr = 0): { lid: number; a: Int32Array } {
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const lid = intr === 0 ? sys.lwp_create({ module: self, export: 'asyncWaiter', arg: { sab, signo } })
    : sys.lwp_create({ module: self, export: 'asyncWaiterIntr', arg: { sab, signo, intr } });
  while (Atomics.load(a, 0) === 0) Atomics.wait(a, 0, 0, 1000);
  return { lid, a };
}
function take_now(set: sys.sigset_t): sys.siginfo_t | string {
  try { return sys.sigtimedwait(set, now0); } catch (e) { return (e as sys.SysError).code; }
}

if (isMainThread) {
  test('signals handed to a sigwaiter before it ran again: its wait returns one, the others are the process\'s, for another LWP to take', async () => {
    const s = SIGRTMIN + 5;
    const set = set_of(s);
    sys.sigprocmask(SIG_BLOCK, set);
    const { lid, a } = start(s);
    sys.sigqueue(process.pid, s, 1); // handed to the waiter: it wakes
    sys.sigqueue(process.pid, s, 2); // it is a waiter until it runs: handed too
    Atomics.store(a, 1, 1); Atomics.notify(a, 1);
    while (Atomics.load(a, 0) !== 2) Atomics.wait(a, 0, 1, 1000); // its wait returned
    const other = take_now(set); // it blocks s and waits no more: value 2 is for this LWP
    Atomics.store(a, 1, 3); Atomics.notify(a, 1);
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
      const { lid, a } = start(s);
      sys.sigqueue(process.pid, s, v); // handed to the waiter
      Atomics.store(a, 1, 2); Atomics.notify(a, 1); // which exits without taking it
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
    const { lid, a } = start(s, intr);
    sys.lwp_kill(lid, intr); // ends its sleep (EINTR to come)
    sys.sigqueue(process.pid, s, 5); // it is still a waiter until it runs: handed to it
    Atomics.store(a, 1, 1); Atomics.notify(a, 1);
    while (Atomics.load(a, 0) !== 2) Atomics.wait(a, 0, 1, 1000);
    const other = take_now(set);
    Atomics.store(a, 1, 3); Atomics.notify(a, 1);
    sys.lwp_wait(lid);
    const late = take_now(set); // before s is unblocked here (its default action would end the process)
    sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
    sys.sigaction(intr, { sa_handler: sys.SIG_DFL });
    assert.deepEqual({ eintr: a[2], handled: a[3], other: typeof other === 'string' ? other : other.si_value, late: typeof late === 'string' ? late : 'taken after the LWP exited' },
      { eintr: 1, handled: 1, other: 5, late: 'EAGAIN' });
  });
}
