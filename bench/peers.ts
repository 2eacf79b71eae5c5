/**
 * The peers: what a Node user has today for each thing ukern does, measured
 * in the calling process, now, so that every ukern figure can be divided by
 * a peer from the same run (BASELINES.md: this VM moves ±20% between runs, so
 * quotients of separate runs mislead).
 *
 * Every function runs `reps` repetitions; within a repetition p50/p99 come
 * from many samples; the returned p50/p99 are medians over repetitions and
 * `perRep` keeps each repetition for [min..max] reporting. Defaults keep each
 * function to a few seconds. Thread peers run in workers compiled from
 * bench/peers/ (build/bench/peers/*.js).
 */
import { Worker, MessageChannel, type TransferListItem } from 'node:worker_threads';
import { once } from 'node:events';
import { median, latency, percentile } from './lib.js';
import { isFromWorker, type ResultMsg, type WorkerJob } from './peers/protocol.js';
import { pingSideA, pingSideB } from './peers/loops.js';

const WORKER_URL = new URL('./peers/worker.js', import.meta.url);
const HELLO_URL = new URL('./peers/hello.js', import.meta.url);

/** One repetition's latency percentiles, µs. */
export interface LatencyRep { p50us: number; p99us: number; maxUs: number; samples: number }
/** Latency: medians over repetitions of each repetition's p50/p99 (µs). */
export interface LatencyResult { p50us: number; p99us: number; perRep: LatencyRep[] }

/** Where the two ends of a ping-pong run: two workers, or the calling (main) thread and one worker. */
export type Where = 'w-w' | 'main-w';

export interface PingPongOptions {
  /** Measured round trips per repetition. */
  rounds?: number;
  reps?: number;
  /** Unmeasured round trips first (JIT, thread wake-up). */
  warmup?: number;
  /** Per-repetition time cap in ms: a loaded machine may make rounds far slower than usual. */
  budgetMs?: number;
  where?: Where;
}

export interface ThroughputResult { msgsPerSec: number; perRep: number[] }
export interface StartupResult { p50ms: number; p99ms: number; perRep: { p50ms: number; p99ms: number }[] }
export interface IntervalResult extends LatencyResult {
  /** Mean period - nominal period: how far a relative timer drifts per fire (µs). */
  driftUsPerFire: number;
  perRepDriftUs: number[];
}
export interface TimerLatenessResult extends LatencyResult {
  /** Median over repetitions of the deadlines skipped because they had passed on waking. */
  overruns: number;
  perRepOverruns: number[];
}

/** Rejects counts that would make a bench meaningless (0 rounds) or hang (NaN). */
function positiveInt(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
}

function latencyRep(s: Float64Array): LatencyRep {
  if (s.length === 0) throw new Error('peer bench produced no samples');
  let min = Infinity;
  for (let i = 0; i < s.length; i++) if (s[i]! < min) min = s[i]!;
  if (min < 0) {
    // setInterval's lateness between fires can be negative (a fire early on
    // the last one): signed samples, which a histogram cannot record.
    const sorted = Float64Array.from(s).sort();
    return { p50us: percentile(sorted, 50), p99us: percentile(sorted, 99), maxUs: sorted[sorted.length - 1]!, samples: s.length };
  }
  const l = latency(s, 1e3); // us
  return { p50us: l.p50, p99us: l.p99, maxUs: l.max, samples: l.count };
}

function combine(perRep: LatencyRep[]): LatencyResult {
  return { p50us: median(perRep.map((r) => r.p50us)), p99us: median(perRep.map((r) => r.p99us)), perRep };
}

/**
 * A spawned peer worker: `ready` resolves once it listens, `result` with its
 * one result. An error or early exit rejects both; both are marked handled so
 * that an unawaited one cannot crash the process with an unhandled rejection.
 */
class PeerWorker {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly result: Promise<ResultMsg>;

