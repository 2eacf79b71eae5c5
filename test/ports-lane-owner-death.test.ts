/**
 * A lane's owner that dies between publishing an entry and telling the
 * port's sleeping getter or its kqueue watchers (lane.ts pushed_slow, which
 * takes the port lock to wake the getter, or the file's lock to notify the
 * watchers) left them uninformed until some other event came: a getter
 * slept through the published event, a watcher never saw the port become
 * readable. The dead owner's release (the lwp exit hook, run by the reaper)
 * now does what the owner could not.
 *
 * The death is placed deterministically: the test holds the lock the owner
 * will need after its publishing store; the owner's thread (its kernel
 * mutex sleep hook replaced) ends as it goes to sleep on that lock, which
 * the test sees as the waiters bit on the lock word; as a killed worker's,
 * its LWP is reaped by the pool's owner (here the main thread).
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import * as kq from '../src/kqueue/sys.js';
import { close } from '../src/kern/sys.js';
import { I32 } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';
import { mutex_set_sleep_hook } from '../src/kern/mutex.js';
import { hold_until_sleeper } from './fixtures/dies-on-lock.js';
import { boot } from '../src/kern/boot.js';
import { fd_get, fd_file, FF, DTYPE_PORT } from '../src/kern/fdtab.js';
import { P, port_lock } from '../src/ports/mem.js';
import { LN_CTL, LN_WANT, LN_ROOMWAIT } from '../src/ports/lane-locked.js';
import { until, within, within_or_release } from './helpers.js';

const SELF = new URL(import.meta.url);
// No adaptive spin: a getter that has published what it wants is asleep,
// not spinning (a spinning getter would take the event itself).
if (isMainThread) boot({ port_spin_ns: 0 });
const ZERO = { tv_sec: 0, tv_nsec: 0 };

/**
 * LWP: sends one event (taking p's lane), says so (s[1]), waits for s[0],
 * then sends a second one with its mutex sleep hook ending its thread: it
 * dies when it first has to sleep on a kernel mutex after that publish.
 */
export function ownerDies(a: { p: number; sab: SharedArrayBuffer }): void {
  const s = new Int32Array(a.sab);
  ports.port_send(a.p, 1, 1);
  Atomics.store(s, 1, 1); Atomics.notify(s, 1);
  while (Atomics.load(s, 0) === 0) Atomics.wait(s, 0, 0, 1000);
  // An abrupt death (a worker killed, out of memory): nothing more runs in
  // this thread, not even the in-thread reap process.exit would run (it
  // skips a thread with no LWP), so the pool's owner reaps it.
  mutex_set_sleep_hook(() => { Atomics.store(s, 3, 1); cur.lwp = 0; process.exit(9); });
  ports.port_send(a.p, 1, 2);
  Atomics.store(s, 2, 1); // not reached when it died as planned
}

/** LWP: one port_get on p with a long timeout; the user word it got, or -1 on ETIME, in out[0]. */
export function getOne(a: { p: number; out: SharedArrayBuffer }): void {
  const out = new Int32Array(a.out);
  try { out[0] = ports.port_get(a.p, { tv_sec: 30, tv_nsec: 0 }).portev_user as number; } catch { out[0] = -1; }
}

/**
 * Starts an owner on port p, takes its first event, runs `ready` until it
 * holds, then holds the lock word `lockOf()` while the owner sends its
 * second event, until the owner is about to sleep on that lock (its thread
 * then ends); returns once it has been reaped.
 */
async function ownerDiesOn(p: number, ready: () => boolean, lockOf: () => number): Promise<void> {
  const sab = new SharedArrayBuffer(16), s = new Int32Array(sab);
  const w = lwp.lwp_create({ module: SELF, export: 'ownerDies', arg: { p, sab } });
  try {
    await diesOn(s, p, ready, lockOf);
  } finally {
    Atomics.store(s, 0, 1); Atomics.notify(s, 0); // never left waiting
    await within(lwp.lwp_wait_async(w).catch(() => 0), 10_000, 'the owner reaped');
  }
  assert.equal(Atomics.load(s, 2), 0, 'the owner died in its second send');
}

async function diesOn(s: Int32Array, p: number, ready: () => boolean, lockOf: () => number): Promise<void> {
  await until(() => Atomics.load(s, 1) === 1, 10_000, 'the owner\'s first send');
  assert.deepEqual(ports.port_getn(p, 1, 1, ZERO).map((e) => e.portev_user), [1]);
  await until(ready, 10_000, 'the test\'s watcher or getter in place');
  const waiting = hold_until_sleeper(lockOf(), s);
  assert.ok(waiting, 'the owner published its event and went to sleep on the lock');
}

if (isMainThread) {
  test('a sleeping getter is woken for an event its lane owner published just before dying', async () => {
    const p = ports.port_create();
    const h = fd_get(p, DTYPE_PORT, 'test', 'EBADFD');
    const out = new SharedArrayBuffer(4), o = new Int32Array(out);
    o[0] = -2;
    let g = 0;
    await ownerDiesOn(p, () => {
      if (g === 0) g = lwp.lwp_create({ module: SELF, export: 'getOne', arg: { p, out } });
      const ln = I32[h + P.lane]!;
      return ln !== 0 && (Atomics.load(I32, ln + LN_CTL) & LN_WANT) !== 0;
    }, () => port_lock(h));
    const ln = I32[h + P.lane]!;
    await within_or_release(lwp.lwp_wait_async(g), 3000, 'the getter woken for the published event', () => {
      ports.port_send(p, 1, 99); // let it go
      return lwp.lwp_wait_async(g);
    });
    assert.equal(o[0], 2, 'the getter got the dead owner\'s event');
    assert.equal(Atomics.load(I32, ln + LN_ROOMWAIT), 0);
    close(p);
  });

  test('a kqueue watching the port hears of an event its lane owner published just before dying', async () => {
    const p = ports.port_create();
    const k = kq.kqueue();
    kq.kevent(k, [kq.EV_SET(p, kq.EVFILT_READ, kq.EV_ADD | kq.EV_CLEAR, 0, 0, 7)], 0, ZERO);
    const file = fd_file(p);
    // Ready once the first event's activation is gone (taken: nothing to report).
    await ownerDiesOn(p, () => kq.kevent(k, null, 4, ZERO).length === 0, () => file + FF.lock);
    let got: kq.kevent_t[] = [];
    try {
      await until(() => (got = kq.kevent(k, null, 4, ZERO)).length > 0, 3000, 'the watcher told of the published event');
    } finally {
      close(k);
    }
    assert.deepEqual(got.map((e) => [e.ident, e.filter, e.data, e.udata]), [[p, kq.EVFILT_READ, 1, 7]]);
    assert.deepEqual(ports.port_getn(p, 4, 1, ZERO).map((e) => e.portev_user), [2]);
    close(p);
  });
}
