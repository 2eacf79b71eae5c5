/**
 * Structured messages (issue 12, "Must reach"), each beside its postMessage
 * peer measured in the same run, interleaved (a ukern repetition, then a
 * peer repetition, BENCH_REPS times, fresh LWPs / workers each: each
 * throughput repetition of ukern in a fresh process, so that its LWPs'
 * workers are as new as the peer's), medians:
 *
 *  - 1 producer LWP -> 1 consumer LWP, small objects
 *    `{ id, name, tags: [8 strings], values: Float64Array(8) }`: >= 5x
 *    postMessage of the same objects worker -> worker over a MessageChannel;
 *  - the same with 1 KiB strings: >= 2x;
 *  - message ping-pong round trip between two LWPs: <= 0.5x a postMessage
 *    ping-pong between two workers, both pairs fresh (the LWPs in a fresh
 *    process each repetition), timed after WARM_RTT round trips (why: its
 *    comment), with the first COLD_RTT of each pair reported apart;
 *  - kernel memory per queued small message (its arena block + its event slot);
 *  - the diagnostics channels' cost (issue 12 item 8: <= 2 % when nobody
 *    subscribes): port throughput with nobody subscribed vs with a
 *    subscriber on every ukern channel (so every `hasSubscribers` check is
 *    true), switched window by window inside the same LWPs (after a few
 *    warm windows: V8 compiling), pairs of windows in ABBA order; each
 *    figure is the median of the per-pair ratios over all repetitions, with
 *    its distribution-free 95 % interval. Two figures: 1 LWP -> 1 LWP
 *    (sendSync / getnSync(64), 50k-event windows), and the send/get path in
 *    one LWP (64 sendSync then getnSync(64), 6400-event windows), which
 *    decides the goal: whole runs compared with each other (the first
 *    design) spread 2x on this machine, and so do two threads' windows (the
 *    queue swings between a consumer woken per event and one taking full
 *    batches), while one thread's short windows mostly see no preemption at
 *    all, so the median of thousands of pairs resolves a few tenths of one
 *    per cent. No publish site lies on the send/get path (kern/diag.ts'
 *    users: alert, close, LWP create/exit, timer overrun, signal, panic), so
 *    the two sides should differ by noise only; the note adds the measured
 *    cost of one diag_publish with nobody subscribed.
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
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import dc from 'node:diagnostics_channel';
import { Lwp, Port, stats, PORT_SOURCE_MSG } from '../src/index.js';
import { kevents } from '../src/ports/mem.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { report, flush, reps, median, percentile } from './lib.js';
import { diag_publish, dc_port_alert } from '../src/kern/diag.js';
import { makeValue, type Kind, type Small } from './messages-values.js';
import { pmThroughput, pmPingPong } from './messages-peer.js';

const SELF = new URL(import.meta.url);
/** Values of the cold window, then of the steady one (N in all). */
const COLD = 100_000, STEADY = 300_000;
const N = COLD + STEADY;
const ROUNDS = 20_000;
/**
 * Round trips of a ping-pong before the timed ones: both pairs are fresh
 * (new workers, a fresh process for the LWPs), and a fresh LWP pair runs
 * its first few thousand round trips in V8's interpreter and baseline
 * code (~1 ms each at first, ~10-20 us after ~7000 here: the optimizing
 * compiler's threads share the 2 CPUs with the two LWPs), where
 * postMessage's are C++ from the first. So the RTT is the steady state's,
 * after WARM_RTT untimed round trips on both sides, and the first COLD_RTT
 * are reported apart.
 */
const WARM_RTT = 10_000, COLD_RTT = 1000;
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

/** A ping-pong's round trips (µs, means): the first COLD_RTT of a fresh pair, and the timed ones after the warm-up. */
export interface RttWindows { cold: number; steady: number }

/**
 * Ping side: `warm` round trips untimed (the first COLD_RTT of them timed
 * apart: a fresh pair's cold start), then `n` timed (post on a, receive
 * on b).
 */
export function ping(arg: { a: number; b: number; n: number; warm: number; kind: Kind }): RttWindows {
  const pa = new Port(arg.a), pb = new Port(arg.b);
  const total = arg.warm + arg.n, cold = Math.min(COLD_RTT, arg.warm);
  let t0 = performance.now(), tc = 0;
  for (let i = 0; i < total; i++) {
    if (i === cold) tc = performance.now() - t0;
    if (i === arg.warm) t0 = performance.now();
    pa.postSync(makeValue(arg.kind, i));
    pb.receiveSync();
  }
  return { cold: tc / cold * 1e3, steady: (performance.now() - t0) / arg.n * 1e3 };
}