  constructor(job: WorkerJob, transfer: TransferListItem[] = []) {
    this.worker = new Worker(WORKER_URL, { workerData: job, transferList: transfer });
    let onReady!: () => void;
    let onResult!: (r: ResultMsg) => void;
    let onFail!: (e: Error) => void;
    const failers: ((e: Error) => void)[] = [];
    this.ready = new Promise<void>((res, rej) => { onReady = res; failers.push(rej); });
    this.result = new Promise<ResultMsg>((res, rej) => { onResult = res; failers.push(rej); });
    onFail = (e) => { for (const f of failers) f(e); };
    this.ready.catch(() => undefined);
    this.result.catch(() => undefined);
    this.worker.on('message', (m: unknown) => {
      if (!isFromWorker(m)) return;
      if (m.type === 'ready') onReady();
      else onResult(m);
    });
    this.worker.on('error', (e: Error) => onFail(e));
    this.worker.on('exit', (code: number) => onFail(new Error(`peer worker ${job.kind} exited (${code}) before its result`)));
  }

  go(): void { this.worker.postMessage({ type: 'go' }); }
}

/**
 * Runs `body` with the workers it spawns, then terminates them all whatever
 * happens. `timeoutMs` guards against a wedged run (a spinning peer whose
 * partner died would spin forever; terminate() interrupts a JS loop).
 */
async function withWorkers<T>(timeoutMs: number, label: string, body: (spawn: (job: WorkerJob, transfer?: TransferListItem[]) => PeerWorker) => Promise<T>): Promise<T> {
  const spawned: PeerWorker[] = [];
  const spawn = (job: WorkerJob, transfer?: TransferListItem[]): PeerWorker => {
    const w = new PeerWorker(job, transfer);
    spawned.push(w);
    return w;
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${label}: no result within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([body(spawn), timeout]);
  } finally {
    clearTimeout(timer);
    await Promise.all(spawned.map((w) => w.worker.terminate()));
  }
}

/** Timeout for one repetition: its budget plus generous room for thread start-up and warm-up on a loaded VM. */
const guard = (budgetMs: number): number => budgetMs * 3 + 30_000;

function checkPingPong(rounds: number, reps: number, warmup: number): void {
  positiveInt('rounds', rounds);
  positiveInt('reps', reps);
  // At least one warm-up round: it starts the time budget (see pingSideA).
  positiveInt('warmup', warmup, 1);
}

async function pmRep(rounds: number, warmup: number, budgetMs: number, where: Where): Promise<LatencyRep> {
  return withWorkers(guard(budgetMs), 'postMessagePingPong', async (spawn) => {
    const { port1, port2 } = new MessageChannel();
    const b = spawn({ kind: 'pm-b', port: port2 }, [port2]);
    if (where === 'w-w') {
      const a = spawn({ kind: 'pm-a', port: port1, rounds, warmup, budgetMs }, [port1]);
      await Promise.all([a.ready, b.ready]);
      b.go();
      a.go();
      const r = await a.result;
      return latencyRep(r.samples ?? new Float64Array(0));
    }
    await b.ready;
    b.go();
    // main<->w: the calling thread is side A, on its own event loop.
    const samples = new Float64Array(rounds);
    let n = 0;
    let deadline = Infinity;
    for (let k = -warmup; n < rounds; k++) {
      const t0 = performance.now();
      port1.postMessage({ seq: k, op: 'ping', value: 42 });
      await once(port1, 'message');
      const t1 = performance.now();
      if (k >= 0) samples[n++] = (t1 - t0) * 1000;
      else if (k === -1) deadline = t1 + budgetMs;
      if (t1 > deadline) break;
    }
    port1.close();
    return latencyRep(samples.subarray(0, n));
  });
}

/**
 * Round trip of a small object over a MessageChannel between two workers
 * (or main<->worker): BASELINES.md §1 (a), ~76 µs RTT p50 here.
 */
export async function postMessagePingPong(opts: PingPongOptions = {}): Promise<LatencyResult> {
  const { rounds = 5000, reps = 5, warmup = 500, budgetMs = 2000, where = 'w-w' } = opts;
  checkPingPong(rounds, reps, warmup);
  const perRep: LatencyRep[] = [];
  for (let i = 0; i < reps; i++) perRep.push(await pmRep(rounds, warmup, budgetMs, where));
  return combine(perRep);
}

