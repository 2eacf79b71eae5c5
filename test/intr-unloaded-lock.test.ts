/**
 * A thread that has not loaded the host calls (koffi, and libc's functions
 * through it) loads them before it takes a kernel lock, never under one
 * (this file boots with LOCKDEBUG). The load took milliseconds under the lock (6-9 ms in the
 * review's trial: everyone who needed the lock waited), and one that
 * failed left the caller nothing to call there.
 *
 *  - A served sleeper (a blocking kevent on a kqueue fed by another
 *    object's OS sources) ends the last host waiter's linger as it goes to
 *    sleep (intr/handover.ts): the set's re-arm, an epoll_ctl, was made in
 *    its thread, loading koffi there under the kqueue lock. A thread
 *    without the host calls now leaves the re-arm to the intr thread
 *    (its control eventfd, rung with Node's own write).
 *
 * The LWPs (fixtures/nested-lwp.ts) import only
 * ukern/sys. Deadlines everywhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';
import { lingering_reader } from './fixtures/linger.js';

// No worker kept for reuse: each LWP runs in a fresh thread, which has loaded nothing.
sys.boot({ lockdebug: true, intr_linger_ns: 50_000 * 1e6, lwp_pool: 0, lwp_pool_linger: 0 });

const NESTED = new URL('./fixtures/nested-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const kqs = (k: string): number => sys.kstat('kqueue')[`kqueue.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const buf = Buffer.alloc(64);

function watching(ident: number): number {
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(ident, sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
  return kq;
}

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
// What a failed or skipped test left waiting for its go.
after(async () => { for (const s of chains.map((c) => c.sleeper)) await s.end(); });

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