export function pong(arg: { a: number; b: number; n: number }): number {
  const pa = new Port(arg.a), pb = new Port(arg.b);
  for (let i = 0; i < arg.n; i++) pb.postSync(pa.receiveSync());
  return arg.n;
}

/** Control words of a diagnostics run (Int32Array over ctl): the phase (0 nobody subscribed, 1 subscribed), stop. */
const D_PHASE = 0, D_STOP = 1;

/**
 * The producer of a diagnostics run: sendSync until told to stop, retrying
 * while the port is full. Its subscriptions follow the consumer's phase
 * word, looked at every 64 sends (the same load in both phases).
 */
export function tpProducer(arg: { fd: number; ctl: SharedArrayBuffer }): number {
  const c = new Int32Array(arg.ctl);
  const port = new Port(arg.fd);
  let subscribed = false, i = 0;
  for (;;) {
    if ((i & 63) === 0) {
      if (Atomics.load(c, D_STOP) !== 0) return i;
      const want = Atomics.load(c, D_PHASE) !== 0;
      if (want !== subscribed) { if (want) subscribeAll(); else unsubscribeAll(); subscribed = want; }
    }
    try { port.sendSync(1, i); i++; } catch { /* full: retry */ }
  }
}

/**
 * The consumer of a diagnostics run: `warm` windows first (V8 still
 * compiling the send/get paths: not counted), then `pairs` pairs of windows
 * of `win` events each, one window nobody subscribed and one with a
 * subscriber on every ukern channel in both threads, in the order
 * none/all, all/none, none/all, ... (ABBA: a linear drift of the machine's
 * speed cancels over two pairs). It switches its own subscriptions at each
 * boundary and tells the producer by the phase word. Returns the events per
 * second of each counted window, in pairs [none, all] (Float64Array over out).
 */
export function tpConsumer(arg: { fd: number; ctl: SharedArrayBuffer; out: SharedArrayBuffer; win: number; warm: number; pairs: number }): number {
  const c = new Int32Array(arg.ctl), o = new Float64Array(arg.out);
  const port = new Port(arg.fd);
  const windows = arg.warm + 2 * arg.pairs;
  let got = 0, subscribed = false;
  for (let w = 0; w < windows; w++) {
    const k = w - arg.warm;
    // Warm windows unsubscribed; counted window k: pair k >> 1, its first window subscribed in odd pairs.
    const want = k >= 0 && ((k & 1) ^ ((k >> 1) & 1)) !== 0;
    if (want !== subscribed) { if (want) subscribeAll(); else unsubscribeAll(); subscribed = want; }
    Atomics.store(c, D_PHASE, want ? 1 : 0);
    const g0 = got, t0 = performance.now(), end = g0 + arg.win;
    while (got < end) got += port.getnSync(64).length;
    const rate = (got - g0) / (performance.now() - t0) * 1e3;
    if (k >= 0) o[((k >> 1) << 1) + (want ? 1 : 0)] = rate;
  }
  if (subscribed) unsubscribeAll();
  Atomics.store(c, D_STOP, 1);
  // Drain what the producer sent before it saw the stop, so that its last sendSync finds room.
  while (port.getnSync(64, 0, { timeout: 50 }).length > 0) { /* drain */ }
  return got;
}

/**
 * The send/get path alone, in one LWP: 64 sendSync then one getnSync(64)
 * (which finds them queued: no sleep, no other thread), `win` events a
 * window, the windows as tpConsumer's (warm ones first, then ABBA pairs,
 * switching this thread's subscriptions). Same output as tpConsumer.
 */
export function tpSelf(arg: { out: SharedArrayBuffer; win: number; warm: number; pairs: number }): number {
  const o = new Float64Array(arg.out);
  const port = new Port();
  const windows = arg.warm + 2 * arg.pairs;
  let subscribed = false, sent = 0;
  for (let w = 0; w < windows; w++) {
    const k = w - arg.warm;
    const want = k >= 0 && ((k & 1) ^ ((k >> 1) & 1)) !== 0;
    if (want !== subscribed) { if (want) subscribeAll(); else unsubscribeAll(); subscribed = want; }
    const t0 = performance.now();
    for (let n = 0; n < arg.win; n += 64) {
      for (let j = 0; j < 64; j++) port.sendSync(1, sent++);
      if (port.getnSync(64).length !== 64) throw new Error('tpSelf: a short getn');
    }
    const rate = arg.win / (performance.now() - t0) * 1e3;
    if (k >= 0) o[((k >> 1) << 1) + (want ? 1 : 0)] = rate;
  }
  if (subscribed) unsubscribeAll();
  port.close();
  return sent;
}

