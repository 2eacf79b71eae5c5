/**
 * What the OS-source latency benches share: a pipe written in one thread
 * (a writer worker that stamps a shared clock before each write(2) and waits
 * for the round's answer), the reader's side of that protocol for an LWP,
 * and the Node baseline — the same write -> 'data' on that pipe (a
 * net.Socket over the fd) in a worker's own event loop. Kept in one place so
 * that every bench measures its kernel path against the same baseline, built
 * the same way, in the same run.
 */
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import * as sys from '../src/sys/index.js';
import { latency, nowNs } from './lib.js';
import { pipe } from '../test/fixtures/osfd.js';

/**
 * One run's shared state: the pipe, the write count, the control words
 * (Int32 [0] reader ready, [1] rounds answered; Float64 at byte 8: the
 * current write's stamp in ns) and the samples (ns). Benches add their own
 * fields (a kqueue, a port).
 */
export interface PipeRun { r: number; w: number; n: number; sab: SharedArrayBuffer; samples: SharedArrayBuffer }

/** A fresh pipe and buffers for n writes. */
export function pipe_run(n: number): PipeRun {
  const [r, w] = pipe();
  return { r, w, n, sab: new SharedArrayBuffer(16), samples: new SharedArrayBuffer(8 * n) };
}

/** The reader's side, for an LWP: ready() once, then per round sample(i) on wake-up and answered(i) after reading. */
export function reader_side(x: PipeRun): { ready(): void; sample(i: number): void; answered(i: number): void } {
  const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1), s = new Float64Array(x.samples);
  return {
    ready() { Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0); },
    sample(i) { s[i] = nowNs() - t[0]!; },
    answered(i) { Atomics.store(ctl, 1, i + 1); Atomics.notify(ctl, 1); },
  };
}

// The writer (every case) and the Node reader: plain workers. The writer
// gives up (an error, so the run fails) when the reader never starts or
// stops answering: a reader LWP that failed to start must not hang the bench.
const WRITER = `
const { workerData: x } = require('node:worker_threads'); const fs = require('node:fs');
const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1);
let end = Date.now() + 60000;
while (Atomics.load(ctl, 0) === 0) { Atomics.wait(ctl, 0, 0, 100); if (Date.now() > end) throw new Error('writer: the reader never started (60 s)'); }
for (let i = 0; i < x.n; i++) {
  t[0] = Number(process.hrtime.bigint());
  fs.writeSync(x.w, 'x');
  end = Date.now() + 10000;
  while (Atomics.load(ctl, 1) !== i + 1) { Atomics.wait(ctl, 1, i, 1000); if (Date.now() > end) throw new Error('writer: no answer to write ' + i + ' in 10 s'); }
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

export function ended(w: Worker): Promise<void> {
  return new Promise((res, rej) => { w.once('exit', () => res()); w.once('error', rej); });
}

/** Starts the writer worker of run x. */
export function start_writer(x: PipeRun): Promise<void> { return ended(new Worker(WRITER, { eval: true, workerData: x })); }

/** p50 and p99 one-way latency (us) of a finished run, the first tenth dropped (warm-up). */
export function run_latency(x: PipeRun): { p50: number; p99: number } {
  const l = latency(new Float64Array(x.samples).subarray(Math.floor(x.n / 10)), 1);
  return { p50: l.p50 / 1e3, p99: l.p99 / 1e3 };
}

/** The Node baseline: n writes -> 'data' in a worker's event loop; p50/p99 (us). */
export async function node_pipe_latency(n: number): Promise<{ p50: number; p99: number }> {
  const x = pipe_run(n);
  const writer = start_writer(x);
  await Promise.all([ended(new Worker(NODE_READER, { eval: true, workerData: x })), writer]);
  sys.close(x.w); // the reader's socket closed r
  return run_latency(x);
}

/** utime + stime (clock ticks) of host thread tid. */
export function thread_ticks(tid: number): number {
  const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