async function sharedWordRep(block: boolean, rounds: number, warmup: number, budgetMs: number, where: Where): Promise<LatencyRep> {
  const label = block ? 'atomicsPingPong' : 'atomicsSpinPingPong';
  return withWorkers(guard(budgetMs), label, async (spawn) => {
    const sab = new SharedArrayBuffer(8);
    const b = spawn({ kind: block ? 'atomics-b' : 'spin-b', sab, rounds, warmup });
    if (where === 'w-w') {
      const a = spawn({ kind: block ? 'atomics-a' : 'spin-a', sab, rounds, warmup, budgetMs });
      await Promise.all([a.ready, b.ready]);
      b.go();
      a.go();
      const r = await a.result;
      return latencyRep(r.samples ?? new Float64Array(0));
    }
    await b.ready;
    b.go();
    // main<->w: the calling thread is side A and blocks (or spins) in it, as
    // BASELINES.md §1 (b) "main blocks" does; its event loop stalls meanwhile.
    const r = pingSideA(sab, rounds, warmup, budgetMs, block);
    return latencyRep(r.samples);
  });
}

/**
 * Bare Atomics.wait/notify ping-pong on one shared word, both sides blocking:
 * BASELINES.md §1 (b), ~66 µs RTT p50 here (the ~25 µs vCPU wake per hop).
 */
export async function atomicsPingPong(opts: PingPongOptions = {}): Promise<LatencyResult> {
  const { rounds = 5000, reps = 5, warmup = 500, budgetMs = 2000, where = 'w-w' } = opts;
  checkPingPong(rounds, reps, warmup);
  const perRep: LatencyRep[] = [];
  for (let i = 0; i < reps; i++) perRep.push(await sharedWordRep(true, rounds, warmup, budgetMs, where));
  return combine(perRep);
}

/**
 * Both sides spin on Atomics.load: BASELINES.md §1, ~0.86 µs RTT p50 here,
 * the floor for any spin-then-park design. Needs both vCPUs free: under load
 * a handoff can cost a scheduler tick, which the time budget bounds.
 */
export async function atomicsSpinPingPong(opts: PingPongOptions = {}): Promise<LatencyResult> {
  const { rounds = 100_000, reps = 5, warmup = 10_000, budgetMs = 1000, where = 'w-w' } = opts;
  checkPingPong(rounds, reps, warmup);
  const perRep: LatencyRep[] = [];
  for (let i = 0; i < reps; i++) perRep.push(await sharedWordRep(false, rounds, warmup, budgetMs, where));
  return combine(perRep);
}

export interface ThroughputOptions { messages?: number; reps?: number; /** untimed messages first, so both sides run optimized code (default 0) */ warmup?: number }

/**
 * One producer worker posts `messages` small objects as fast as it can to one
 * consumer worker; rate = messages / (producer's first post -> consumer's last
 * receipt). BASELINES.md: ~517k msgs/s w->w here.
 */
export async function postMessageThroughput(opts: ThroughputOptions = {}): Promise<ThroughputResult> {
  const { messages = 200_000, reps = 5, warmup = 0 } = opts;
  positiveInt('messages', messages);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError('warmup must be a non-negative integer');
  positiveInt('reps', reps);
  const perRep: number[] = [];
  for (let i = 0; i < reps; i++) {
    perRep.push(await withWorkers(60_000, 'postMessageThroughput', async (spawn) => {
      const { port1, port2 } = new MessageChannel();
      const c = spawn({ kind: 'tp-consumer', port: port2, messages, warmup }, [port2]);
      const p = spawn({ kind: 'tp-producer', port: port1, messages, warmup }, [port1]);
      await Promise.all([c.ready, p.ready]);
      c.go();
      p.go();
      const r = await c.result;
      if (r.elapsedNs === undefined || r.elapsedNs <= 0) throw new Error('postMessageThroughput: no elapsed time');
      return messages / (r.elapsedNs / 1e9);
    }));
  }
  return { msgsPerSec: median(perRep), perRep };
}

export interface StartupOptions { n?: number; reps?: number }

/**
 * `new Worker(file)` -> its first message, one worker at a time, each
 * terminated before the next (BASELINES.md §4: ~33 ms p50 here). The worker
 * is an ES module, like the baseline's file.mjs.
 */