const CHANNELS = ['lwp:create', 'lwp:exit', 'port:alert', 'port:close', 'timer:overrun', 'kqueue:close', 'panic', 'signal'];
const sink = (): void => { /* a subscriber that does nothing */ };
function subscribeAll(): void { for (const c of CHANNELS) dc.subscribe(`ukern:${c}`, sink); }
function unsubscribeAll(): void { for (const c of CHANNELS) dc.unsubscribe(`ukern:${c}`, sink); }

/**
 * Windows of the diagnostics runs: events a window, warm windows, pairs a
 * repetition. Across two threads ~8 ms windows (the port's queue swings
 * between a consumer that sleeps per event and one that takes full batches,
 * 3x apart in rate, and shorter windows catch one mode or the other); in
 * one thread windows of ~0.6 ms, short enough that most pairs see no
 * preemption at all (their ratio is then within a few per cent of 1, and
 * the median of thousands resolves a few tenths of one per cent).
 */
const D_WIN = 50_000, D_WARM = 10, D_PAIRS = 40;
const S_WIN = 6400, S_WARM = 300, S_PAIRS = 600;

/** One cross-thread diagnostics run (fresh LWPs): the [none, all] rates of its pairs. */
async function portThroughputPairs(): Promise<Float64Array> {
  const port = new Port();
  const ctl = new SharedArrayBuffer(8), out = new SharedArrayBuffer(8 * 2 * D_PAIRS);
  const c = Lwp.create<number>({ module: SELF, export: 'tpConsumer', arg: { fd: port.fd, ctl, out, win: D_WIN, warm: D_WARM, pairs: D_PAIRS } });
  const p = Lwp.create<number>({ module: SELF, export: 'tpProducer', arg: { fd: port.fd, ctl } });
  await c.wait();
  await p.wait();
  port.close();
  return new Float64Array(out);
}

/** One single-thread diagnostics run (a fresh LWP): the [none, all] rates of its pairs. */
async function portPathPairs(): Promise<Float64Array> {
  const out = new SharedArrayBuffer(8 * 2 * S_PAIRS);
  await Lwp.create<number>({ module: SELF, export: 'tpSelf', arg: { out, win: S_WIN, warm: S_WARM, pairs: S_PAIRS } }).wait();
  return new Float64Array(out);
}

/** Per-pair ratios (none / all), sorted, their median and its 95 % interval, and the median rates of each side. */
interface Paired { rs: Float64Array; m: number; lo: number; hi: number; none: number; all: number }
function paired(runs: Float64Array[]): Paired {
  const ratios: number[] = [], none: number[] = [], all: number[] = [];
  for (const o of runs) {
    for (let i = 0; i < o.length; i += 2) { none.push(o[i]!); all.push(o[i + 1]!); ratios.push(o[i]! / o[i + 1]!); }
  }
  const rs = Float64Array.from(ratios).sort();
  const [lo, hi] = medianCI(rs);
  return { rs, m: median(rs), lo, hi, none: median(none), all: median(all) };
}
const ci = (p: Paired): string =>
  `95 % CI of the median [${p.lo.toFixed(4)}, ${p.hi.toFixed(4)}], per-pair ratios p10..p90 ${percentile(p.rs, 10).toFixed(3)}..${percentile(p.rs, 90).toFixed(3)}; ` +
  `window medians ${(p.none / 1e6).toFixed(2)}M ev/s nobody subscribed, ${(p.all / 1e6).toFixed(2)}M subscribed`;

/**
 * A distribution-free 95 % confidence interval of the median of n sorted
 * samples: the order statistics a and b = n + 1 - a (1-based) such that
 * P(a <= Binomial(n, 1/2) <= b - 1) >= 0.95 (the count of samples below the
 * true median is that binomial), a as large as that allows.
 */
