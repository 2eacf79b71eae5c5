/**
 * The postMessage peer of bench/messages.bench.ts, in a file of its own so
 * that its workers load no kernel: plain worker_threads Workers joined by a
 * MessageChannel, doing what the ukern LWPs do there (a producer posting N
 * values to a consumer; a ping-pong), with the same values and the same
 * clock points (first value received to last; round trips timed by the
 * side that starts them).
 */
import { Worker, MessageChannel, isMainThread, workerData, parentPort, type MessagePort } from 'node:worker_threads';
import { once } from 'node:events';
import { makeValue, type Kind } from './messages-values.js';

interface Job { role: 'produce' | 'consume' | 'ping' | 'pong'; port: MessagePort; n: number; kind: Kind; cold: number; warm: number }
/** A ping-pong's round trips (µs, means): the first `cold` of the fresh pair, and the `n` timed after `warm`. */
export interface PeerRtt { cold: number; steady: number }
/** A consumer's times (ms): first value to the cold-th, and from there to the last. */
export interface PeerWindows { cold: number; steady: number }

async function run(job: Job): Promise<number | PeerWindows | PeerRtt> {
  const { port, n, kind } = job;
  if (job.role === 'produce') {
    for (let i = 0; i < n; i++) port.postMessage(makeValue(kind, i));
    return 0;
  }
  if (job.role === 'consume') {
    let got = 0, t0 = 0, t1 = 0, sink = 0;
    return new Promise((resolve) => {
      port.on('message', (v: { id?: number; length?: number }) => {
        if (got === 0) t0 = performance.now();
        sink += typeof v === 'string' ? (v as string).length : v.id ?? 0;
        if (++got === job.cold) t1 = performance.now();
        if (got === n) { port.close(); resolve({ cold: t1 - t0, steady: performance.now() - t1 + (sink === -1 ? 1 : 0) }); }
      });
    });
  }
  if (job.role === 'pong') {
    let k = 0;
    return new Promise((resolve) => {
      port.on('message', (v: unknown) => { port.postMessage(v); if (++k === n) { resolve(0); } });
    });
  }
  // ping: `warm` round trips untimed (the first `cold` of them timed apart), then n timed
  const total = job.warm + n;
  let t0 = performance.now(), tc = 0;
  for (let i = 0; i < total; i++) {
    if (i === job.cold) tc = performance.now() - t0;
    if (i === job.warm) t0 = performance.now();
    port.postMessage(makeValue(kind, i));
    await once(port, 'message');
  }
  return { cold: tc / job.cold * 1e3, steady: (performance.now() - t0) / n * 1e3 };
}

if (!isMainThread && (workerData as { peer?: boolean } | null)?.peer === true) {
  const job = workerData as Job;
  void run(job).then((r) => { parentPort!.postMessage(r); });
}

function start<T = number>(role: Job['role'], port: MessagePort, n: number, kind: Kind, cold = 0, warm = 0): Promise<T> {
  const w = new Worker(new URL(import.meta.url), { workerData: { peer: true, role, port, n, kind, cold, warm }, transferList: [port] });
  return new Promise((resolve, reject) => {
    w.once('message', (r: T) => { void w.terminate(); resolve(r); });
    w.once('error', reject);
  });
}

/** postMessage worker -> worker over a MessageChannel: the consumer's times for the first `cold` values and the rest. */
export async function pmThroughput(kind: Kind, n: number, cold: number): Promise<PeerWindows> {
  const { port1, port2 } = new MessageChannel();
  const c = start<PeerWindows>('consume', port2, n, kind, cold);
  await new Promise((r) => setTimeout(r, 50)); // the consumer listening first
  void start('produce', port1, n, kind);
  return c;
}

/** postMessage ping-pong between two new workers: `warm` round trips untimed (the first `cold` timed apart), then n timed; means in µs. */
export async function pmPingPong(kind: Kind, n: number, warm: number, cold: number): Promise<PeerRtt> {
  const { port1, port2 } = new MessageChannel();
  const pong = start('pong', port2, warm + n, kind);
  const r = await start<PeerRtt>('ping', port1, n, kind, cold, warm);
  await pong;
  return r;
}
