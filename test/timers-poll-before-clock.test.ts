/**
 * A SIGEV_SIGNAL timer armed by the main thread before the clock thread
 * runs, then waited for with calls that never sleep (sigtimedwait with a
 * zero timeout, sigpending), the event loop never turning: the expiry
 * fires at one of those calls' entries. The clock thread's start for a near
 * expiry waits for the event loop, and the bridge lives there too; a
 * blocked thread fires what is due in its sleep, a port poll through its
 * deadline-aware look, but a signal poll had nothing: the 1 ms timer's
 * signal never came. Both polls run in the first synchronous stretch of
 * the process, before any event-loop turn could start the clock thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { clock_thread_running } from '../src/timers/clockstats.js';

sys.boot({});

const DEADLINE_MS = 5_000;
const ms1 = { it_value: { tv_sec: 0, tv_nsec: 1e6 }, it_interval: { tv_sec: 0, tv_nsec: 0 } };

test('a signal timer\'s expiry reaches a zero-timeout sigtimedwait, and sigpending, with no event-loop turn', () => {
  const set = sys.sigemptyset();
  sys.sigaddset(set, sys.SIGUSR2);
  sys.sigaddset(set, sys.SIGRTMIN);
  sys.sigprocmask(sys.SIG_BLOCK, set);
  const a = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sys.SIGUSR2, sigev_value: 7 });
  const b = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sys.SIGRTMIN, sigev_value: 8 });
  try {
    assert.equal(clock_thread_running(), false, 'the clock thread runs already: this test shows nothing');
    sys.timer_settime(a, 0, ms1);
    const t0 = performance.now();
    let info: sys.siginfo_t | undefined;
    while (info === undefined && performance.now() - t0 < DEADLINE_MS) {
      try { info = sys.sigtimedwait(set, { tv_sec: 0, tv_nsec: 0 }); } catch (e) { if ((e as sys.SysError).code !== 'EAGAIN') throw e; }
    }
    assert.ok(info !== undefined, `no signal in ${DEADLINE_MS} ms of zero-timeout sigtimedwait`);
    assert.equal(info.si_signo, sys.SIGUSR2);
    assert.equal(info.si_code, sys.SI_TIMER);
    assert.equal(info.si_value, 7);

    sys.timer_settime(b, 0, ms1);
    const t1 = performance.now();
    let seen = false;
    while (!seen && performance.now() - t1 < DEADLINE_MS) seen = sys.sigpending().toArray().includes(sys.SIGRTMIN);
    assert.ok(seen, `SIGRTMIN not pending after ${DEADLINE_MS} ms of sigpending`);
    assert.equal(sys.sigtimedwait(set, { tv_sec: 0, tv_nsec: 0 }).si_value, 8);
  } finally {
    sys.timer_delete(a);
    sys.timer_delete(b);
  }
});