function medianCI(sorted: Float64Array): [number, number] {
  const n = sorted.length;
  const pmf: number[] = [];
  let lp = -n * Math.LN2; // log P(B = 0)
  for (let i = 0; i <= n; i++) { pmf.push(Math.exp(lp)); lp += Math.log((n - i) / (i + 1)); }
  for (let a = Math.floor((n + 1) / 2); a >= 1; a--) {
    const b = n + 1 - a;
    let mass = 0;
    for (let i = a; i <= b - 1; i++) mass += pmf[i]!;
    if (mass >= 0.95) return [sorted[a - 1]!, sorted[b - 1]!];
  }
  return [sorted[0]!, sorted[n - 1]!];
}

/** diag_publish with nobody subscribed, ns a call (loop and call included: an upper bound of the check). */
function publishCheckNs(): number {
  const N = 5_000_000;
  const make = (): object => ({ port: 0 });
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) diag_publish(dc_port_alert, make);
    best = Math.min(best, (performance.now() - t0) * 1e6 / N);
  }
  return best;
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

/**
 * One ukThroughput in a fresh process, so that its two LWPs run on fresh
 * workers, as the peer's do (pmThroughput starts two new Workers each
 * time). In this process the pool's workers would be those of the earlier
 * repetitions, whose isolates have this module and the kernel's message
 * paths compiled already: the cold window then ran several times faster
 * than a fresh pair's, and the median of the repetitions compared warm
 * LWPs with a cold peer.
 */
function freshThroughput(kind: Kind, many: boolean): Rates {
  const r = spawnSync(process.execPath, [fileURLToPath(SELF), '--fresh-child', kind, many ? 'many' : 'one'], { encoding: 'utf8', timeout: 300_000 });
  const m = /@@rates (.*)/.exec(r.stdout);
  if (r.status !== 0 || m === null) throw new Error(`messages fresh child (${kind}, ${many ? 'many' : 'one'}): status ${r.status} ${r.signal ?? ''} ${r.stderr.slice(-1000)}`);
  return JSON.parse(m[1]!) as Rates;
}

/** A ping-pong of a fresh LWP pair: its round trips, the spin hits and misses on ports meanwhile (kstat port.spin_*), and the CPUs it kept busy (LWP start-up included). */
interface UkRtt extends RttWindows { hits: number; misses: number; cpus: number }

async function ukPingPong(kind: Kind): Promise<UkRtt> {
  const a = new Port(), b = new Port(); // (boots the kernel: kstat only after)
  const k0 = kstat_snapshot('port'), c0 = process.cpuUsage(), w0 = performance.now();
  const po = Lwp.create<number>({ module: SELF, export: 'pong', arg: { a: a.fd, b: b.fd, n: WARM_RTT + ROUNDS } });
  const pi = Lwp.create<RttWindows>({ module: SELF, export: 'ping', arg: { a: a.fd, b: b.fd, n: ROUNDS, warm: WARM_RTT, kind } });
  const r = await pi.wait();
  await po.wait();
  const c1 = process.cpuUsage(c0), w1 = performance.now(), k1 = kstat_snapshot('port');
  a.close(); b.close();
  return {
    ...r, cpus: (c1.user + c1.system) / 1e3 / (w1 - w0),
    hits: k1['port.spin_hits']! - k0['port.spin_hits']!, misses: k1['port.spin_misses']! - k0['port.spin_misses']!,
  };
}

/**
 * One ukPingPong in a fresh process: its two LWPs on fresh workers, as the
 * peer's two new Workers are (in this process the pool's workers would have
 * run the same paths in earlier repetitions, JIT-compiled already).
 */
