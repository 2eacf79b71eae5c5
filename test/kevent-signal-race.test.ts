/**
 * EVFILT_SIGNAL against concurrent generations (filters/sig.ts): an LWP
 * kill(2)s the process in a loop while this thread adds, deletes and
 * retrieves knotes. A generation notes each knote of the signal under the
 * list's lock and runs it later under its kqueue's lock: it must run only a
 * knote that is still the one it noted (a deleted knote's memory is reused
 * at once, here by an EVFILT_USER knote whose data must stay its own), and every
 * generation is counted exactly once by a knote that watched throughout, on
 * another kqueue. For an ignored signal and for a blocked one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until } from './helpers.js';

const { SIGUSR1, SIGUSR2, EVFILT_SIGNAL, EVFILT_USER, EV_ADD, EV_DELETE, EV_CLEAR, NOTE_TRIGGER, SIG_IGN, SIG_DFL, SIG_BLOCK, SIG_SETMASK } = sys;
const now0 = { tv_sec: 0, tv_nsec: 0 };
const fx = new URL('./fixtures/signals-pkg.js', import.meta.url);

function churn(signo: number, ms: number): void {
  const steady = sys.kqueue(), churned = sys.kqueue();
  sys.kevent(steady, [sys.EV_SET(signo, EVFILT_SIGNAL, EV_ADD, 0, 0, 0)], 0, null);
  const sab = new SharedArrayBuffer(8);
  const a = new Int32Array(sab);
  const lid = sys.lwp_create({ module: fx, export: 'killsUntilStopped', arg: { sab, signo } });
  let counted = 0, rounds = 0, churnedSeen = 0;
  const take = (): void => { for (const ev of sys.kevent(steady, null, 4, now0)) { assert.equal(ev.ident, signo); counted += ev.data; } };
  try {
    const end = Date.now() + ms;
    while (Date.now() < end || Atomics.load(a, 1) < 200) {
      // A signal knote, then in all likelihood the same memory as an EVFILT_USER knote, triggered with data 0.
      sys.kevent(churned, [sys.EV_SET(signo, EVFILT_SIGNAL, EV_ADD, 0, 0, 1)], 0, null);
      for (const ev of sys.kevent(churned, null, 4, now0)) { assert.equal(ev.filter, EVFILT_SIGNAL); assert.ok(ev.data >= 1); churnedSeen += ev.data; }
      sys.kevent(churned, [sys.EV_SET(signo, EVFILT_SIGNAL, EV_DELETE, 0, 0, 0), sys.EV_SET(7, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, 2)], 0, null);
      const u = sys.kevent(churned, null, 4, now0);
      assert.deepEqual(u.map((ev) => [ev.ident, ev.filter, ev.data]), [[7, EVFILT_USER, 0]], 'the EVFILT_USER knote reports its own event, data 0');
      sys.kevent(churned, [sys.EV_SET(7, EVFILT_USER, EV_DELETE, 0, 0, 0)], 0, null);
      if ((++rounds & 15) === 0) take();
    }
  } finally {
    // Stopped whatever failed: the signal's disposition is put back after this.
    Atomics.store(a, 0, 1);
    sys.lwp_wait(lid);
  }
  take();
  assert.equal(counted, Atomics.load(a, 1), `the steady knote's data against the generations (${rounds} rounds)`);
  assert.ok(churnedSeen <= counted);
  sys.close(steady); sys.close(churned);
}

test('EVFILT_SIGNAL of an ignored signal: knotes added and deleted during generations; another kqueue counts each once', () => {
  sys.sigaction(SIGUSR1, { sa_handler: SIG_IGN });
  try { churn(SIGUSR1, 1500); } finally { sys.sigaction(SIGUSR1, { sa_handler: SIG_DFL }); }
});

test('EVFILT_SIGNAL of a blocked signal: the same, the signal left pending once', () => {
  const set = sys.sigemptyset(); sys.sigaddset(set, SIGUSR2);
  sys.sigprocmask(SIG_BLOCK, set); // the LWP inherits the mask
  try {
    churn(SIGUSR2, 1500);
    assert.deepEqual(sys.sigpending().toArray(), [SIGUSR2]);
    assert.equal(sys.sigtimedwait(set, now0).si_signo, SIGUSR2);
  } finally {
    // Taken before the unblock whatever failed: its default action would end the test process.
    try { sys.sigtimedwait(set, now0); } catch { /* none pending */ }
    sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  }
});

test('a kevent blocked in another LWP hears every generation once it returns (kill from LWP 1)', async () => {
  sys.sigaction(SIGUSR2, { sa_handler: SIG_IGN });
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(SIGUSR2, EVFILT_SIGNAL, EV_ADD, 0, 0, 0)], 0, null);
  try {
    let total = 0;
    for (let i = 0; i < 20; i++) {
      const p = sys.kevent_async(kq, null, 1, { tv_sec: 5, tv_nsec: 0 });
      sys.kill(process.pid, SIGUSR2);
      if (i % 2 === 0) sys.kill(process.pid, SIGUSR2);
      const ev = await p;
      assert.equal(ev.length, 1);
      total += ev[0]!.data;
    }
    await until(() => { for (const ev of sys.kevent(kq, null, 1, now0)) total += ev.data; return total === 30; }, 2000, 'every generation counted');
  } finally {
    sys.close(kq);
    sys.sigaction(SIGUSR2, { sa_handler: SIG_DFL });
  }
});