export async function newWorkerStartup(opts: StartupOptions = {}): Promise<StartupResult> {
  const { n = 20, reps = 3 } = opts;
  positiveInt('n', n);
  positiveInt('reps', reps);
  const perRep: { p50ms: number; p99ms: number }[] = [];
  for (let i = 0; i < reps; i++) {
    const s: number[] = [];
    for (let j = 0; j < n; j++) {
      const t0 = performance.now();
      const w = new Worker(HELLO_URL);
      try {
        await once(w, 'message');
        s.push(performance.now() - t0);
      } finally {
        await w.terminate();
      }
    }
    const l = latency(s, 1e6); // ms
    perRep.push({ p50ms: l.p50, p99ms: l.p99 });
  }
  return { p50ms: median(perRep.map((r) => r.p50ms)), p99ms: median(perRep.map((r) => r.p99ms)), perRep };
}

export interface IntervalOptions { periodMs?: number; fires?: number; reps?: number }

/**
 * setInterval(periodMs) on the calling thread's event loop, measured as
 * BASELINES.md §3 does: lateness sample = interval between successive fires -
 * period; drift = mean period - period (Node re-arms relative to the callback,
 * so lateness accumulates: ~116 µs p50, ~113 µs/fire at 1 ms here).
 */
export async function setIntervalLateness(opts: IntervalOptions = {}): Promise<IntervalResult> {
  const { periodMs = 1, fires = 1000, reps = 3 } = opts;
  positiveInt('fires', fires, 2); // lateness is between successive fires
  positiveInt('reps', reps);
  if (!(periodMs >= 1)) throw new RangeError(`periodMs must be >= 1 (Node clamps shorter intervals to 1 ms), got ${periodMs}`);
  const perRep: LatencyRep[] = [];
  const drift: number[] = [];
  for (let i = 0; i < reps; i++) {
    const times = await new Promise<Float64Array>((resolve) => {
      const t = new Float64Array(fires);
      let n = 0;
      const h = setInterval(() => {
        t[n++] = performance.now();
        if (n === fires) { clearInterval(h); resolve(t); }
      }, periodMs);
    });
    const late = new Float64Array(fires - 1);
    for (let k = 1; k < fires; k++) late[k - 1] = (times[k]! - times[k - 1]!) * 1000 - periodMs * 1000;
    perRep.push(latencyRep(late));
    drift.push(((times[fires - 1]! - times[0]!) / (fires - 1) - periodMs) * 1000);
  }
  return { ...combine(perRep), driftUsPerFire: median(drift), perRepDriftUs: drift };
}

export interface TimerOptions { periodUs?: number; fires?: number; reps?: number; budgetMs?: number }

/**
 * A worker sleeping with Atomics.wait(timeout) to absolute deadlines every
 * periodUs: the pure-blocking floor of a Node timer (BASELINES.md §3: ~110 µs
 * p50 at 1 ms, ~95 µs at 250 µs, because of the 50 µs timer slack).
 */
export async function atomicsWaitTimeoutLateness(opts: TimerOptions = {}): Promise<TimerLatenessResult> {
  const { periodUs = 1000, fires = 1000, reps = 3 } = opts;
  positiveInt('fires', fires);
  positiveInt('reps', reps);
  if (!(periodUs > 0)) throw new RangeError(`periodUs must be > 0, got ${periodUs}`);
  const budgetMs = opts.budgetMs ?? Math.max(2000, (fires * periodUs) / 1000 * 3);
  const perRep: LatencyRep[] = [];
  const overruns: number[] = [];
  for (let i = 0; i < reps; i++) {
    const r = await withWorkers(guard(budgetMs), 'atomicsWaitTimeoutLateness', async (spawn) => {
      const w = spawn({ kind: 'atomics-timer', periodUs, fires, budgetMs });
      await w.ready;
      w.go();
      return w.result;
    });
    perRep.push(latencyRep(r.samples ?? new Float64Array(0)));
    overruns.push(r.overruns ?? 0);
  }
  return { ...combine(perRep), overruns: median(overruns), perRepOverruns: overruns };
}

// Re-exported so a bench can run side B of a ping-pong in its own worker
// against a ukern side A, with the same protocol as the peers.
export { pingSideA, pingSideB };
