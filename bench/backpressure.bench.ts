/**
 * Backpressure (issue 12, "Must reach"): a producer LWP ~10x faster than its
 * consumer LWP streams 10^6 events through a port with the awaitable send
 * (sendSync while there is room, `await port.send()` when full). Reported:
 * the stream's throughput against the consumer alone (the same work per
 * event, no port: what it could do if never starved), the EAGAINs that
 * reached the producer (must be 0) and the most events queued (must stay
 * within port_max_events). Each LWP is its own module export (this file).
 * The consumer hands `work` the event's user word as an int (`| 0`), as the
 * alone loop hands it its int index: portev_user is a float64 word, and
 * V8's arithmetic on a double input made the same work ~15 % slower, a
 * difference of the workload, not of the port.
 */
import { isMainThread } from 'node:worker_threads';
import { Lwp, Port } from '../src/index.js';
import { tunables } from '../src/kern/boot.js';
import { report, flush, reps, median } from './lib.js';

const SELF = new URL(import.meta.url);
const N = 1_000_000;
/** The consumer's work per event (~1-2 us of arithmetic): about 10x a send. */
const WORK = 400;

function work(x: number): number {
  let a = x;
  for (let i = 0; i < WORK; i++) a = (a * 1103515245 + 12345) & 0x7fffffff;
  return a;
}

export async function producer(arg: { fd: number; n: number }): Promise<{ eagain: number; waits: number }> {
  const port = new Port(arg.fd);
  let eagain = 0, waits = 0;
  for (let i = 0; i < arg.n; i++) {
    try { port.sendSync(1, i); } catch {
      waits++;
      try { await port.send(1, i); } catch (e) { if ((e as { code?: string }).code === 'EAGAIN') eagain++; throw e; }
    }
  }
  return { eagain, waits };
}

/**
 * The consumer: its time from the first batch received to the last event's
 * work, and the events it worked on meanwhile: all of them (the producer's
 * LWP may still be starting when the consumer begins, and a worker start
 * is no part of the stream).
 */
export function consumer(arg: { fd: number; n: number }): { ms: number; timed: number; maxPending: number; sum: number } {
  const port = new Port(arg.fd);
  let got = 0, sum = 0, maxPending = 0, k = 0, t0 = 0;
  while (got < arg.n) {
    if ((k++ & 255) === 0) maxPending = Math.max(maxPending, port.pending);
    const evs = port.getnSync(64);
    if (got === 0) t0 = performance.now();
    for (const ev of evs) { sum ^= work(ev.portev_user | 0); got++; }
  }
  return { ms: performance.now() - t0, timed: got, maxPending, sum };
}

export function alone(arg: { n: number }): { ms: number; sum: number } {
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < arg.n; i++) sum ^= work(i);
  return { ms: performance.now() - t0, sum };
}

if (isMainThread && process.argv[1] === new URL(import.meta.url).pathname) {
  const R = reps(5);
  const rates: number[] = [], peers: number[] = [];
  let eagain = 0, waits = 0, maxPending = 0;
  for (let r = 0; r < R; r++) {
    const port = new Port();
    const c = Lwp.create<{ ms: number; timed: number; maxPending: number }>({ module: SELF, export: 'consumer', arg: { fd: port.fd, n: N } });
    const p = Lwp.create<{ eagain: number; waits: number }>({ module: SELF, export: 'producer', arg: { fd: port.fd, n: N } });
    const cr = await c.wait();
    const pr = await p.wait();
    port.close();
    rates.push(cr.timed / cr.ms * 1e3);
    eagain += pr.eagain; waits += pr.waits; maxPending = Math.max(maxPending, cr.maxPending);
    const a = await Lwp.create<{ ms: number }>({ module: SELF, export: 'alone', arg: { n: N } }).wait();
    peers.push(N / a.ms * 1e3);
  }
  const v = median(rates), pv = median(peers);
  const max = tunables().port_max_events!;
  report({ name: 'backpressure: producer ~10x faster, 10^6 events, awaitable send -> consumer throughput', value: v, unit: 'ev/s',
    peer: 'the consumer alone (same work, no port)', peerValue: pv, goal: '>= 0.9x, no EAGAIN, queue <= port_max_events',
    met: v >= 0.9 * pv && eagain === 0 && maxPending <= max,
    note: `EAGAIN reaching the producer ${eagain}; sends that waited for room ${waits}; most queued ${maxPending} of ${max}` });
  flush();
  process.exit(0);
}
