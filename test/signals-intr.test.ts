/**
 * Every interruptible sleep, sync and async, interrupted by a caught signal,
 * with and without SA_RESTART: the handler runs first; the call fails with
 * EINTR, or (lwp_wait, sigwaitinfo, sigwait under the restart rules) starts
 * again. Never restarted: lwp_park, port_get(n), kevent, sigtimedwait,
 * sigsuspend (NetBSD's and the contract's list). LWP 1 sleeps; another LWP
 * sends the signal once it sees LWP 1 asleep (no sleeps in the test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until, within } from './helpers.js';

const sigs = new URL('./fixtures/signals-pkg.js', import.meta.url);
const { SIGUSR1, SIGUSR2, SA_RESTART, SIG_DFL } = sys;
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };

function sender(first: number, second = 0): void {
  sys.lwp_create({ module: sigs, export: 'sendsTwo', arg: { first, second } }, sys.LWP_DETACHED);
}
/** Takes what a case left pending of `set` (the second signal, when the first ended the call). */
function drain(set: sys.sigset_t): void {
  for (;;) { try { sys.sigtimedwait(set, { tv_sec: 0, tv_nsec: 0 }); } catch { return; } }
}
const settle = (): Promise<void> => until(() => sys.lwp_snapshot().lwps.length === 1, 5000, 'the sender to end');

interface Case { name: string; sync: () => unknown; async: () => Promise<unknown> }
const never: Case[] = [
  { name: 'lwp_park', sync: () => sys.lwp_park(null), async: () => sys.lwp_park_async(null) },
  { name: 'port_get', sync: () => { const p = sys.port_create(); try { return sys.port_get(p, null); } finally { sys.close(p); } },
    async: async () => { const p = sys.port_create(); try { return await sys.port_get_async(p, null); } finally { sys.close(p); } } },
  { name: 'port_getn', sync: () => { const p = sys.port_create(); try { return sys.port_getn(p, 4, 2, null); } finally { sys.close(p); } },
    async: async () => { const p = sys.port_create(); try { return await sys.port_getn_async(p, 4, 2, null); } finally { sys.close(p); } } },
  { name: 'kevent', sync: () => { const k = sys.kqueue(); try { return sys.kevent(k, null, 4, null); } finally { sys.close(k); } },
    async: async () => { const k = sys.kqueue(); try { return await sys.kevent_async(k, null, 4, null); } finally { sys.close(k); } } },
  { name: 'sigtimedwait', sync: () => sys.sigtimedwait(set_of(SIGUSR2), { tv_sec: 10, tv_nsec: 0 }),
    async: () => sys.sigtimedwait_async(set_of(SIGUSR2), { tv_sec: 10, tv_nsec: 0 }) },
];

for (const c of never) {
  for (const restart of [false, true]) {
    test(`${c.name} (sync and async) fails with EINTR after the handler ran${restart ? ', SA_RESTART or not' : ''}`, async () => {
      const order: string[] = [];
      sys.sigaction(SIGUSR1, { sa_handler: () => { order.push('handler'); }, sa_flags: restart ? SA_RESTART : 0 });
      sys.sigprocmask(sys.SIG_BLOCK, set_of(SIGUSR2));
      sender(SIGUSR1);
      assert.throws(() => c.sync(), (e: sys.SysError) => { order.push(e.code); return e.code === 'EINTR'; });
      await settle();
      sender(SIGUSR1);
      await assert.rejects(within(c.async(), 5000, c.name), (e: sys.SysError) => { order.push(e.code); return e.code === 'EINTR'; });
      await settle();
      assert.deepEqual(order, ['handler', 'EINTR', 'handler', 'EINTR']);
      sys.sigaction(SIGUSR1, { sa_handler: SIG_DFL });
      sys.sigprocmask(sys.SIG_SETMASK, sys.sigemptyset());
    });
  }
}

for (const restart of [false, true]) {
  test(`sigwaitinfo interrupted by another signal's handler: ${restart ? 'SA_RESTART waits on and returns the awaited signal' : 'EINTR'}`, async () => {
    let ran = 0;
    sys.sigaction(SIGUSR1, { sa_handler: () => { ran++; }, sa_flags: restart ? SA_RESTART : 0 });
    const set = set_of(SIGUSR2);
    sys.sigprocmask(sys.SIG_BLOCK, set);
    sender(SIGUSR1, SIGUSR2);
    if (restart) assert.equal(sys.sigwaitinfo(set).si_signo, SIGUSR2);
    else assert.throws(() => sys.sigwaitinfo(set), { code: 'EINTR' });
    await settle();
    drain(set);
    sender(SIGUSR1, SIGUSR2);
    if (restart) assert.equal((await within(sys.sigwaitinfo_async(set), 5000, 'sigwaitinfo_async')).si_signo, SIGUSR2);
    else await assert.rejects(sys.sigwaitinfo_async(set), { code: 'EINTR' });
    await settle();
    assert.equal(ran, 2);
    drain(set);
    sys.sigaction(SIGUSR1, { sa_handler: SIG_DFL });
    sys.sigprocmask(sys.SIG_SETMASK, sys.sigemptyset());
  });
}

test('sigwait restarts after a handler even without SA_RESTART (POSIX: it never fails with EINTR)', async () => {
  let ran = 0;
  sys.sigaction(SIGUSR1, { sa_handler: () => { ran++; } });
  const set = set_of(SIGUSR2);
  sys.sigprocmask(sys.SIG_BLOCK, set);
  sender(SIGUSR1, SIGUSR2);
  assert.equal(sys.sigwait(set), SIGUSR2);
  assert.equal(ran, 1);
  await settle();
  sys.sigaction(SIGUSR1, { sa_handler: SIG_DFL });
  sys.sigprocmask(sys.SIG_SETMASK, sys.sigemptyset());
});
