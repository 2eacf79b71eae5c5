/**
 * One measurement of aio-engines.bench.ts, in a fresh child process (so that
 * UV_THREADPOOL_SIZE, read by libuv once per process, can differ between
 * candidates, and so that no candidate inherits another's threads or JIT):
 *
 *   node aio-engines-child.js '<json spec>'   prints one '@@AIO <json>' line
 *
 * The process's main thread only starts the issuer, a worker thread standing
 * for the future AIO kernel thread: it owns the engine, submits, and takes
 * the completions. Roles of the other threads of this file: 'io' (a blocking
 * engine's I/O worker) and 'pipew' (the thread that writes the pipe).
 * CPU cost is process.cpuUsage() (all threads of the process, user + system)
 * over the measured section, divided by the operations completed.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { latency, nowNs } from './lib.js';
import { make_engine, blk_worker, K_READ, K_WRITE, K_FSYNC, type Engine, type BlkShared } from './aio-engines-engines.js';
import { UringError } from './aio-uring.js';
import { BLOCK, FILE_BLOCKS, type Spec, type Result } from './aio-engines-spec.js';

const SELF = new URL(import.meta.url);

const cpuUs = (): number => { const u = process.cpuUsage(); return u.user + u.system; };

/** xorshift32: a cheap, seeded, thread-local random block index. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) % FILE_BLOCKS; };
}

// ---- workload 1: random 4 KiB reads, closed loop at queue depth qd ------------

async function readPhase(e: Engine, fd: number, qd: number, ms: number, seed: number): Promise<Result> {
  const next = rng(seed);
  const blk = new Int32Array(qd), tsub = new Float64Array(qd);
  const lat: number[] = [];
  let out = 0, ops = 0, bad = '';
  const end = performance.now() + ms;
  const submit = (slot: number): void => {
    const b = next();
    blk[slot] = b; tsub[slot] = nowNs(); out++;
    e.submit(K_READ, fd, slot, BLOCK, b * BLOCK);
  };
  const c0 = cpuUs(), t0 = nowNs();
  let t1 = t0;
  for (let s = 0; s < qd; s++) submit(s);
  await e.run((slot, res) => {
    const t = nowNs();
    out--; ops++; lat.push((t - tsub[slot]!) / 1e3); t1 = t;
    const v = e.view(slot);
    const got = v[0]! | (v[1]! << 8) | (v[2]! << 16) | (v[3]! << 24);
    if (res !== BLOCK || got !== blk[slot]) bad ||= `read slot ${slot}: res ${res}, block ${got} != ${blk[slot]}`;
    if (performance.now() < end) submit(slot);
  }, () => out === 0 && performance.now() >= end);
  const c1 = cpuUs();
  if (bad !== '') throw new Error(bad);
  const l = latency(lat, 1e3);
  return { ops, secs: (t1 - t0) / 1e9, p50us: l.p50, p99us: l.p99, cpuUsPerOp: (c1 - c0) / ops };
}

// ---- workload 2: 64 KiB sequential writes at queue depth qd, then one fsync --

async function writePhase(e: Engine, dir: string, qd: number, bytes: number): Promise<Result> {
  const file = join(dir, `aio-w-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(file, 'w');
  try {
    const chunk = 64 * 1024;
    for (let s = 0; s < qd; s++) e.view(s).fill(0x5a + s);
    let off = 0, out = 0, ops = 0, synced = false, bad = '';
    const lat: number[] = [];
    const tsub = new Float64Array(qd);
    const c0 = cpuUs(), t0 = nowNs();
    const submit = (slot: number): void => {
      tsub[slot] = nowNs(); out++;
      if (off < bytes) { e.submit(K_WRITE, fd, slot, chunk, off); off += chunk; } else e.submit(K_FSYNC, fd, slot, 0, 0);
    };
    for (let s = 0; s < qd && off < bytes; s++) submit(s);
    await e.run((slot, res) => {
      out--; ops++;
      lat.push((nowNs() - tsub[slot]!) / 1e3);
      if (res < 0 || (res !== chunk && res !== 0)) bad ||= `write slot ${slot}: res ${res}`;
      if (res === 0 && off >= bytes && out === 0 && ops > bytes / chunk) { synced = true; return; }
      if (off < bytes) submit(slot);
      else if (out === 0) submit(slot); // all writes done: the fsync
    }, () => synced);
    const c1 = cpuUs(), t1 = nowNs();
    if (bad !== '') throw new Error(bad);
    if (fs.fstatSync(fd).size !== bytes) throw new Error(`write: file size ${fs.fstatSync(fd).size} != ${bytes}`);
    const l = latency(lat, 1e3);
    return { ops, secs: (t1 - t0) / 1e9, p50us: l.p50, p99us: l.p99, cpuUsPerOp: (c1 - c0) / ops };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

// ---- workload 3: a pipe another thread writes, one outstanding read ----------

const P_ISSUED = 0, P_STOP = 1;

/** pipe(2) and close(2) from libc: Node has no pipe(), and fs.closeSync warns about fds it did not open. */
function makePipe(): { rfd: number; wfd: number; close: () => void } {
  const koffi = createRequire(import.meta.url)('koffi') as { load(n: string): { func(s: string): (...a: unknown[]) => unknown } };
  const libc = koffi.load('libc.so.6');
  const pipe = libc.func('int pipe(_Out_ int *fds)'), close = libc.func('int close(int)');
  const fds = new Int32Array(2);
  if (pipe(fds) !== 0) throw new Error('pipe() failed');
  return { rfd: fds[0]!, wfd: fds[1]!, close: () => { close(fds[0]!); close(fds[1]!); } };
}

