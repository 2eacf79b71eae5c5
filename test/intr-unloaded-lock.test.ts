/**
 * A thread that has not loaded the host calls (koffi, and libc's functions
 * through it) loads them before it takes a kernel lock, never under one
 * (kern/libc.ts: LOCKDEBUG panics at a load with a lock held; this file
 * boots with it). The load took milliseconds under the lock (6-9 ms in the
 * review's trial: everyone who needed the lock waited), and one that
 * failed left the caller nothing to call there.
 *
 *  - A served sleeper (a blocking kevent on a kqueue fed by another
 *    object's OS sources) ends the last host waiter's linger as it goes to
 *    sleep (intr/handover.ts): the set's re-arm, an epoll_ctl, was made in
 *    its thread, loading koffi there under the kqueue lock. A thread
 *    without the host calls now leaves the re-arm to the intr thread
 *    (its control eventfd, rung with Node's own write).
 *  - A blocking port_get on a port with a PORT_SOURCE_FD association
 *    another thread made: its host wait, and the take's identity check,
 *    loaded them under the port lock.
 *  - A kevent that registers the thread's first OS knote: the attach's
 *    statx loaded them under the kqueue lock; and one asleep on a kqueue
 *    that another thread gives its first OS knote: the scan's evaluation.
 *
 * The LWPs (fixtures/unloaded-lwp.ts, fixtures/nested-lwp.ts) import only
 * ukern/sys. Deadlines everywhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';
import { lingering_reader, watching } from './fixtures/linger.js';

// No worker kept for reuse: each LWP runs in a fresh thread, which has loaded nothing.
sys.boot({ lockdebug: true, intr_linger_ns: 50_000 * 1e6, lwp_pool: 0, lwp_pool_linger: 0 });

const NESTED = new URL('./fixtures/nested-lwp.js', import.meta.url);
const UNLOADED = new URL('./fixtures/unloaded-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const kqs = (k: string): number => sys.kstat('kqueue')[`kqueue.${k}`] ?? 0;
const ports = (k: string): number => sys.kstat('port')[`port.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const buf = Buffer.alloc(64);

/** An LWP of `module`'s `fn` with words `res` (and `arg`), stepped by the test (fixtures/step.ts). */
interface Stepped { res: Int32Array; go(k: number): void; ready(): Promise<void>; end(): Promise<void> }
function stepped(module: URL, fn: string, arg: Record<string, unknown>): Stepped {
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const lid = sys.lwp_create({ module, export: fn, arg: { ...arg, sab } });
  const go = (k: number): void => { Atomics.store(res, 1, k); Atomics.notify(res, 1); };
  let ended = false;
  const end = async (): Promise<void> => { if (ended) return; ended = true; go(-1); await within(sys.lwp_wait_async(lid), 40_000, fn); };
  const ready = async (): Promise<void> => { try { await until(() => res[0] === 1, 10_000, `${fn}: ready`); } catch (e) { await end(); throw e; } };
  return { res, go, ready, end };
}

/*
 * Every LWP and the objects it is given are made here, before any test: each
 * LWP then runs in a worker thread of its own that has loaded nothing (no
 * worker is kept for reuse: lwp_pool 0), not in one a lingering reader (which
 * waits in the host, and so loads the host calls) left behind.
 */
// This thread loads the host calls outside any lock first (the close of an
// OS descriptor through ukern/sys), so that the loads tested are the LWPs'.
{ const P = pipe_high(); sys.close(P[0]); closeSync(P[1]); }

interface Chain { kind: string; inner: number; outer: number; C: [number, number]; drain(): void; sleeper: Stepped }
function chain(kind: 'kq' | 'port'): Chain {
  const C = pipe_high();
  let inner: number, drain: () => void;
  if (kind === 'port') {
    inner = sys.port_create();
    sys.port_associate(inner, sys.PORT_SOURCE_FD, C[0], sys.POLLIN, 7);
    drain = () => { assert.equal(sys.port_get(inner, ZERO).portev_user, 7); };
  } else {
    inner = watching(C[0]);
    drain = () => { assert.equal(sys.kevent(inner, null, 4, ZERO).length, 1); };
  }
  const outer = watching(inner);
  const sleeper = stepped(NESTED, 'nestedSleeper', { kq: outer, tsab: new SharedArrayBuffer(8) });
  return { kind: kind === 'port' ? 'a port with a PORT_SOURCE_FD association' : 'a kqueue with an OS knote', inner, outer, C, drain, sleeper };
}
const chains = [chain('kq'), chain('port')];
const getterC = pipe_high(), getterPort = sys.port_create();
sys.port_associate(getterPort, sys.PORT_SOURCE_FD, getterC[0], sys.POLLIN, 9);
const getter = stepped(UNLOADED, 'portGetter', { port: getterPort });
const lateC = pipe_high(), lateKq = sys.kqueue();
const late = stepped(NESTED, 'nestedSleeper', { kq: lateKq, tsab: new SharedArrayBuffer(8) });
const registrarC = pipe_high();
const registrar = stepped(UNLOADED, 'osRegistrar', { fd: registrarC[0] });

