/**
 * A wait given an AbortSignal adds its 'abort' listener through the
 * signal's own addEventListener, which is user code (a program may replace
 * it, as any method of its objects). A signal that it aborts before the
 * listener is in place has dispatched its 'abort' already: the wait saw
 * nothing, and slept on for its timeout (or for ever). The kernel now looks
 * at the signal's state once the listener is added (kern/copyin.ts
 * abort_listen): such a wait ends at once with an AbortError.
 *
 * Each wait here has a timeout (3 s) or a delivery (a timer) that ends it
 * without the abort, so that the failure without the fix is an assertion,
 * not a test that never ends; with the fix, each ends long before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Port, Timer, KQueue, Lwp } from 'ukern';

/** A signal whose addEventListener aborts it (reason `why`) before (or, `after`, once) it adds the listener. */
function abortingSignal(why: string, after = false): AbortSignal {
  const ac = new AbortController();
  const s = ac.signal;
  type Add = (type: string, l: (e: Event) => void, o?: { once?: boolean }) => void;
  const add = (s.addEventListener as Add).bind(s);
  Object.defineProperty(s, 'addEventListener', {
    value: (type: string, l: (e: Event) => void, o?: { once?: boolean }): void => {
      if (type === 'abort' && !after) ac.abort(why);
      add(type, l, o);
      if (type === 'abort' && after) ac.abort(why);
    },
  });
  return s;
}

const WAIT = { tv_sec: 3, tv_nsec: 0 };
function realIn(sec: number): sys.Timespec {
  const t = sys.clock_gettime(sys.CLOCK_REALTIME);
  return { tv_sec: t.tv_sec + sec, tv_nsec: t.tv_nsec };
}
async function aborts(what: string, f: (s: AbortSignal) => Promise<unknown>, after = false): Promise<void> {
  const t0 = performance.now();
  await assert.rejects(f(abortingSignal(what, after)), (e: Error & { code?: string; cause?: unknown }) => {
    assert.equal(e.name, 'AbortError', `${what}: ${String(e)}`);
    assert.equal(e.cause, what, `${what}: the cause is the signal's reason`);
    return true;
  }, what);
  assert.ok(performance.now() - t0 < 2500, `${what} ended after ${(performance.now() - t0).toFixed(0)} ms, not at the abort`);
}

test('sys _async calls: a signal aborted while the wait adds its listener ends the wait with an AbortError', async () => {
  const p = sys.port_create(), kq = sys.kqueue();
  try {
    for (const after of [false, true]) {
      await aborts('port_get_async', (signal) => sys.port_get_async(p, WAIT, { signal }), after);
      await aborts('port_getn_async', (signal) => sys.port_getn_async(p, 4, 1, WAIT, { signal }), after);
      await aborts('kevent_async', (signal) => sys.kevent_async(kq, null, 1, WAIT, { signal }), after);
      await aborts('lwp_park_async', (signal) => sys.lwp_park_async(realIn(3), undefined, { signal }), after);
    }
    // Nothing was left waiting: the port and the kqueue still deliver.
    sys.port_send(p, 1, 5);
    assert.equal(sys.port_get(p, { tv_sec: 0, tv_nsec: 0 }).portev_user, 5);
    assert.deepEqual(sys.kevent(kq, null, 1, { tv_sec: 0, tv_nsec: 0 }), []);
  } finally {
    sys.close(p); sys.close(kq);
  }
});

test('class waits: a signal aborted while the wait adds its listener ends the wait with an AbortError', async () => {
  const port = new Port(), kq = new KQueue();
  // Delivers after 3 s if the abort is missed (Timer.next without a timeout waits on the signal itself).
  const timer = new Timer({ delay: 3000 });
  try {
    await aborts('Port.get', (signal) => port.get({ timeout: 3000, signal }));
    await aborts('KQueue.wait', (signal) => kq.wait({ timeout: 3000, signal }));
    await aborts('Lwp.park', (signal) => Lwp.park({ timeout: 3000, signal }));
    await aborts('Timer.next', (signal) => timer.next({ signal }));
  } finally {
    port.close(); kq.close(); timer.close();
  }
});

test('new Timer: a signal aborted while the Timer adds its listener closes it at once', async () => {
  const timer = new Timer({ delay: 3000, signal: abortingSignal('Timer') });
  try {
    const t0 = performance.now();
    // Closed: next() ends at once with no delivery; missed, it would deliver after 3 s.
    assert.equal(await timer.next({ timeout: 2500 }), undefined);
    assert.ok(performance.now() - t0 < 2000, `next() took ${(performance.now() - t0).toFixed(0)} ms`);
  } finally {
    timer.close();
  }
});
