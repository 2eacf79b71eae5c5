/**
 * Signals as event sources: EVFILT_SIGNAL (DragonFly's filt_sig: data counts
 * generations since the last retrieval, also while ignored, blocked or
 * coalesced; EV_CLEAR forced; every EV_* flag) and SIGEV_SIGNAL timers
 * (timer.c: SI_TIMER, si_value, expirations while pending counted as
 * overruns, timer_delete withdrawing the queued signal). Translated cases of
 * libkqueue's test/signal.c are marked (libkqueue).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until } from './helpers.js';

const { SIGUSR1, SIGUSR2, SIGRTMIN, EVFILT_SIGNAL, EV_ADD, EV_DELETE, EV_DISABLE, EV_ENABLE, EV_ONESHOT, EV_DISPATCH, EV_CLEAR, EV_RECEIPT, EV_ERROR, SIG_IGN, SIG_DFL, SIG_BLOCK, SIG_SETMASK } = sys;
const now0 = { tv_sec: 0, tv_nsec: 0 };
const set_of = (...s: number[]): sys.sigset_t => { const t = sys.sigemptyset(); for (const x of s) sys.sigaddset(t, x); return t; };
const poll = (kq: number): sys.kevent_t[] => sys.kevent(kq, null, 8, now0);
const add = (kq: number, s: number, flags = 0, udata = 0): sys.kevent_t[] => sys.kevent(kq, [sys.EV_SET(s, EVFILT_SIGNAL, EV_ADD | flags, 0, 0, udata)], 0, null);

test('EVFILT_SIGNAL counts generations of an ignored signal; EV_CLEAR is set; data starts again after retrieval (libkqueue)', () => {
  const kq = sys.kqueue();
  sys.sigaction(SIGUSR1, { sa_handler: SIG_IGN });
  add(kq, SIGUSR1, 0, 7);
  assert.deepEqual(poll(kq), []);
  for (let i = 0; i < 3; i++) sys.kill(process.pid, SIGUSR1);
  const ev = poll(kq);
  assert.equal(ev.length, 1);
  assert.deepEqual({ ...ev[0] }, { ident: SIGUSR1, filter: EVFILT_SIGNAL, flags: EV_ADD | EV_CLEAR, fflags: 0, data: 3, udata: 7 });
  assert.deepEqual(poll(kq), []);
  sys.kill(process.pid, SIGUSR1);
  assert.equal(poll(kq)[0]!.data, 1);
  sys.close(kq);
  sys.sigaction(SIGUSR1, { sa_handler: SIG_DFL });
});

test('EVFILT_SIGNAL counts a blocked signal\'s generations, coalesced ones too, and takes nothing', () => {
  const kq = sys.kqueue();
  sys.sigprocmask(SIG_BLOCK, set_of(SIGUSR2));
  add(kq, SIGUSR2);
  for (let i = 0; i < 4; i++) sys.kill(process.pid, SIGUSR2);
  assert.equal(poll(kq)[0]!.data, 4);
  assert.deepEqual(sys.sigpending().toArray(), [SIGUSR2]);
  assert.equal(sys.sigtimedwait(set_of(SIGUSR2), now0).si_signo, SIGUSR2);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  sys.close(kq);
});

test('EVFILT_SIGNAL flags: EV_DISABLE keeps counting, EV_ENABLE reports, EV_ONESHOT and EV_DISPATCH, EV_DELETE then ENOENT, EV_RECEIPT (libkqueue)', () => {
  const kq = sys.kqueue();
  sys.sigaction(SIGUSR1, { sa_handler: SIG_IGN });
  add(kq, SIGUSR1);
  sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_DISABLE, 0, 0, 0)], 0, null);
  sys.kill(process.pid, SIGUSR1); sys.kill(process.pid, SIGUSR1);
  assert.deepEqual(poll(kq), []);
  sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_ENABLE, 0, 0, 0)], 0, null);
  assert.equal(poll(kq)[0]!.data, 2);
  sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_DELETE, 0, 0, 0)], 0, null);
  sys.kill(process.pid, SIGUSR1);
  assert.deepEqual(poll(kq), []);
  assert.throws(() => sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_DELETE, 0, 0, 0)], 0, null), { code: 'ENOENT' });
  add(kq, SIGUSR1, EV_ONESHOT);
  sys.kill(process.pid, SIGUSR1);
  assert.equal(poll(kq).length, 1);
  sys.kill(process.pid, SIGUSR1);
  assert.deepEqual(poll(kq), []); // gone after one report
  add(kq, SIGUSR1, EV_DISPATCH);
  sys.kill(process.pid, SIGUSR1);
  assert.equal(poll(kq).length, 1);
  sys.kill(process.pid, SIGUSR1);
  assert.deepEqual(poll(kq), []); // disabled after its report
  sys.kevent(kq, [sys.EV_SET(SIGUSR1, EVFILT_SIGNAL, EV_ENABLE, 0, 0, 0)], 0, null);
  assert.equal(poll(kq)[0]!.data, 1);
  const r = sys.kevent(kq, [sys.EV_SET(SIGUSR2, EVFILT_SIGNAL, EV_ADD | EV_RECEIPT, 0, 0, 0)], 1, null);
  assert.equal(r[0]!.flags & EV_ERROR, EV_ERROR);
  assert.equal(r[0]!.data, 0);
  sys.close(kq);
  sys.sigaction(SIGUSR1, { sa_handler: SIG_DFL });
});

test('EVFILT_SIGNAL: EINVAL for a signal number out of range', () => {
  const kq = sys.kqueue();
  for (const s of [0, 65, 1000]) assert.throws(() => add(kq, s), { code: 'EINVAL' });
  sys.close(kq);
});

test('EVFILT_SIGNAL wakes a kevent blocked in another wait: a signal sent by an LWP', async () => {
  const kq = sys.kqueue();
  sys.sigaction(SIGUSR2, { sa_handler: SIG_IGN });
  add(kq, SIGUSR2);
  const p = sys.kevent_async(kq, null, 4, { tv_sec: 5, tv_nsec: 0 });
  sys.lwp_create({ module: new URL('./fixtures/signals-pkg.js', import.meta.url), export: 'queues', arg: { signo: SIGUSR2, n: 1, base: 0 } }, sys.LWP_DETACHED);
  const ev = await p;
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.ident, SIGUSR2);
  sys.close(kq);
  sys.sigaction(SIGUSR2, { sa_handler: SIG_DFL });
  await until(() => sys.lwp_snapshot().lwps.length === 1, 5000, 'the LWP to end');
});

test('SIGEV_SIGNAL: SI_TIMER with si_value; expirations - deliveries - overruns = 0 against elapsed time', () => {
  const set = set_of(SIGRTMIN);
  sys.sigprocmask(SIG_BLOCK, set);
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: SIGRTMIN, sigev_value: 42 });
  const start = process.hrtime.bigint();
  sys.timer_settime(t, 0, { it_value: { tv_sec: 0, tv_nsec: 1e6 }, it_interval: { tv_sec: 0, tv_nsec: 1e6 } });
  let deliveries = 0, overruns = 0, lastCall = start;
  for (let i = 0; i < 60; i++) {
    lastCall = process.hrtime.bigint();
    const info = sys.sigwaitinfo(set);
    assert.equal(info.si_code, sys.SI_TIMER);
    assert.equal(info.si_value, 42);
    deliveries++; overruns += info.si_overrun;
    assert.equal(sys.timer_getoverrun(t), info.si_overrun);
    if (i === 30) { const end = Date.now() + 15; while (Date.now() < end); } // a stretch that overruns
  }
  const beforeLastMs = Number(lastCall - start) / 1e6;
  assert.ok(overruns >= 10, `overruns ${overruns}`);
  // Every period that ended before the last call began is counted, as a
  // delivery or an overrun: at once, or, when the clock thread lags on a
  // loaded machine (another test file on the other CPU), in the signals
  // that follow; a lost overrun count (the 15 ms stretch's) never comes.
  const need = Math.floor(beforeLastMs) - 1, catchUp = Date.now() + 2000;
  while (deliveries + overruns < need) {
    assert.ok(Date.now() < catchUp, `expirations ${deliveries + overruns}, still short of ${need} (${beforeLastMs} ms before the last call) after 2 s more`);
    const info = sys.sigwaitinfo(set);
    deliveries++; overruns += info.si_overrun;
  }
  // And never more than elapsed time allows.
  const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  const expirations = deliveries + overruns;
  assert.ok(expirations <= Math.floor(elapsedMs) + 1, `expirations ${expirations} in ${elapsedMs} ms`);
  sys.timer_delete(t);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
});

test('timer_delete withdraws the timer\'s queued signal; an ignored timer signal keeps the timer firing', async () => {
  const set = set_of(SIGRTMIN + 1);
  sys.sigprocmask(SIG_BLOCK, set);
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: SIGRTMIN + 1, sigev_value: 1 });
  sys.timer_settime(t, 0, { it_value: { tv_sec: 0, tv_nsec: 1e6 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
  await until(() => sys.sigpending().toArray().includes(SIGRTMIN + 1), 5000, 'the timer signal');
  sys.timer_delete(t);
  assert.deepEqual(sys.sigpending().toArray(), []);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
  // Ignored: every expiry is discarded, and the next one signals again (counted by EVFILT_SIGNAL).
  sys.sigaction(SIGRTMIN + 2, { sa_handler: SIG_IGN });
  const kq = sys.kqueue();
  add(kq, SIGRTMIN + 2);
  const t2 = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: SIGRTMIN + 2 });
  sys.timer_settime(t2, 0, { it_value: { tv_sec: 0, tv_nsec: 1e6 }, it_interval: { tv_sec: 0, tv_nsec: 1e6 } });
  let seen = 0;
  await until(() => { for (const e of poll(kq)) seen += e.data; return seen >= 5; }, 5000, 'five generations');
  sys.timer_delete(t2);
  sys.close(kq);
  sys.sigaction(SIGRTMIN + 2, { sa_handler: SIG_DFL });
});

test('a null sigevent is SIGALRM with the timer id as value (the clocks\' default)', () => {
  const set = set_of(sys.SIGALRM);
  sys.sigprocmask(SIG_BLOCK, set);
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, null);
  sys.timer_settime(t, 0, { it_value: { tv_sec: 0, tv_nsec: 1e6 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
  const info = sys.sigtimedwait(set, { tv_sec: 5, tv_nsec: 0 });
  assert.deepEqual([info.si_signo, info.si_code, info.si_value], [sys.SIGALRM, sys.SI_TIMER, t]);
  sys.timer_delete(t);
  sys.sigprocmask(SIG_SETMASK, sys.sigemptyset());
});