function freshPingPong(kind: Kind): UkRtt {
  const r = spawnSync(process.execPath, [fileURLToPath(SELF), '--fresh-pingpong', kind], { encoding: 'utf8', timeout: 300_000 });
  const m = /@@rtt (.*)/.exec(r.stdout);
  if (r.status !== 0 || m === null) throw new Error(`messages fresh ping-pong (${kind}): status ${r.status} ${r.signal ?? ''} ${r.stderr.slice(-1000)}`);
  return JSON.parse(m[1]!) as UkRtt;
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

const FRESH = process.argv.indexOf('--fresh-child');
const FRESH_PP = process.argv.indexOf('--fresh-pingpong');
if (isMainThread && FRESH_PP >= 0) {
  console.log(`@@rtt ${JSON.stringify(await ukPingPong(process.argv[FRESH_PP + 1] as Kind))}`);
  process.exit(0);
}
if (isMainThread && FRESH >= 0) {
  console.log(`@@rates ${JSON.stringify(await ukThroughput(process.argv[FRESH + 1] as Kind, process.argv[FRESH + 2] === 'many'))}`);
  process.exit(0);
}

if (isMainThread && process.argv[1] === new URL(import.meta.url).pathname) {
  const R = reps(5);
  // MSG_BENCH_ONLY=pingpong: the ping-pong row alone (a run takes seconds, not minutes).
  const only = process.env.MSG_BENCH_ONLY;
  if (only !== undefined && only !== 'pingpong') throw new Error(`MSG_BENCH_ONLY: 'pingpong' or unset, not '${only}'`);
  if (only === undefined) for (const kind of ['small', 'str1k'] as const) {
    const uk: Rates[] = [], ukm: Rates[] = [], pm: Rates[] = [];
    for (let r = 0; r < R; r++) {
      uk.push(freshThroughput(kind, false));
      ukm.push(freshThroughput(kind, true));
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
  const ukr: UkRtt[] = [], pmr: RttWindows[] = [];
  for (let r = 0; r < R; r++) {
    ukr.push(freshPingPong('small'));
    pmr.push(await pmPingPong('small', ROUNDS, WARM_RTT, COLD_RTT));
  }
  const rv = median(ukr.map((x) => x.steady)), rp = median(pmr.map((x) => x.steady));
  const cv = median(ukr.map((x) => x.cold)), cp = median(pmr.map((x) => x.cold));
  const one = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
  report({
    name: `message ping-pong RTT (small objects), LWP <-> LWP, fresh pairs, after ${WARM_RTT / 1000}k round trips`, value: rv, unit: 'us',
    peer: 'postMessage ping-pong worker <-> worker, the same', peerValue: rp, goal: '<= 0.5x', met: rv <= 0.5 * rp,
    note: `reps ukern [${one(ukr.map((x) => x.steady))}] postMessage [${one(pmr.map((x) => x.steady))}]; ` +
      `port spin hits/misses per run [${ukr.map((x) => `${x.hits}/${x.misses}`).join(', ')}] (${WARM_RTT + ROUNDS} round trips: ${2 * (WARM_RTT + ROUNDS)} gets); ` +
      `CPUs busy while it runs (LWP start-up included) [${one(ukr.map((x) => x.cpus))}]`,
  });
  report({
    name: `message ping-pong RTT (small objects), the first ${COLD_RTT} round trips of a fresh pair`, value: cv, unit: 'us',
    peer: 'postMessage ping-pong, the same', peerValue: cp, goal: 'reported',
    note: `reps ukern [${one(ukr.map((x) => x.cold))}] postMessage [${one(pmr.map((x) => x.cold))}]; V8 compiles the LWPs' paths meanwhile (WARM_RTT's comment)`,
  });
  if (only === 'pingpong') { flush(); process.exit(0); }
  report({ name: 'kernel memory per queued small message (arena block + event slot)', value: bytesPerMessage(), unit: 'B' });
  // Nobody subscribed vs a subscriber on every ukern channel, switched window by window
  // inside the same LWPs (ABBA pairs; fresh LWPs each repetition), the two kinds of run
  // alternating. No publish site lies on the send/get path (kern/diag.ts' users: alert,
  // close, LWP create/exit, timer overrun, signal, panic), so each ratio should be 1 within
  // noise; the 95 % interval of the median says how closely the run resolves it.
  const cross: Float64Array[] = [], self: Float64Array[] = [];
  for (let r = 0; r < R; r++) {
    cross.push(await portThroughputPairs());
    self.push(await portPathPairs());
  }
  const pc = paired(cross), ps = paired(self);
  const checkNs = publishCheckNs();
  report({
    name: `diagnostics channels: port throughput 1 LWP -> 1 LWP, nobody subscribed / a subscriber on every ukern channel, median of ${pc.rs.length} paired windows of ${D_WIN / 1000}k events`,
    value: pc.m, unit: 'x',
    note: `${ci(pc)}; two threads: their queue's swings make this interval wider than 2 %, the next figure decides the goal`,
  });
  report({
    name: `diagnostics channels: port send/get path in one LWP (64 sendSync, getnSync(64)), nobody subscribed / subscribed, median of ${ps.rs.length} paired windows of ${S_WIN} events`,
    value: ps.m, unit: 'x', goal: '>= 0.98x (cost <= 2 %) at the 95 % CI low end', met: ps.lo >= 0.98,
    note: `${ci(ps)}; diag_publish with nobody subscribed ${checkNs.toFixed(2)} ns a call (loop and call included), none of them on this path`,
  });
  flush();
  process.exit(0);
}
