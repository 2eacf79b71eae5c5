/**
 * OS event sources (issue 15, step 1), beside what Node gives for the same
 * work in the same run:
 *  - a pipe written in one thread -> EVFILT_READ (EV_CLEAR) returned to an
 *    LWP blocked in kevent, through the intr thread; vs the same write ->
 *    'data' on that pipe (a net.Socket over the fd) in a worker's own event
 *    loop. One-way latency (the writer stamps a shared clock before write(2),
 *    the reader reads it on return), p50 and p99 per repetition, medians
 *    over the repetitions; the writer waits for each round's answer.
 *  - 10 000 registered descriptors, 100 made ready per round, beside the
 *    same streams with 'data' listeners; registration cost; the intr
 *    thread's idle CPU with them registered (os-sources-many.ts).
 * The LWP start function is exported here; the bench runs in the main thread.
 */
import { isMainThread } from 'node:worker_threads';
import { readSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import * as sys from '../src/sys/index.js';
import { report, flush, reps, median } from './lib.js';
import { pipe_run, reader_side, start_writer, run_latency, node_pipe_latency, type PipeRun } from './os-lib.js';
import { streams, ukern_rounds, node_rounds, idle_cost, type RoundFigures } from './os-sources-many.js';

const SELF = new URL(import.meta.url);
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const { EV_SET, kevent, EVFILT_READ, EV_ADD, EV_CLEAR } = sys;

interface Arg extends PipeRun { kq: number }

/** The ukern reader: an LWP blocked in kevent on the pipe's EV_CLEAR knote (os-lib.ts's reader protocol). */
export function lwpReader(x: Arg): void {
  const side = reader_side(x), buf = Buffer.alloc(64);
  side.ready();
  for (let i = 0; i < x.n; i++) {
    kevent(x.kq, null, 1, null);
    side.sample(i);
    readSync(x.r, buf);
    side.answered(i);
  }
}

/**
 * Who carried the latency runs' events, summed over the measured
 * repetitions (kstat intr deltas): an event the LWP took in its own host
 * wait (host_taken) crossed one thread; one the intr thread took (os_events
 * beyond those) crossed two. Said in the row's note, so that a slow run
 * says which path it took.
 */
const PATHS = ['intr.host_waits', 'intr.host_direct', 'intr.host_taken', 'intr.os_events', 'intr.wakeups', 'intr.kick_rerings'] as const;
type Paths = Record<(typeof PATHS)[number], number>;
function paths_note(runs: readonly { paths: Paths }[], n: number): string {
  const per = (k: (typeof PATHS)[number]): string => (runs.reduce((a, r) => a + r.paths[k], 0) / n).toFixed(2);
  return `per event: LWP host waits ${per('intr.host_waits')} (direct ${per('intr.host_direct')}), taken by the LWP ${per('intr.host_taken')}, ` +
    `OS events taken in all ${per('intr.os_events')}, intr thread wake-ups ${per('intr.wakeups')}, kicks rung again ${per('intr.kick_rerings')}`;
}

/** One ukern repetition: p50 and p99 one-way latency (us), and its events' paths; the Node one is os-lib.ts's node_pipe_latency. */
async function ukern_once(n: number): Promise<{ p50: number; p99: number; paths: Paths }> {
  const x: Arg = { ...pipe_run(n), kq: sys.kqueue() };
  const writer = start_writer(x); // listened for at once: it may exit before the reader is collected
  kevent(x.kq, [EV_SET(x.r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
  const k0 = sys.kstat('intr');
  await sys.lwp_wait_async(sys.lwp_create({ module: SELF, export: 'lwpReader', arg: x }));
  const k1 = sys.kstat('intr');
  const paths = Object.fromEntries(PATHS.map((k) => [k, (k1[k] ?? 0) - (k0[k] ?? 0)])) as Paths;
  await writer;
  sys.close(x.kq); sys.close(x.r); sys.close(x.w);
  return { ...run_latency(x), paths };
}

/** The same in this (the main) thread's event loop: awaiting kevent_async, KQueue.wait()'s path. */
async function ukern_async_once(n: number): Promise<{ p50: number; p99: number }> {
  const x: Arg = { ...pipe_run(n), kq: sys.kqueue() };
  const writer = start_writer(x);
  kevent(x.kq, [EV_SET(x.r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
  const side = reader_side(x), buf = Buffer.alloc(64);
  side.ready();
  for (let i = 0; i < n; i++) {
    await sys.kevent_async(x.kq, null, 1, null);
    side.sample(i);
    readSync(x.r, buf);
    side.answered(i);
  }
  await writer;
  sys.close(x.kq); sys.close(x.r); sys.close(x.w);
  return run_latency(x);
}

/** Its peer: 'data' on a net.Socket over the pipe in this thread's event loop. */
async function node_main_once(n: number): Promise<{ p50: number; p99: number }> {
  const x = pipe_run(n);
  const writer = start_writer(x);
  const side = reader_side(x);
  const sock = new Socket({ fd: x.r, readable: true, writable: false });
  let i = 0;
  await new Promise<void>((done) => {
    sock.on('data', (d: Buffer) => {
      for (let k = 0; k < d.length && i < n; k++) { side.sample(i); side.answered(i); i++; }
      if (i >= n) { sock.destroy(); done(); }
    });
    side.ready();
  });
  await writer;
  sys.close(x.w); // the socket closed r
  return run_latency(x);
}

/** The latency figures: pipe write -> EVFILT_READ in a blocked LWP vs 'data' in a worker. */
async function latency_figures(R: number, N: number): Promise<void> {
  console.log(`OS event sources (reps ${R}, ${N} writes each)`);
  await ukern_once(200); await node_pipe_latency(200); // warm-up: the intr thread runs, JIT
  const u: { p50: number; p99: number; paths: Paths }[] = [], nd: { p50: number; p99: number }[] = [];
  for (let i = 0; i < R; i++) { u.push(await ukern_once(N)); nd.push(await node_pipe_latency(N)); }
  const up50 = median(u.map((x) => x.p50)), np50 = median(nd.map((x) => x.p50));
  report({ name: 'pipe write -> EVFILT_READ in an LWP blocked in kevent, p50 one-way', value: up50, unit: 'us',
    peer: "the same write -> 'data' in a worker's event loop", peerValue: np50, goal: '<= 1.2x', met: up50 <= 1.2 * np50,
    note: `the LWP waits in epoll_pwait2 on the kernel's epoll set and takes the event in that call (intr/hostwait.ts); ${paths_note(u, R * N)}` });
  report({ name: 'pipe write -> EVFILT_READ in an LWP blocked in kevent, p99 one-way', value: median(u.map((x) => x.p99)), unit: 'us',
    peer: "the same write -> 'data', p99", peerValue: median(nd.map((x) => x.p99)), goal: 'reported' });
  await ukern_async_once(200); await node_main_once(200);
  const ua: { p50: number; p99: number }[] = [], na: { p50: number; p99: number }[] = [];
  for (let i = 0; i < R; i++) { ua.push(await ukern_async_once(N)); na.push(await node_main_once(N)); }
  report({ name: 'pipe write -> kevent_async resolved in the main thread\'s event loop (KQueue.wait), p50 one-way', value: median(ua.map((x) => x.p50)), unit: 'us',
    peer: "the same write -> 'data' in the main thread's event loop", peerValue: median(na.map((x) => x.p50)), goal: 'reported',
    note: 'two thread hops: the intr thread takes the event, then the event loop wakes (Node has no public handle to watch the kernel\'s epoll set from the loop)' });
}

/** The 10 000-descriptor figures (os-sources-many.ts): rounds, registration, idle CPU. */
async function many_figures(R: number, N: number, K: number, rounds: number): Promise<void> {
  console.log(`${N} registered descriptors, ${K} made ready per round, ${rounds} rounds (reps ${R}; RLIMIT_NOFILE ${nofile()})`);
  const u: RoundFigures[] = [], nd: RoundFigures[] = [], reg: number[] = [], nreg: number[] = [];
  for (let i = 0; i < R; i++) {
    const fds = streams(N);
    const x = ukern_rounds(fds, rounds, K);
    u.push(x); reg.push(x.registerMs);
    const y = await node_rounds(fds, rounds, K); // closes the descriptors
    nd.push(y); nreg.push(y.registerMs);
  }
  const ue = median(u.map((x) => x.eventsPerS)), ne = median(nd.map((x) => x.eventsPerS));
  report({ name: `${N} registered EV_CLEAR read knotes, ${K} ready per round: events/s`, value: ue, unit: 'ev/s',
    peer: `the same ${N} streams with 'data' listeners in one event loop`, peerValue: ne, goal: '>= 1.0x', met: ue >= ne,
    note: 'main thread blocked in kevent; each reported descriptor read' });
  report({ name: `${N} registered knotes, ${K} ready per round: per-round cost p50`, value: median(u.map((x) => x.perRoundUs)), unit: 'us',
    peer: "the same with 'data' listeners", peerValue: median(nd.map((x) => x.perRoundUs)), goal: 'reported' });
  report({ name: `${N} registered knotes, ${K} ready per round: process CPU per round`, value: median(u.map((x) => x.cpuPerRoundUs)), unit: 'us',
    peer: "the same with 'data' listeners", peerValue: median(nd.map((x) => x.cpuPerRoundUs)), goal: 'reported',
    note: 'user + system of every thread (the intr thread included), incl. the 100 writes' });
  report({ name: `registering ${N} read knotes on socket descriptors (one kevent call)`, value: median(reg), unit: 'ms',
    peer: `${N} net.Sockets over the descriptors with 'data' listeners, until the loop polls them`, peerValue: median(nreg),
    goal: 'reported', note: `${(median(reg) * 1e3 / N).toFixed(2)} us per knote` });
  const fds = streams(N);
  const idle = idle_cost(fds, 3000);
  report({ name: `intr thread CPU, ${N} idle registered descriptors, over 3 s`, value: idle.schedUs, unit: 'us', goal: '~0', met: idle.schedUs < 3000,
    note: `kstat intr.cpu_us ${idle.kstatUs} us, ${idle.wakeups} wake-ups (schedstat of the thread, ns clock)` });
  for (const fd of fds) sys.close(fd);
}

function nofile(): string {
  const l = readFileSync('/proc/self/limits', 'utf8').split('\n').find((x) => x.startsWith('Max open files'));
  return l === undefined ? '?' : l.split(/\s+/).slice(3, 5).join('/');
}

if (isMainThread) {
  const only = process.env.OS_BENCH_ONLY;
  if (only !== 'many') await latency_figures(reps(5), 3000);
  if (only !== 'latency') await many_figures(reps(5), 10_000, 100, 300);
  flush();
}
