/**
 * The 10 000-descriptor figures of issue 15, beside Node in the same run.
 * Kept apart from os-sources.bench.ts (the latency figures) because the
 * workload differs: many streams, one thread.
 *
 * Streams: Unix stream socket pairs, both ends watched, so 10 000 watched
 * descriptors take 10 000 descriptors (pipes would take 20 000, at the
 * default hard RLIMIT_NOFILE of this machine's containers: no limit needs
 * raising). A round writes one byte into the peers of 100 descriptors
 * picked at random and waits until all 100 were seen ready and read:
 *  - ukern: the main thread blocks in kevent on one kqueue holding 10 000
 *    EV_CLEAR EVFILT_READ knotes, and reads each reported descriptor;
 *  - Node: the same 10 000 descriptors as net.Sockets with 'data'
 *    listeners in the main thread's event loop (Node reads them itself).
 * Per-round cost is the median round; events/s is 100 x rounds / total time;
 * CPU per round is the whole process's (every thread, the intr thread's
 * too), which a loaded machine disturbs less than wall time.
 * Also: the cost of registering the 10 000 knotes, and the intr thread's
 * CPU while they sit idle (kstat intr.cpu_us and the thread's schedstat).
 */
import net from 'node:net';
import { readSync, writeSync, readFileSync } from 'node:fs';
import * as sys from '../src/sys/index.js';
import { socketpair } from '../test/fixtures/osfd.js';
import { median } from './lib.js';

const { EV_SET, kevent, EVFILT_READ, EV_ADD, EV_CLEAR } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };

/** 2n descriptors: fds[i] and fds[i ^ 1] are the two ends of one pair. */
export function streams(n: number): number[] {
  const fds: number[] = [];
  for (let i = 0; i < n / 2; i++) fds.push(...socketpair());
  return fds;
}

/** A deterministic pick of k distinct indices below n per round (xorshift). */
function picker(n: number, k: number, seed = 0x2545f491): () => number[] {
  let x = seed;
  return () => {
    const got = new Set<number>();
    while (got.size < k) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; got.add((x >>> 0) % n); }
    return [...got];
  };
}

/** Per-round wall time (median), events/s over all rounds, and the process's CPU per round (every thread: user + system). */
export interface RoundFigures { perRoundUs: number; eventsPerS: number; cpuPerRoundUs: number }

function cpu_us(): number { const c = process.cpuUsage(); return c.user + c.system; }
const ONE = Buffer.from('x');

/** ukern: registration time (ms) and the rounds, the main thread blocked in kevent. */
export function ukern_rounds(fds: number[], rounds: number, k: number): RoundFigures & { registerMs: number } {
  const kq = sys.kqueue();
  const t0 = performance.now();
  kevent(kq, fds.map((fd, i) => EV_SET(fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, i)), 0, ZERO);
  const registerMs = performance.now() - t0;
  const pick = picker(fds.length, k), buf = Buffer.alloc(64), times: number[] = [];
  const start = performance.now(), c0 = cpu_us();
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    const want = pick();
    for (const i of want) writeSync(fds[i ^ 1]!, ONE);
    let seen = 0;
    while (seen < k) {
      const evs = kevent(kq, null, 256, SOON);
      if (evs.length === 0) throw new Error(`round ${r}: ${k - seen} events missing after 5 s`);
      for (const ev of evs) { readSync(ev.ident, buf); seen++; }
    }
    times.push(performance.now() - t);
  }
  const total = performance.now() - start, cpu = cpu_us() - c0;
  sys.close(kq);
  return { registerMs, perRoundUs: median(times) * 1e3, eventsPerS: (k * rounds) / (total / 1e3), cpuPerRoundUs: cpu / rounds };
}

/** Node: the same streams as net.Sockets with 'data' listeners in this event loop. Destroys them. */
export async function node_rounds(fds: number[], rounds: number, k: number): Promise<RoundFigures & { registerMs: number }> {
  let seen = 0, wake: (() => void) | null = null;
  const t0 = performance.now();
  const socks = fds.map((fd) => {
    const s = new net.Socket({ fd, readable: true, writable: false });
    s.on('data', (d: Buffer) => { seen += d.length; if (wake !== null && seen >= k) { const w = wake; wake = null; w(); } });
    return s;
  });
  await new Promise((res) => setImmediate(res));
  const registerMs = performance.now() - t0;
  const pick = picker(fds.length, k), times: number[] = [];
  const start = performance.now(), c0 = cpu_us();
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    seen = 0;
    const done = new Promise<void>((res) => { wake = res; });
    for (const i of pick()) writeSync(fds[i ^ 1]!, ONE);
    const timer = setTimeout(() => { throw new Error(`round ${r}: ${k - seen} 'data' events missing after 5 s`); }, 5000);
    await done;
    clearTimeout(timer);
    times.push(performance.now() - t);
  }
  const total = performance.now() - start, cpu = cpu_us() - c0;
  for (const s of socks) s.destroy();
  await new Promise((res) => setImmediate(res));
  return { registerMs, perRoundUs: median(times) * 1e3, eventsPerS: (k * rounds) / (total / 1e3), cpuPerRoundUs: cpu / rounds };
}

/** A host thread's CPU time in ns (the first field of its schedstat). */
export function thread_cpu_ns(tid: number): number {
  return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
}

/** The intr thread's CPU over `ms` with the fds registered and idle: kstat cpu_us delta, schedstat us, wake-ups. */
export function idle_cost(fds: number[], ms: number): { kstatUs: number; schedUs: number; wakeups: number } {
  const kq = sys.kqueue();
  kevent(kq, fds.map((fd) => EV_SET(fd, EVFILT_READ, EV_ADD, 0, 0, 0)), 0, ZERO);
  const k0 = sys.kstat('intr');
  const tid = k0['intr.tid']!;
  const s0 = thread_cpu_ns(tid);
  const end = Date.now() + ms;
  while (Date.now() < end) kevent(kq, null, 1, { tv_sec: 0, tv_nsec: 200e6 });
  const s1 = thread_cpu_ns(tid);
  // Wake the thread once so that it accounts its CPU into the kstat.
  writeSync(fds[1]!, ONE);
  kevent(kq, null, 1, SOON);
  const k1 = sys.kstat('intr');
  sys.close(kq);
  return { kstatUs: k1['intr.cpu_us']! - k0['intr.cpu_us']!, schedUs: (s1 - s0) / 1e3, wakeups: k1['intr.wakeups']! - k0['intr.wakeups']! - 1 };
}