async function pipePhase(e: Engine, rounds: number, warmup: number): Promise<Result> {
  const { rfd, wfd, close } = makePipe();
  const ctl = new SharedArrayBuffer(16 + 16);
  const c = new Int32Array(ctl, 0, 4), stamp = new Float64Array(ctl, 16, 2);
  const w = new Worker(SELF, { workerData: { role: 'pipew', ctl, wfd } });
  await new Promise((r) => w.once('online', r));
  try {
    const lat: number[] = [];
    let seq = 0, bad = '', c0 = 0, w0 = 0;
    const t0 = nowNs();
    const issue = (): void => {
      e.submit(K_READ, rfd, 0, 64, -1);
      Atomics.store(c, P_ISSUED, ++seq);
      Atomics.notify(c, P_ISSUED);
    };
    issue();
    await e.run((_slot, res) => {
      const t = nowNs();
      if (res !== 8) bad ||= `pipe read: res ${res}`;
      if (seq > warmup) lat.push((t - stamp[0]!) / 1e3);
      if (seq === warmup) { c0 = cpuUs(); w0 = stamp[1]!; }
      if (seq < warmup + rounds) issue();
    }, () => seq >= warmup + rounds && lat.length >= rounds);
    const c1 = cpuUs(), w1 = stamp[1]!;
    if (bad !== '') throw new Error(bad);
    const l = latency(lat, 1e3);
    const cpu = (c1 - c0) - (w1 - w0) / 1e3; // the writer thread's own CPU is the workload's, not the engine's
    return { ops: lat.length, secs: (nowNs() - t0) / 1e9, p50us: l.p50, p99us: l.p99, cpuUsPerOp: cpu / lat.length };
  } finally {
    Atomics.store(c, P_STOP, 1);
    Atomics.store(c, P_ISSUED, -1);
    Atomics.notify(c, P_ISSUED);
    await w.terminate();
    close();
  }
}

/**
 * The pipe writer: for each issued read, waits 100 us (so the reader is
 * blocked), stamps, writes 8 bytes, then publishes its own thread CPU time
 * (ns, CLOCK_THREAD_CPUTIME_ID) so that the issuer can leave it out.
 */
function pipeWriter(ctl: SharedArrayBuffer, wfd: number): void {
  const c = new Int32Array(ctl, 0, 4), stamp = new Float64Array(ctl, 16, 2);
  const koffi = createRequire(import.meta.url)('koffi') as { load(n: string): { func(s: string): (...a: unknown[]) => unknown } };
  const gettime = koffi.load('libc.so.6').func('int clock_gettime(int, _Out_ int64_t *ts)');
  const ts = new BigInt64Array(2);
  const threadCpuNs = (): number => { gettime(3, ts); return Number(ts[0]!) * 1e9 + Number(ts[1]!); };
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const msg = Buffer.alloc(8, 1);
  let seen = 0;
  for (;;) {
    const s = Atomics.load(c, P_ISSUED);
    if (Atomics.load(c, P_STOP) !== 0 || s < 0) return;
    if (s === seen) { Atomics.wait(c, P_ISSUED, s, 1000); continue; }
    seen = s;
    Atomics.wait(nap, 0, 0, 0.1);
    stamp[0] = nowNs();
    fs.writeSync(wfd, msg, 0, 8);
    stamp[1] = threadCpuNs();
  }
}

// ---- the issuer ----------------------------------------------------------------

async function issuer(spec: Spec): Promise<Result> {
  const slots = spec.workload === 'pipe' ? 1 : spec.qd;
  const e = await make_engine(spec.engine, spec.n, slots, SELF);
  try {
    if (spec.workload === 'read') {
      const fd = fs.openSync(spec.path, 'r');
      try {
        await readPhase(e, fd, spec.qd, Math.min(200, spec.amount), 7); // warm-up: JIT, pool threads
        return await readPhase(e, fd, spec.qd, spec.amount, 12345);
      } finally { fs.closeSync(fd); }
    }
    if (spec.workload === 'write') {
      await writePhase(e, spec.path, spec.qd, 4 << 20); // warm-up
      return await writePhase(e, spec.path, spec.qd, spec.amount);
    }
    return await pipePhase(e, spec.amount, 200);
  } finally {
    await e.close();
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as Spec;
  const w = new Worker(SELF, { workerData: { role: 'issuer', spec } });
  const r = await new Promise<Result>((res, rej) => {
    w.once('message', (m: Result) => res(m));
    w.once('error', rej);
    w.once('exit', (code) => rej(new Error(`issuer exited (${code}) without a result`)));
  });
  console.log('@@AIO ' + JSON.stringify(r));
  await w.terminate();
}

if (isMainThread) {
  await main();
} else {
  const wd = workerData as { role: string; spec?: Spec; shared?: BlkShared; ctl?: SharedArrayBuffer; wfd?: number };
  if (wd.role === 'io') blk_worker(wd.shared!);
  else if (wd.role === 'pipew') pipeWriter(wd.ctl!, wd.wfd!);
  else {
    let r: Result;
    try {
      r = await issuer(wd.spec!);
    } catch (e) {
      if (!(e instanceof UringError)) throw e;
      r = { ops: 0, secs: 0, p50us: NaN, p99us: NaN, cpuUsPerOp: NaN, error: e.message };
    }
    parentPort!.postMessage(r);
  }
}
