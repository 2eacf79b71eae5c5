/**
 * Structured messages (issue 12, "Must reach"), each beside its postMessage
 * peer measured in the same run, interleaved (a ukern repetition, then a
 * peer repetition, BENCH_REPS times, fresh LWPs / workers each), medians:
 *
 *  - 1 producer LWP -> 1 consumer LWP, small objects
 *    `{ id, name, tags: [8 strings], values: Float64Array(8) }`: >= 5x
 *    postMessage of the same objects worker -> worker over a MessageChannel;
 *  - the same with 1 KiB strings: >= 2x;
 *  - message ping-pong round trip between two LWPs: <= 0.5x a postMessage
 *    ping-pong between two workers;
 *  - kernel memory per queued small message (its arena block + its event slot);
 *  - the diagnostics channels' cost (issue 12 item 8: <= 2 % when nobody
 *    subscribes): plain port throughput 1 LWP -> 1 LWP (10^6 sendSync /
 *    getnSync(64)) with nobody subscribed vs with a subscriber on every
 *    ukern channel in every thread of the run (so every `hasSubscribers`
 *    check is true), alternating. No publish site lies on the send/get path
 *    (kern/diag.ts' users: alert, close, LWP create/exit, timer overrun,
 *    panic), so the two should differ by noise only.
 *
 * Both sides time from the first value received to the last (thread start-up
 * excluded), over a stream of N values (fresh threads each repetition);
 * the note splits ukern's time into the first COLD values (V8 still
 * compiling the paths: ~300 ms on this machine with both CPUs busy) and the
 * rest. (Per-window ratios against the peer would mislead: its producer,
 * with no backpressure, posts the whole stream during the peer's first
 * window and competes with its consumer for the CPUs then.) The ukern producer posts with postSync and awaits post() when
 * the arena or the port is full (backpressure), or, in the second figure of
 * each kind, with postManySync of BATCH values at a time (one run of events
 * per batch: the kernel entries of one message); the consumer takes batches
 * with getnSync (each event carries its decoded `message`). postMessage has
 * no backpressure: its producer posts all N at once.
 */
import { isMainThread } from 'node:worker_threads';
import dc from 'node:diagnostics_channel';
import { Lwp, Port, stats, PORT_SOURCE_MSG } from '../src/index.js';
import { kevents } from '../src/ports/mem.js';
import { report, flush, reps, median } from './lib.js';
import { makeValue, type Kind, type Small } from './messages-values.js';
import { pmThroughput, pmPingPong } from './messages-peer.js';

const SELF = new URL(import.meta.url);
/** Values of the cold window, then of the steady one (N in all). */
const COLD = 100_000, STEADY = 300_000;
const N = COLD + STEADY;
const ROUNDS = 20_000;
/** Values per postMany of the batched producer. */
const BATCH = 32;

export async function producer(arg: { fd: number; n: number; kind: Kind }): Promise<number> {
  const port = new Port(arg.fd);
  let waits = 0;
  for (let i = 0; i < arg.n; i++) {
    const v = makeValue(arg.kind, i);
    try { port.postSync(v); } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
      waits++;
      await port.post(v);
    }
  }
  return waits;
}

/** The batched producer: postManySync of BATCH values at a time; awaits postMany for what found no room. */
export async function producerMany(arg: { fd: number; n: number; kind: Kind }): Promise<number> {
  const port = new Port(arg.fd);
  let waits = 0;
  const batch: unknown[] = [];
  for (let i = 0; i < arg.n; i += BATCH) {
    batch.length = 0;
    for (let k = i; k < Math.min(arg.n, i + BATCH); k++) batch.push(makeValue(arg.kind, k));
    let done = 0;
    try { done = port.postManySync(batch); } catch (e) { if ((e as { code?: string }).code !== 'EAGAIN') throw e; }
    if (done < batch.length) { waits++; await port.postMany(batch.slice(done)); }
  }
  return waits;
}

/** A consumer's times: first value to the COLD-th, and from there to the last (ms). */
export interface Windows { cold: number; steady: number; sink: number }

