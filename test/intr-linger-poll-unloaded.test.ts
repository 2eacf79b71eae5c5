/**
 * The last host waiter's linger (src/intr/handover.ts) with a window of 50 s,
 * against a poller in a thread that has not loaded the host calls (koffi):
 * an LWP that polls a kqueue whose OS knote another thread registered (a
 * zero-timeout kevent), or a port whose PORT_SOURCE_FD association another
 * thread made (a zero-timeout port_get), and has made no host call itself.
 * A poll takes the kernel's set itself while a linger lasts (the intr thread
 * leaves the set alone then: intr/hostwait.ts intr_linger_take), but did so
 * only in a thread that had loaded the host calls already: this one saw
 * nothing until the linger ended (two looks after the last leave: up to
 * ~10 ms at the defaults, here 50 s); a port poller at every arrival (its
 * take of a queued event makes no host call), a kqueue poller until its
 * first OS knote's evaluation loaded them. Now the poll loads them (once, a
 * few milliseconds) when a linger lasts.
 *
 * Both pollers are made first, before any LWP that loads the host calls
 * (the reader), so that neither runs on a worker such an LWP used before
 * (workers are pooled). Deadlines everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';
import { lingering_reader } from './fixtures/linger.js';

sys.boot({ intr_linger_ns: 50_000 * 1e6 });

const F = new URL('./fixtures/nested-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('while a linger lasts, an LWP with no host calls loaded that polls a kqueue or a port with OS sources sees an arrival at once', async () => {
  const A = pipe_high(), C = pipe_high(), D = pipe_high(), buf = Buffer.alloc(16);
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(C[0], sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
  const port = sys.port_create();
  sys.port_associate(port, sys.PORT_SOURCE_FD, D[0], sys.POLLIN, 9);
  const pollers = [{ kind: 'kqueue', arg: { kq }, w: C[1] }, { kind: 'port', arg: { port }, w: D[1] }].map((p) => {
    const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
    return { ...p, res, lid: sys.lwp_create({ module: F, export: 'poller', arg: { ...p.arg, sab } }) };
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const p of pollers) { Atomics.store(p.res, 1, -1); Atomics.notify(p.res, 1); }
    for (const p of pollers) await within(sys.lwp_wait_async(p.lid), 40_000, `the ${p.kind} poller`);
  };
  try {
    for (const p of pollers) await until(() => p.res[0] === 1, 10_000, `the ${p.kind} poller`);
    const rd = await lingering_reader(A[0], A[1]);
    try {
      for (const p of pollers) {
        Atomics.store(p.res, 1, 1); Atomics.notify(p.res, 1);
        writeSync(p.w, 'c');
        await until(() => p.res[2] === 1, 10_000, `the ${p.kind} poller's round`);
        assert.equal(p.res[3], 1, `the ${p.kind} poll saw the arrival (${p.res[4]} polls in 3 s)`);
        assert.equal(kst('lingering'), 1, 'the poll left the linger alone');
      }
    } finally {
      await stop();
      await rd.end();
    }
  } finally {
    await stop();
  }
  readSync(C[0], buf); readSync(D[0], buf);
  sys.close(kq); sys.close(port);
  for (const fd of [...A, ...C, ...D]) closeSync(fd);
});
