/**
 * OS event sources (issue 15, step 1), beside what Node gives for the same
 * work in the same run:
 *  - a pipe written in one thread -> EVFILT_READ (EV_CLEAR) returned to an
 *    LWP blocked in kevent, through the intr thread; vs the same write ->
 *    'data' on that pipe (a net.Socket over the fd) in a worker's own event
 *    loop. One-way latency (the writer stamps a shared clock before write(2),
 *    the reader reads it on return), p50 and p99 per repetition, medians
 *    over the repetitions; the writer waits for each round's answer.
 *  - the intr thread's idle CPU with 1000 idle registrations.
 * The LWP start function is exported here; the bench runs in the main thread.
 */
import { isMainThread, Worker } from 'node:worker_threads';
import { readSync, readFileSync } from 'node:fs';
import * as sys from '../src/sys/index.js';
import { report, flush, reps, median, latency, nowNs } from './lib.js';
import { pipe } from '../test/fixtures/osfd.js';

const SELF = new URL(import.meta.url);
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const { EV_SET, kevent, EVFILT_READ, EV_ADD, EV_CLEAR } = sys;

interface Arg { kq: number; r: number; w: number; n: number; sab: SharedArrayBuffer; samples: SharedArrayBuffer }
// sab: Int32 [0] reader ready, [1] rounds answered; Float64 at byte 8: the current write's stamp (ns).

/** The ukern reader: an LWP blocked in kevent on the pipe's EV_CLEAR knote. */
export function lwpReader(x: Arg): void {
  const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1), s = new Float64Array(x.samples);
  const buf = Buffer.alloc(64);
  Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0);
  for (let i = 0; i < x.n; i++) {
    kevent(x.kq, null, 1, null);
    s[i] = nowNs() - t[0]!;
    readSync(x.r, buf);
    Atomics.store(ctl, 1, i + 1); Atomics.notify(ctl, 1);
  }
}

// The writer (both cases) and the Node reader: plain workers.
const WRITER = `
const { workerData: x } = require('node:worker_threads'); const fs = require('node:fs');
const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1);
while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 100);
for (let i = 0; i < x.n; i++) {
  t[0] = Number(process.hrtime.bigint());
  fs.writeSync(x.w, 'x');
  while (Atomics.load(ctl, 1) !== i + 1) Atomics.wait(ctl, 1, i, 1000);
}`;
const NODE_READER = `
const { workerData: x } = require('node:worker_threads'); const net = require('node:net');
const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1), s = new Float64Array(x.samples);
const sock = new net.Socket({ fd: x.r, readable: true, writable: false });
let i = 0;
sock.on('data', (d) => {
  const now = Number(process.hrtime.bigint());
  for (let k = 0; k < d.length && i < x.n; k++) { s[i] = now - t[0]; i++; }
  Atomics.store(ctl, 1, i); Atomics.notify(ctl, 1);
  if (i >= x.n) sock.destroy();
});
Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0);`;

function ended(w: Worker): Promise<void> {
  return new Promise((res, rej) => { w.once('exit', () => res()); w.once('error', rej); });
}

/** One repetition: p50 and p99 one-way latency (us), ukern or Node. */
async function once(kind: 'ukern' | 'node', n: number): Promise<{ p50: number; p99: number }> {
  const [r, w] = pipe();
  const arg: Arg = { kq: 0, r, w, n, sab: new SharedArrayBuffer(16), samples: new SharedArrayBuffer(8 * n) };
  const writer = new Worker(WRITER, { eval: true, workerData: arg });
  if (kind === 'ukern') {
    arg.kq = sys.kqueue();
    kevent(arg.kq, [EV_SET(r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
    const lid = sys.lwp_create({ module: SELF, export: 'lwpReader', arg });
    await sys.lwp_wait_async(lid);
    await ended(writer);
    sys.close(arg.kq); sys.close(r); sys.close(w);
  } else {
    const reader = new Worker(NODE_READER, { eval: true, workerData: arg });
    await Promise.all([ended(reader), ended(writer)]);
    sys.close(w); // the reader's socket closed r
  }
  const l = latency(new Float64Array(arg.samples).subarray(Math.floor(n / 10)), 1); // ns samples
  return { p50: l.p50 / 1e3, p99: l.p99 / 1e3 };
}

/** utime + stime (clock ticks) of host thread tid. */
function ticks(tid: number): number {
  const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

if (isMainThread) {
  const R = reps(5), N = 3000;
  console.log(`OS event sources (reps ${R}, ${N} writes each)`);
  await once('ukern', 200); await once('node', 200); // warm-up: the intr thread runs, JIT
  const u: { p50: number; p99: number }[] = [], nd: { p50: number; p99: number }[] = [];
  for (let i = 0; i < R; i++) { u.push(await once('ukern', N)); nd.push(await once('node', N)); }
  const up50 = median(u.map((x) => x.p50)), np50 = median(nd.map((x) => x.p50));
  report({ name: 'pipe write -> EVFILT_READ in an LWP blocked in kevent, p50 one-way', value: up50, unit: 'us',
    peer: "the same write -> 'data' in a worker's event loop", peerValue: np50, goal: '<= 1.2x', met: up50 <= 1.2 * np50,
    note: 'through the intr thread (epoll_wait) and a kqueue wake-up' });
  report({ name: 'pipe write -> EVFILT_READ in an LWP blocked in kevent, p99 one-way', value: median(u.map((x) => x.p99)), unit: 'us',
    peer: "the same write -> 'data', p99", peerValue: median(nd.map((x) => x.p99)), goal: 'reported' });

  // Idle: 1000 registered idle pipes, 1 s.
  const pipes = Array.from({ length: 1000 }, () => pipe());
  const kq = sys.kqueue();
  kevent(kq, pipes.map(([r]) => EV_SET(r, EVFILT_READ, EV_ADD, 0, 0, 0)), 0, ZERO);
  const tid = sys.kstat('intr')['intr.tid']!;
  const t0 = ticks(tid), w0 = sys.kstat('intr')['intr.wakeups']!;
  kevent(kq, null, 1, { tv_sec: 1, tv_nsec: 0 });
  const dt = ticks(tid) - t0, dw = sys.kstat('intr')['intr.wakeups']! - w0;
  report({ name: 'intr thread CPU, 1000 idle registered pipes, over 1 s', value: dt * 10, unit: 'ms', goal: '~0', met: dt <= 1,
    note: `${dw} wake-ups (utime+stime from /proc/self/task/TID/stat, 10 ms ticks)` });
  sys.close(kq);
  for (const [r, w] of pipes) { sys.close(r); sys.close(w); }
  flush();
}