export function consumer(arg: { fd: number; n: number; cold: number }): Windows {
  const port = new Port(arg.fd);
  let got = 0, t0 = 0, t1 = 0, sink = 0;
  while (got < arg.n) {
    const evs = port.getnSync(256);
    if (got === 0) t0 = performance.now();
    for (const ev of evs) {
      if (ev.portev_source !== PORT_SOURCE_MSG) throw new Error('a plain event in the message stream');
      const v = ev.message as Small | string;
      sink += typeof v === 'string' ? v.length : v.id;
      if (++got === arg.cold) t1 = performance.now();
    }
  }
  return { cold: t1 - t0, steady: performance.now() - t1, sink };
}

/** Ping side: n round trips (post on a, receive on b); mean of the last 90 %, µs. */
export function ping(arg: { a: number; b: number; n: number; kind: Kind }): number {
  const pa = new Port(arg.a), pb = new Port(arg.b);
  const warm = Math.floor(arg.n / 10);
  let t0 = 0;
  for (let i = 0; i < arg.n; i++) {
    if (i === warm) t0 = performance.now();
    pa.postSync(makeValue(arg.kind, i));
    pb.receiveSync();
  }
  return (performance.now() - t0) / (arg.n - warm) * 1e3;
}

export function pong(arg: { a: number; b: number; n: number }): number {
  const pa = new Port(arg.a), pb = new Port(arg.b);
  for (let i = 0; i < arg.n; i++) pb.postSync(pa.receiveSync());
  return arg.n;
}

export function tpProducer(arg: { fd: number; n: number; diag: boolean }): number {
  if (arg.diag) subscribeAll();
  const port = new Port(arg.fd);
  for (let i = 0; i < arg.n; i++) {
    for (;;) { try { port.sendSync(1, i); break; } catch { /* full: retry */ } }
  }
  return arg.n;
}

export function tpConsumer(arg: { fd: number; n: number; diag: boolean }): number {
  if (arg.diag) subscribeAll();
  const port = new Port(arg.fd);
  let got = 0, t0 = 0;
  while (got < arg.n) {
    const evs = port.getnSync(64);
    if (got === 0) t0 = performance.now();
    got += evs.length;
  }
  return performance.now() - t0;
}

const CHANNELS = ['lwp:create', 'lwp:exit', 'port:alert', 'port:close', 'timer:overrun', 'kqueue:close', 'panic'];
const sink = (): void => { /* a subscriber that does nothing */ };
function subscribeAll(): void { for (const c of CHANNELS) dc.subscribe(`ukern:${c}`, sink); }
function unsubscribeAll(): void { for (const c of CHANNELS) dc.unsubscribe(`ukern:${c}`, sink); }

async function portThroughput(diag: boolean): Promise<number> {
  const n = 1_000_000;
  if (diag) subscribeAll();
  try {
    const port = new Port();
    const c = Lwp.create<number>({ module: SELF, export: 'tpConsumer', arg: { fd: port.fd, n, diag } });
    const p = Lwp.create<number>({ module: SELF, export: 'tpProducer', arg: { fd: port.fd, n, diag } });
    const ms = await c.wait();
    await p.wait();
    port.close();
    return n / ms * 1e3;
  } finally {
    if (diag) unsubscribeAll();
  }
}

/** Values per second over the whole stream, in its first COLD values, and in the rest. */
interface Rates { all: number; cold: number; steady: number }
const rates = (w: { cold: number; steady: number }): Rates =>
  ({ all: N / (w.cold + w.steady) * 1e3, cold: COLD / w.cold * 1e3, steady: STEADY / w.steady * 1e3 });

async function ukThroughput(kind: Kind, many = false): Promise<Rates> {
  const port = new Port();
  const c = Lwp.create<Windows>({ module: SELF, export: 'consumer', arg: { fd: port.fd, n: N, cold: COLD } });
  const p = Lwp.create<number>({ module: SELF, export: many ? 'producerMany' : 'producer', arg: { fd: port.fd, n: N, kind } });
  const r = await c.wait();
  await p.wait();
  port.close();
  return rates(r);
}

async function ukPingPong(kind: Kind): Promise<number> {
  const a = new Port(), b = new Port();
  const po = Lwp.create<number>({ module: SELF, export: 'pong', arg: { a: a.fd, b: b.fd, n: ROUNDS } });
  const pi = Lwp.create<number>({ module: SELF, export: 'ping', arg: { a: a.fd, b: b.fd, n: ROUNDS, kind } });
  const us = await pi.wait();
  await po.wait();
  a.close(); b.close();
  return us;
}

