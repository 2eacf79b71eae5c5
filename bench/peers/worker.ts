/**
 * Worker entry for every peer bench that needs threads (bench/peers.ts
 * spawns it with a {@link WorkerJob} in workerData). Handshake: post `ready`,
 * wait for `go`, run, post one `result`.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { isGo, type ResultMsg, type WorkerJob } from './protocol.js';
import { atomicsTimerLoop, monoNs, pingSideA, pingSideB } from './loops.js';

if (parentPort === null) throw new Error('bench/peers/worker.js must run in a worker thread');
const parent = parentPort;
const job = workerData as WorkerJob;

function send(r: ResultMsg): void {
  parent.postMessage(r, r.samples !== undefined ? [r.samples.buffer as ArrayBuffer] : []);
}

/** The small object of BASELINES.md §1 (a): a few scalar fields. */
interface Ping { seq: number; op: string; value: number }

/** Side A of postMessage ping-pong: time from post to the echo's arrival. */
function pmSideA(port: MessagePort, rounds: number, warmup: number, budgetMs: number): void {
  const samples = new Float64Array(rounds);
  let k = -warmup;
  let n = 0;
  let t0 = 0;
  let deadline = Infinity;
  const post = (): void => {
    t0 = performance.now();
    const m: Ping = { seq: k, op: 'ping', value: 42 };
    port.postMessage(m);
  };
  port.on('message', () => {
    const t1 = performance.now();
    if (k >= 0) samples[n++] = (t1 - t0) * 1000;
    else if (k === -1) deadline = t1 + budgetMs;
    k++;
    if (n === rounds || t1 > deadline) {
      port.close();
      send({ type: 'result', samples: samples.slice(0, n), completed: n });
      return;
    }
    post();
  });
  post();
}

function run(): void {
  switch (job.kind) {
    case 'pm-a':
      pmSideA(job.port, job.rounds, job.warmup, job.budgetMs);
      return;
    case 'pm-b': {
      const port = job.port;
      // Echo the received object itself: one structured clone each way, as a user's reply would be.
      port.on('message', (m: unknown) => port.postMessage(m));
      port.on('close', () => send({ type: 'result', completed: 0 }));
      return;
    }
    case 'atomics-a':
    case 'spin-a': {
      const r = pingSideA(job.sab, job.rounds, job.warmup, job.budgetMs, job.kind === 'atomics-a');
      send({ type: 'result', samples: r.samples.slice(), completed: r.completed });
      return;
    }
    case 'atomics-b':
    case 'spin-b': {
      const done = pingSideB(job.sab, job.warmup + job.rounds, job.kind === 'atomics-b');
      send({ type: 'result', completed: done });
      return;
    }
    case 'tp-producer': {
      const { port, messages, warmup } = job;
      // Warm-up (untimed): `warmup` messages, then wait for the consumer's
      // word that it has them all, so that both sides run optimized code.
      const timed = (): void => {
        // The start time travels in the first message: hrtime is CLOCK_MONOTONIC,
        // one clock for all threads, so the consumer can compute the span.
        const t0 = monoNs();
        for (let i = 0; i < messages; i++) port.postMessage({ seq: i, op: 'put', value: i === 0 ? t0 : i });
        send({ type: 'result', completed: messages });
      };
      if (warmup === 0) { timed(); return; }
      port.once('message', timed);
      for (let i = 0; i < warmup; i++) port.postMessage({ seq: i, op: 'warm', value: i });
      return;
    }
    case 'tp-consumer': {
      const { port, messages, warmup } = job;
      let warm = 0, got = 0;
      let t0 = 0;
      port.on('message', (m: Ping) => {
        if (warm < warmup) {
          if (++warm === warmup) port.postMessage({ seq: 0, op: 'go', value: 0 });
          return;
        }
        if (got === 0) t0 = m.value;
        if (++got === messages) {
          const t1 = monoNs();
          port.close();
          send({ type: 'result', completed: got, elapsedNs: t1 - t0 });
        }
      });
      return;
    }
    case 'atomics-timer': {
      const r = atomicsTimerLoop(job.periodUs, job.fires, job.budgetMs);
      send({ type: 'result', samples: r.samples.slice(), completed: r.completed, overruns: r.overruns ?? 0 });
      return;
    }
  }
}

parent.once('message', (m: unknown) => {
  if (!isGo(m)) throw new Error('peer worker: expected go');
  run();
});
parent.postMessage({ type: 'ready' });
