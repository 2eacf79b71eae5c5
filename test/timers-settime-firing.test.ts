/**
 * timer_settime re-arming a timer whose due expiry another thread has begun
 * to fire (its callout taken out of the heap, the handler not yet in
 * it_mutex): the expiry that was due must reach the notification, as
 * timer_settime's old value says it was due. Made deterministic on the
 * manual clock: the test holds the timer's it_mutex while one LWP re-arms
 * (and sleeps on it_mutex first) and another advances the clock (its
 * handler sleeps on it_mutex second); a kernel mutex wakes its sleepers in
 * order, so the re-arm runs before the handler, which then meets the new
 * setting. This module is loaded by each LWP too, so the tests register
 * only in the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { within, until } from './helpers.js';
import { IT } from '../src/timers/itimer.js';
import { timer_grab, timer_release } from '../src/timers/timertab.js';
import { mutex_enter, mutex_exit, M_WAITERS } from '../src/kern/mutex.js';
import { I32 } from '../src/kern/kmem.js';
import { callout_snapshot, TL_MANUAL } from '../src/timers/callout.js';

const Z = { tv_sec: 0, tv_nsec: 0 };
const self = new URL(import.meta.url);

// ---------------------------------------------------------------- LWP start functions

/** Waits for gate[0] = 1, then re-arms timer `tid` 1000 s away (absolute); stores the old it_value (s, ns) in out[0..1], out[2] = 1 when done. */
export function rearmWhenTold(arg: { tid: number; gate: SharedArrayBuffer; out: SharedArrayBuffer }): void {
  const g = new Int32Array(arg.gate), o = new Float64Array(arg.out);
  Atomics.store(g, 3, 1); Atomics.notify(g, 3); // ready
  Atomics.wait(g, 0, 0, 30_000);
  const now = sys.clock_gettime(sys.CLOCK_MANUAL);
  const old = sys.timer_settime(arg.tid, sys.TIMER_ABSTIME, { it_value: { tv_sec: now.tv_sec + 1000, tv_nsec: 0 }, it_interval: Z });
  o[0] = old.it_value.tv_sec; o[1] = old.it_value.tv_nsec; o[2] = 1;
}

/** Waits for gate[1] = 1, then advances the manual clock by 1 s (firing what is due, in this thread). */
export function advanceWhenTold(arg: { gate: SharedArrayBuffer }): void {
  const g = new Int32Array(arg.gate);
  Atomics.store(g, 4, 1); Atomics.notify(g, 4); // ready
  Atomics.wait(g, 1, 0, 30_000);
  sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 1, tv_nsec: 0 });
}

// ---------------------------------------------------------------- tests

const spinUntil = (what: string, ok: () => boolean): void => {
  const end = Date.now() + 10_000;
  while (!ok()) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};
const pause = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };

if (isMainThread) {
  sys.boot({ timer_max: 16 });

  test('a re-arm that meets its due expiry being fired elsewhere: the expiry is delivered, the old value reads expired', async () => {
    const port = sys.port_create();
    const tid = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 5 } });
    const now = sys.clock_gettime(sys.CLOCK_MANUAL);
    // One-shot, due as soon as the clock moves by 1 s.
    sys.timer_settime(tid, sys.TIMER_ABSTIME, { it_value: { tv_sec: now.tv_sec + 1, tv_nsec: now.tv_nsec }, it_interval: Z });
    const gate = new SharedArrayBuffer(4 * 8), out = new SharedArrayBuffer(8 * 4);
    const g = new Int32Array(gate), o = new Float64Array(out);
    const rearm = sys.lwp_create({ module: self, export: 'rearmWhenTold', arg: { tid, gate, out } });
    const advance = sys.lwp_create({ module: self, export: 'advanceWhenTold', arg: { gate } });
    await until(() => Atomics.load(g, 3) === 1 && Atomics.load(g, 4) === 1, 30_000, 'both LWPs to start');

    const it = timer_grab(tid);
    timer_release(it);
    const m = it + IT.mutex;
    // From here on, no return to the event loop until the mutex is let go.
    mutex_enter(m);
    try {
      Atomics.store(g, 0, 1); Atomics.notify(g, 0);
      spinUntil('the re-arm to sleep on it_mutex', () => (Atomics.load(I32, m) & M_WAITERS) !== 0);
      pause(50); // past its spin: asleep, first in line
      Atomics.store(g, 1, 1); Atomics.notify(g, 1);
      spinUntil('the advance to begin firing the timer', () => callout_snapshot(TL_MANUAL).busy.some((c) => c.state === 'firing'));
      pause(50); // its handler asleep on it_mutex, second in line
    } finally {
      mutex_exit(m);
    }
    await within(sys.lwp_wait_async(rearm), 30_000, 're-arm LWP');
    await within(sys.lwp_wait_async(advance), 30_000, 'advance LWP');
    assert.equal(o[2], 1, 'the re-arm returned');
    // The old one-shot read as expired (it was due when the re-arm took hold) ...
    assert.deepEqual([o[0], o[1]], [0, 0], 'the old setting read as due');
    // ... so its expiry is the notification's.
    const ev = sys.port_getn(port, 4, 1, Z);
    assert.equal(ev.length, 1, 'the due expiry was delivered');
    assert.equal(ev[0]!.portev_events, 1);
    assert.equal(ev[0]!.portev_user, 5);
    // The new setting stands: 1000 s away, nothing more to come now.
    const cur = sys.timer_gettime(tid);
    assert.ok(cur.it_value.tv_sec >= 998, `re-armed 1000 s away (${cur.it_value.tv_sec})`);
    sys.timer_delete(tid);
    sys.close(port);
  });
}
