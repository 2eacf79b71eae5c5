/**
 * PORT_SOURCE_FD (issue 15), beside what Node gives for the same work in the
 * same run: a pipe written in one thread -> a PORT_SOURCE_FD event returned
 * to an LWP blocked in port_get, through the intr thread, the LWP reading
 * the byte and re-associating per event (the one-shot loop of
 * port_associate(3C)); vs the same write -> 'data' on that pipe in a worker's
 * own event loop (os-lib.ts, the baseline the OS-source benches share).
 * One-way latency, p50 and p99 per repetition, medians over the repetitions;
 * the writer waits for each round's answer. The LWP start function is
 * exported here; the bench runs in the main thread.
 */
import { isMainThread } from 'node:worker_threads';
import { readSync } from 'node:fs';
import * as sys from '../src/sys/index.js';
import { report, flush, reps, median } from './lib.js';
import { pipe_run, reader_side, start_writer, run_latency, node_pipe_latency, type PipeRun } from './os-lib.js';

const SELF = new URL(import.meta.url);
const { port_create, port_associate, port_get, PORT_SOURCE_FD, POLLIN } = sys;

interface Arg extends PipeRun { port: number }

/** The ukern reader: an LWP blocked in port_get, re-associating the pipe after each event. */
export function lwpReader(x: Arg): void {
  const side = reader_side(x), buf = Buffer.alloc(64);
  port_associate(x.port, PORT_SOURCE_FD, x.r, POLLIN, 0);
  side.ready();
  for (let i = 0; i < x.n; i++) {
    port_get(x.port, null);
    side.sample(i);
    readSync(x.r, buf);
    port_associate(x.port, PORT_SOURCE_FD, x.r, POLLIN, i + 1);
    side.answered(i);
  }
}

async function ukern_once(n: number): Promise<{ p50: number; p99: number }> {
  const x: Arg = { ...pipe_run(n), port: port_create() };
  const writer = start_writer(x);
  await sys.lwp_wait_async(sys.lwp_create({ module: SELF, export: 'lwpReader', arg: x }));
  await writer;
  sys.close(x.port); sys.close(x.r); sys.close(x.w);
  return run_latency(x);
}

if (isMainThread) {
  const R = reps(5), N = 3000;
  console.log(`PORT_SOURCE_FD (reps ${R}, ${N} writes each)`);
  await ukern_once(200); await node_pipe_latency(200); // warm-up: the intr thread runs, JIT
  const u: { p50: number; p99: number }[] = [], nd: { p50: number; p99: number }[] = [];
  for (let i = 0; i < R; i++) { u.push(await ukern_once(N)); nd.push(await node_pipe_latency(N)); }
  const up50 = median(u.map((x) => x.p50)), np50 = median(nd.map((x) => x.p50));
  report({ name: 'pipe write -> PORT_SOURCE_FD event in an LWP blocked in port_get, re-associating per event, p50 one-way', value: up50, unit: 'us',
    peer: "the same write -> 'data' in a worker's event loop", peerValue: np50, goal: '<= 1.3x', met: up50 <= 1.3 * np50,
    note: 'the getter waits in ppoll on the associated descriptor and its kick eventfd (ports/hostwait.ts)' });
  report({ name: 'pipe write -> PORT_SOURCE_FD event in an LWP blocked in port_get, p99 one-way', value: median(u.map((x) => x.p99)), unit: 'us',
    peer: "the same write -> 'data', p99", peerValue: median(nd.map((x) => x.p99)), goal: 'reported' });
  flush();
}
