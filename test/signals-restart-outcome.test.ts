/**
 * A restartable async call interrupted by a signal decides whether to
 * restart from what the signal step did in its interrupted sleep (the
 * handlers ran: kern/sysent.ts PS_*). That outcome was one word per thread,
 * set by the sleep's settle (sq_relock) and read some microtasks later, when
 * the call's EINTR reached run_async_restart; every sleep that began in
 * between (sq_sleep_async: sysent_sleep_begin) wiped it. So another async
 * call of the same thread starting a sleep in that gap (here: one started
 * from a microtask the handler queued; any promise chain of the thread can
 * land there) turned the restart into an EINTR: a sigwait_async rejected
 * with EINTR, which it never does, and an lwp_wait_async under SA_RESTART
 * failed instead of going on waiting. (Finding of the kern core review.)
 *
 * Deterministic: the handler runs inside the interrupted call's settle, its
 * microtask runs before the rejection reaches the restart loop (queued
 * first), and the gap's sleep is a port_get_async of 1 ms on an empty port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { within, until } from './helpers.js';

const { SIGUSR1, SIGUSR2, SIG_BLOCK, SIG_SETMASK, SIG_DFL, SA_RESTART } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const reset = (...s: number[]): void => { for (const x of s) sys.sigaction(x, { sa_handler: SIG_DFL }); sys.sigprocmask(SIG_SETMASK, sys.sigemptyset()); };
/** Starts an async sleep of 1 ms in this thread (a port_get on an empty port), settled quietly. */
const gapSleep = (done: Promise<unknown>[], port: number): void => {
  done.push(sys.port_get_async(port, { tv_sec: 0, tv_nsec: 1e6 }).catch((e: sys.SysError) => e.code));
};

test('a sigwait_async interrupted by a handler restarts even when another async sleep of its thread begins before the restart', async () => {
  const done: Promise<unknown>[] = [];
  const port = sys.port_create();
  let ran = 0;
  // No SA_RESTART: sigwait restarts after any handler that ran.
  sys.sigaction(SIGUSR1, { sa_handler: () => { ran++; queueMicrotask(() => gapSleep(done, port)); } });
  sys.sigprocmask(SIG_BLOCK, set_of(SIGUSR2));
  const outcome = sys.sigwait_async(set_of(SIGUSR2)).then((s) => s, (e: sys.SysError) => e.code);
  await until(() => sys.lwp_snapshot().lwps.find((l) => l.lid === sys.lwp_self())?.state === 'SLEEP', 5000, 'the wait to sleep');
  sys.lwp_kill(sys.lwp_self(), SIGUSR1);
  await until(() => ran === 1, 5000, 'the handler');
  sys.kill(process.pid, SIGUSR2);
  assert.equal(await within(outcome, 5000, 'sigwait_async'), SIGUSR2, 'sigwait_async ended with EINTR instead of restarting');
  assert.deepEqual(await Promise.all(done), ['ETIME']);
  sys.close(port);
  reset(SIGUSR1);
});

test('an lwp_wait_async interrupted by an SA_RESTART handler restarts even when another async sleep of its thread begins before the restart', async () => {
  const done: Promise<unknown>[] = [];
  const port = sys.port_create();
  let ran = 0;
  sys.sigaction(SIGUSR1, { sa_handler: () => { ran++; queueMicrotask(() => gapSleep(done, port)); }, sa_flags: SA_RESTART });
  const sysUrl = import.meta.resolve('ukern/sys'); // (the LWP's kernel is the same module instance as this thread's)
  const mod = `import * as sys from ${JSON.stringify(sysUrl)};\nexport function run() { try { sys.lwp_park(null, 77); } catch {} return 0; }\n`;
  const target = sys.lwp_create({ module: 'data:text/javascript,' + encodeURIComponent(mod), export: 'run' });
  const outcome = sys.lwp_wait_async(target).then((l) => l, (e: sys.SysError) => e.code);
  await until(() => sys.lwp_snapshot().lwps.find((l) => l.lid === sys.lwp_self())?.state === 'SLEEP', 5000, 'the wait to sleep');
  sys.lwp_kill(sys.lwp_self(), SIGUSR1);
  await until(() => ran === 1, 5000, 'the handler');
  sys.lwp_unpark(target, 77);
  assert.equal(await within(outcome, 5000, 'lwp_wait_async'), target, 'lwp_wait_async ended with EINTR instead of restarting');
  assert.deepEqual(await Promise.all(done), ['ETIME']);
  sys.close(port);
  reset(SIGUSR1);
});
