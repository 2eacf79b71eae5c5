/**
 * io_uring completions against the last host waiter's linger
 * (src/intr/handover.ts). A request that does not complete inside its
 * submission (a read of an empty pipe is armed as a poll) completes later
 * by an eventfd in the kernel's epoll set, which the intr thread takes; a
 * linger leaves that set disarmed for the intr thread. Whoever waits for
 * the completion (here an aio_suspend_async; as well a blocking
 * aio_suspend, a port or a kqueue fed by the request's notification) is
 * not a sleeper the intr thread is known to serve, so the completion
 * waited in the set until the linger ended: up to two windows (a window of
 * 60 s here; the default's is 0.5 ms). Found by reading the hand-over (the
 * review of the intr subsystem). While a request is out in the ring no
 * linger starts or goes on, and a submission that leaves one out ends the
 * linger that lasts.
 *
 * A stepped reader LWP (fixtures/kq-hostwait-lwp.ts) waits in the host on a
 * pipe's read knote; each round it takes one write and leaves, which starts
 * or renews the linger. Deadlines everywhere; io_uring only (the threads
 * engine's completions come from its own threads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import { constants } from 'node:os';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';

sys.boot({ intr_linger_ns: 60e9 });

const F = new URL('./fixtures/kq-hostwait-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;

function stepped(r: number): { lid: number; res: Int32Array; go(k: number): void } {
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const lid = sys.lwp_create({ module: F, export: 'steppedReader', arg: { r, sab } });
  return { lid, res, go(k) { Atomics.store(res, 1, k); Atomics.notify(res, 1); } };
}

/** One round of the reader: it waits in the host, takes a write to A and leaves (a linger starts or goes on). */
async function round(rd: ReturnType<typeof stepped>, A: [number, number], k: number): Promise<void> {
  rd.go(k);
  await until(() => kst('host_waiters') === 1, 10_000, `round ${k}: the reader to wait in the host`);
  writeSync(A[1], 'a');
  await until(() => rd.res[2] === k, 10_000, `round ${k}`);
  assert.equal(rd.res[3], 1, `round ${k}: one event`);
}

/** aio_read of one byte from the empty pipe P (armed in the ring, not done inside its submission). */
function read_pending(P: [number, number]): sys.aiocb {
  const cb: sys.aiocb = { aio_fildes: P[0], aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 1 };
  sys.aio_read(cb);
  assert.equal(sys.aio_error(cb), constants.errno.EINPROGRESS, 'the read of an empty pipe is in progress');
  return cb;
}

test('an io_uring completion reaches its aio_suspend_async whether a linger lasts at the submission or would start while the request is out', async (t) => {
  // Choose the engine (the first AIO call does), with a request that completes at once.
  const Z = pipe_high();
  writeSync(Z[1], 'z');
  const z: sys.aiocb = { aio_fildes: Z[0], aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 1 };
  sys.aio_read(z);
  await within(sys.aio_suspend_async([z], { tv_sec: 10, tv_nsec: 0 }), 15_000, 'the first read');
  assert.equal(sys.aio_return(z), 1);
  closeSync(Z[0]); closeSync(Z[1]);
  if (sys.kstat('aio')['aio.engine'] !== 1) { t.skip('the AIO engine is not io_uring here'); return; }

  const A = pipe_high(), P = pipe_high(), Q = pipe_high();
  const rd = stepped(A[0]);
  await until(() => rd.res[0] === 1, 10_000, 'the reader');

  // 1. A linger lasts (the reader took a write and left); then a request goes out.
  await round(rd, A, 1);
  assert.equal(kst('lingering'), 1, 'round 1 left a linger (a 60 s window)');
  const p = read_pending(P);
  const t0 = performance.now();
  // Written once the wait sleeps (its first look reaps what is there already).
  const sleeping = sys.aio_suspend_async([p], { tv_sec: 10, tv_nsec: 0 });
  setTimeout(() => writeSync(P[1], 'p'), 50);
  await within(sleeping, 5_000, 'the read submitted while a linger lasted');
  assert.equal(sys.aio_return(p), 1);
  assert.ok(performance.now() - t0 < 4_000, 'completed long before the linger\'s end');

  // 2. A request is out; then the reader takes a write and leaves: no linger
  //    starts while the request is out, and its completion comes.
  const q = read_pending(Q);
  await round(rd, A, 2);
  assert.equal(kst('lingering'), 0, 'no linger while a request is out in the ring');
  const sleepingQ = sys.aio_suspend_async([q], { tv_sec: 10, tv_nsec: 0 });
  setTimeout(() => writeSync(Q[1], 'q'), 50);
  await within(sleepingQ, 5_000, 'the read out while the reader left');
  assert.equal(sys.aio_return(q), 1);

  // 3. Nothing out: the reader's leave lingers again (the case it is for).
  await round(rd, A, 3);
  assert.equal(kst('lingering'), 1, 'a linger again once no request is out');

  rd.go(-1);
  await within(sys.lwp_wait_async(rd.lid), 30_000, 'the reader');
  const buf = Buffer.alloc(8);
  for (const [r, w] of [A, P, Q]) { try { readSync(r, buf); } catch { /* drained */ } closeSync(r); closeSync(w); }
});
