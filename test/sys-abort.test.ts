/**
 * The sys layer's _async calls take `{ signal }` (an extension of the C
 * contract): one abort path into the sleep machinery (kern/sleeprun.ts).
 * An abort ends that call's sleep alone, rejecting with an AbortError whose
 * cause is the signal's reason; other pending sleeps of the same LWP go on.
 * A signal aborted at entry starts nothing; a bad options object is a
 * Node-style argument error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { within } from './helpers.js';

const { EV_ADD, EVFILT_USER, NOTE_TRIGGER } = sys;

const ZERO = { tv_sec: 0, tv_nsec: 0 };

function isAbort(reason: unknown): (e: unknown) => boolean {
  return (e) => e instanceof Error && e.name === 'AbortError' && (e as { code?: string }).code === 'ABORT_ERR' && e.cause === reason;
}

test('lwp_park_async with a signal: the abort ends that park only; a kevent_async of the same LWP still gets its event', async () => {
  const kq = sys.kqueue();
  sys.kevent(kq, [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD, fflags: 0, data: 0, udata: 7 }], 0, ZERO);
  const ac = new AbortController();
  const park = sys.lwp_park_async(null, 42, { signal: ac.signal });
  const wait = sys.kevent_async(kq, null, 4, null);
  const reason = new Error('stop');
  ac.abort(reason);
  await assert.rejects(within(park, 5000, 'aborted park'), isAbort(reason));
  // The kevent wait was not interrupted (lwp_wakeup would have ended it with EINTR).
  sys.kevent(kq, [{ ident: 1, filter: EVFILT_USER, flags: 0, fflags: NOTE_TRIGGER, data: 0, udata: 0 }], 0, ZERO);
  const evs = await within(wait, 5000, 'kevent after the abort');
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.udata, 7);
  sys.close(kq);
});

test('kevent_async: a signal aborted at entry applies no change and takes nothing; a later abort rejects the wait', async () => {
  const kq = sys.kqueue();
  const ac = new AbortController();
  ac.abort('early');
  await assert.rejects(
    sys.kevent_async(kq, [{ ident: 5, filter: EVFILT_USER, flags: EV_ADD, fflags: 0, data: 0, udata: 0 }], 1, null, { signal: ac.signal }),
    isAbort('early'));
  // The change was not applied: modifying the knote is ENOENT.
  assert.throws(() => sys.kevent(kq, [{ ident: 5, filter: EVFILT_USER, flags: 0, fflags: NOTE_TRIGGER, data: 0, udata: 0 }], 0, ZERO),
    (e: unknown) => e instanceof sys.SysError && e.code === 'ENOENT');
  const ac2 = new AbortController();
  const p = sys.kevent_async(kq, null, 1, null, { signal: ac2.signal });
  setTimeout(() => ac2.abort('late'), 5);
  await assert.rejects(within(p, 5000, 'aborted kevent'), isAbort('late'));
  sys.close(kq);
});

test('lwp_wait_async with a signal: aborted, then the LWP can still be waited for', async () => {
  const sab = new SharedArrayBuffer(4);
  const lid = sys.lwp_create({ module: new URL('./fixtures/lwps-pkg.js', import.meta.url), export: 'blockUntil', arg: { sab } });
  const a = new Int32Array(sab);
  // Let go however this part ends: blockUntil waits for its word with no
  // deadline, and a failed assertion left it waiting, so that the file
  // ended at the runner's deadline, not at the failure.
  try {
    const ac = new AbortController();
    const w = sys.lwp_wait_async(lid, { signal: ac.signal });
    ac.abort('enough');
    await assert.rejects(within(w, 5000, 'aborted lwp_wait'), isAbort('enough'));
  } finally {
    Atomics.store(a, 0, 1);
    Atomics.notify(a, 0);
  }
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'lwp_wait after the abort'), lid);
});

test('bad options of an _async call: ERR_INVALID_ARG_TYPE, nothing started', async () => {
  const kq = sys.kqueue();
  for (const bad of [null, 5, { signal: 'x' }, { signal: {} }]) {
    await assert.rejects(sys.kevent_async(kq, null, 1, ZERO, bad as sys.AsyncOptions),
      (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE', String(bad));
    await assert.rejects(sys.lwp_park_async(ZERO, 0, bad as sys.AsyncOptions),
      (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE', String(bad));
  }
  sys.close(kq);
});

test('port_get_async / port_getn_async with a signal: an abort rejects the wait and takes nothing', async () => {
  const port = sys.port_create();
  const ac = new AbortController();
  const g = sys.port_getn_async(port, 8, 3, null, { signal: ac.signal });
  sys.port_send(port, 1, 11);
  sys.port_send(port, 2, 22); // two of the three wanted: the getter sleeps on
  ac.abort('stop');
  await assert.rejects(within(g, 5000, 'aborted getn'), isAbort('stop'));
  const ac2 = new AbortController();
  const one = sys.port_get_async(sys.port_create(), null, { signal: ac2.signal });
  ac2.abort('also');
  await assert.rejects(within(one, 5000, 'aborted get'), isAbort('also'));
  // Nothing was taken by the aborted getn: both events are still queued, in order.
  const evs = sys.port_getn(port, 8, 2, ZERO);
  assert.deepEqual(evs.map((e) => e.portev_user), [11, 22]);
  sys.close(port);
});
