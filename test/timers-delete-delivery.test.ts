/**
 * timer_delete against a port delivery of the same timer in progress. The
 * timer's delivery callback (portnfy.ts) runs in the retrieving thread with
 * no port lock held and takes the timer's it_mutex; the timer must not be
 * freed under it (a timer_create in another thread reuses and zeroes the
 * struct: a getter holding it_mutex then panics at its mutex_exit, or
 * releases the new timer's lock). So timer_delete returns only once no
 * delivery callback of its timer is running, as the seed's removal of a
 * done event waits for the getters of its port.
 *
 * The window is held open deterministically: a wrapper around the timer
 * source's delivery callback (in this thread only, as port-fd-inflight
 * does) stops before the real callback and lets an LWP delete the timer
 * and create another; it waits for the delete to return, up to a bound,
 * then runs the real callback. A delete that returned meanwhile is the
 * defect. This file is also the LWP's module (its export `deleter`); the
 * tests are registered in the main thread only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { SysError } from '../src/kern/errno.js';
import { with_deliver_hook } from './fixtures/deliver-hook.js';
import { timer_grab, timer_release } from '../src/timers/timertab.js';
import { until } from './helpers.js';

const { PORT_SOURCE_TIMER, CLOCK_MANUAL, SIGEV_PORT } = sys;
const NS1 = { tv_sec: 0, tv_nsec: 1 };
const ZERO = { tv_sec: 0, tv_nsec: 0 };

// Words of the shared array: the LWP is up; the callback is stopped; the
// delete has returned; the create after it is done; the new timer's struct;
// the delivered timer's struct (d.arg).
const R_UP = 0, R_INCB = 1, R_DELETED = 2, R_CREATED = 3, R_NEWIT = 4, R_ARG = 5;
/** How long the stopped callback waits for the delete to return: far more than a delete takes. */
const HOLD_MS = 1500;

/** LWP body: once the callback is stopped, deletes the timer and creates another on the same port. */
export function deleter(a: { sab: SharedArrayBuffer; tid: number; port: number }): void {
  const r = new Int32Array(a.sab);
  Atomics.store(r, R_UP, 1);
  while (Atomics.load(r, R_INCB) === 0) Atomics.wait(r, R_INCB, 0, 10);
  sys.timer_delete(a.tid);
  Atomics.store(r, R_DELETED, 1);
  Atomics.notify(r, R_DELETED);
  const t2 = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_PORT, sigev_notify_port: { portnfy_port: a.port, portnfy_user: 2 } });
  const it2 = timer_grab(t2);
  timer_release(it2);
  Atomics.store(r, R_NEWIT, it2);
  sys.timer_delete(t2);
  Atomics.store(r, R_CREATED, 1);
}

function errno(f: () => void): string | null {
  try { f(); return null; } catch (e) { if (e instanceof SysError) return e.code; throw e; }
}

if (isMainThread) {
  test('timer_delete returns only after a port delivery of its timer in progress has finished', async () => {
    const port = sys.port_create();
    const tid = sys.timer_create(CLOCK_MANUAL, { sigev_notify: SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 1 } });
    const sab = new SharedArrayBuffer(8 * 4);
    const r = new Int32Array(sab);
    sys.lwp_create({ module: new URL(import.meta.url), export: 'deleter', arg: { sab, tid, port } });
    await until(() => Atomics.load(r, R_UP) === 1, 20_000, 'the LWP to start');
    sys.timer_settime(tid, 0, { it_value: NS1, it_interval: ZERO });
    sys.clock_advance(CLOCK_MANUAL, NS1); // fires: the timer's event is queued
    let deletedDuringCallback = -1;
    with_deliver_hook(PORT_SOURCE_TIMER, 'before', (d) => {
      Atomics.store(r, R_ARG, d.arg);
      Atomics.store(r, R_INCB, 1);
      Atomics.notify(r, R_INCB);
      const end = Date.now() + HOLD_MS;
      while (Atomics.load(r, R_DELETED) === 0 && Date.now() < end) Atomics.wait(r, R_DELETED, 0, 10);
      deletedDuringCallback = Atomics.load(r, R_DELETED);
    }, () => {
      // The delete withdraws the event: the getter, once its callback
      // returns, has nothing to return and waits out its timeout.
      const code = errno(() => sys.port_get(port, { tv_sec: 0, tv_nsec: 100e6 }));
      assert.equal(code, 'ETIME', 'the deleted timer\'s event is not delivered');
    });
    assert.equal(deletedDuringCallback, 0,
      'timer_delete returned while its timer\'s delivery callback was in progress' +
      (Atomics.load(r, R_CREATED) === 1 && Atomics.load(r, R_NEWIT) === Atomics.load(r, R_ARG) ? ' (and timer_create reused the struct under it)' : ''));
    await until(() => Atomics.load(r, R_CREATED) === 1, 20_000, 'the delete and the create to finish once the callback returned');
    sys.close(port);
  });
}