/** Kernel bytes per queued small message: arena bytes in use / messages, plus one event slot. */
function bytesPerMessage(): number {
  const port = new Port();
  const M = 1000;
  for (let i = 0; i < M; i++) port.postSync(makeValue('small', i));
  const used = stats('msg')['msg.bytes_in_use']!;
  port.close();
  return used / M + kevents.bytesPerObject;
}

if (isMainThread && process.argv[1] === new URL(import.meta.url).pathname) {
  const R = reps(5);
  for (const kind of ['small', 'str1k'] as const) {
    const uk: Rates[] = [], ukm: Rates[] = [], pm: Rates[] = [];
    for (let r = 0; r < R; r++) {
      uk.push(await ukThroughput(kind));
      ukm.push(await ukThroughput(kind, true));
      pm.push(rates(await pmThroughput(kind, N, COLD)));
    }
    const goal = kind === 'small' ? 5 : 2;
    const what = kind === 'small' ? 'small objects' : '1 KiB strings';
    const peer = 'postMessage worker -> worker (MessageChannel)';
    const list = (xs: Rates[]): string => xs.map((x) => Math.round(x.all)).join(', ');
    const split = (xs: Rates[]): string => `first ${COLD / 1000}k ${Math.round(median(xs.map((x) => x.cold)))}/s, then ${Math.round(median(xs.map((x) => x.steady)))}/s`;
    const v = median(uk.map((x) => x.all)), vm = median(ukm.map((x) => x.all)), pv = median(pm.map((x) => x.all));
    report({
      name: `messages 1 LWP -> 1 LWP, ${what} (postSync each), ${N / 1000}k values`, value: v, unit: 'msg/s',
      peer, peerValue: pv, goal: `>= ${goal}x`, met: v >= goal * pv,
      note: `ukern ${split(uk)}; postMessage ${split(pm)}; reps ukern [${list(uk)}] postMessage [${list(pm)}]`,
    });
    report({
      name: `messages 1 LWP -> 1 LWP, ${what} (postManySync, ${BATCH} a batch), ${N / 1000}k values`, value: vm, unit: 'msg/s',
      peer, peerValue: pv, goal: `>= ${goal}x`, met: vm >= goal * pv,
      note: `ukern ${split(ukm)}; reps ukern [${list(ukm)}]`,
    });
  }
  const ukr: number[] = [], pmr: number[] = [];
  for (let r = 0; r < R; r++) {
    ukr.push(await ukPingPong('small'));
    pmr.push(await pmPingPong('small', ROUNDS));
  }
  const rv = median(ukr), rp = median(pmr);
  report({
    name: 'message ping-pong RTT (small objects), LWP <-> LWP', value: rv, unit: 'us',
    peer: 'postMessage ping-pong worker <-> worker', peerValue: rp, goal: '<= 0.5x', met: rv <= 0.5 * rp,
    note: `reps ukern [${ukr.map((x) => x.toFixed(1)).join(', ')}] postMessage [${pmr.map((x) => x.toFixed(1)).join(', ')}]`,
  });
  report({ name: 'kernel memory per queued small message (arena block + event slot)', value: bytesPerMessage(), unit: 'B' });
  const none: number[] = [], all: number[] = [];
  // Twice the repetitions: the two sides run the same send/get code (no publish site on that
  // path), so this figure is the VM's run-to-run spread unless a subscriber costs something.
  for (let r = 0; r < 2 * R; r++) {
    none.push(await portThroughput(false));
    all.push(await portThroughput(true));
  }
  const vn = median(none), va = median(all);
  report({
    name: 'diagnostics channels: port throughput 1 LWP -> 1 LWP, nobody subscribed', value: vn, unit: 'ev/s',
    peer: 'the same with a subscriber on every ukern channel', peerValue: va, goal: '>= 0.98x (cost <= 2 %)', met: vn >= 0.98 * va,
    note: `reps none [${none.map((x) => Math.round(x)).join(', ')}] all [${all.map((x) => Math.round(x)).join(', ')}]`,
  });
  flush();
  process.exit(0);
}