// What a failed or skipped test left waiting for its go.
after(async () => { for (const s of [...chains.map((c) => c.sleeper), getter, registrar, late]) await s.end(); });

for (const ch of chains) {
  test(`a served sleeper without the host calls, on a kqueue watching ${ch.kind}, ends the linger with no load under the kqueue lock`, async () => {
    const A = pipe_high(), C = ch.C, sl = ch.sleeper;
    try {
      await sl.ready();
      const rd = await lingering_reader(A[0], A[1]);
      try {
        const sleeps0 = kqs('sleeps'), served0 = kst('linger_served_ends'), rings0 = kst('linger_arm_rings');
        sl.go(1);
        await until(() => kqs('sleeps') > sleeps0, 10_000, 'the sleeper asleep');
        await until(() => kst('linger_served_ends') > served0, 5_000, 'the sleeper to end the linger');
        // The sleeper's thread has no host calls: it left the re-arm to the
        // intr thread (counted just after the end: a deadline, not a look).
        await until(() => kst('linger_arm_rings') > rings0, 5_000, 'the re-arm left to the intr thread');
        writeSync(C[1], 'c');
        await until(() => sl.res[2] === 1, 5_000, () => `the sleeper's event: ${JSON.stringify(sys.kstat('intr'))}`);
        assert.equal(sl.res[3], 1, 'one event');
      } finally { await sl.end(); await rd.end(); }
      ch.drain();
      readSync(C[0], buf);
      // The kernel is sound: no panic (a load under the lock panics it under LOCKDEBUG).
      assert.equal(sys.kevent(ch.outer, null, 4, ZERO).length, 0);
    } finally {
      await sl.end();
      sys.close(ch.outer); sys.close(ch.inner);
      for (const fd of [...A, ...C]) closeSync(fd);
    }
  });
}

test('a blocking port_get without the host calls, on a port with a PORT_SOURCE_FD association, loads them before the port lock', async () => {
  const C = getterC, g = getter;
  try {
    await g.ready();
    const waits0 = ports('waits');
    g.go(1);
    await until(() => ports('waits') > waits0, 10_000, 'the getter asleep');
    writeSync(C[1], 'c');
    await until(() => g.res[2] === 1, 5_000, 'the getter');
    assert.equal(g.res[3], 9, 'the association\'s event');
    readSync(C[0], buf);
    assert.throws(() => sys.port_get(getterPort, ZERO), { code: 'ETIME' }); // (sound: no panic)
  } finally {
    await g.end();
    sys.close(getterPort);
    for (const fd of C) closeSync(fd);
  }
});

test('a kevent without the host calls that registers an OS knote loads them before the kqueue lock', async () => {
  const C = registrarC, r = registrar;
  try {
    await r.ready();
    const sleeps0 = kqs('sleeps');
    r.go(1);
    await until(() => kqs('sleeps') > sleeps0 || r.res[2] === 1, 10_000, 'the registrar asleep');
    writeSync(C[1], 'c');
    await until(() => r.res[2] === 1, 5_000, 'the registrar');
    assert.equal(r.res[3], 1, 'its knote\'s event');
  } finally {
    await r.end();
    for (const fd of C) closeSync(fd);
  }
});

test('a blocking kevent without the host calls, asleep on a kqueue that gets its first OS knote meanwhile, loads them before it scans under the kqueue lock', async () => {
  const C = lateC, sl = late;
  try {
    await sl.ready();
    const sleeps0 = kqs('sleeps');
    sl.go(1);
    await until(() => kqs('sleeps') > sleeps0, 10_000, 'the sleeper asleep');
    sys.kevent(lateKq, [sys.EV_SET(C[0], sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
    writeSync(C[1], 'c');
    await until(() => sl.res[2] === 1, 5_000, 'the sleeper');
    assert.equal(sl.res[3], 1, 'the new knote\'s event');
  } finally {
    await sl.end();
    sys.close(lateKq);
    for (const fd of C) closeSync(fd);
  }
});
