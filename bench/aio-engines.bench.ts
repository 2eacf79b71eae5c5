/**
 * AIO engine bench (issue 16, step 0): which engine should perform POSIX AIO
 * for ukern, measured before choosing. Candidates, side by side:
 *
 *  (a) libuv's thread pool: fs.read/fs.write callbacks issued from a worker
 *      thread, with UV_THREADPOOL_SIZE 4 (Node's default) and 16;
 *  (b) N dedicated worker threads blocking in fs.readSync/fs.writeSync, fed
 *      through a SharedArrayBuffer ring with Atomics.wait/notify, N = 2, 4;
 *  (c) io_uring through koffi (rings mapped into JS with koffi.view), the
 *      issuing thread submitting and reaping with one blocking
 *      io_uring_enter(min_complete = 1) per batch; and the same with every
 *      SQE flagged IOSQE_ASYNC, which makes the kernel hand each one to an
 *      io-wq worker instead of trying it inline: a warm-cache read otherwise
 *      completes inside io_uring_enter, which a cold-cache read would not.
 *
 * Workloads: (1) 4 KiB random reads from a 64 MiB file whose pages are warm,
 * closed loop at queue depth 1, 8, 64: completions/s and submit->completion
 * p50/p99; (2) 64 KiB sequential writes at queue depth 8 and one fsync at the
 * end: MB/s including the fsync; (3) reads of a pipe another thread writes,
 * one outstanding read: write->completion p50/p99. Every figure also has the
 * process CPU per operation (process.cpuUsage over the measured section).
 *
 * Each (repetition, workload, candidate) is a fresh child process
 * (aio-engines-child.ts), candidates interleaved and their order rotated
 * every repetition; figures are medians over BENCH_REPS repetitions. The
 * peer of each figure is (a) at its default size, what Node does today.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir, release, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, flush, reps, median } from './lib.js';
import { BLOCK, FILE_BLOCKS, type Spec, type Result } from './aio-engines-spec.js';

const CHILD = fileURLToPath(new URL('./aio-engines-child.js', import.meta.url));
const R = reps(5);
const READ_MS = Number(process.env.AIO_READ_MS) > 0 ? Number(process.env.AIO_READ_MS) : 700;
const WRITE_BYTES = 32 << 20;
const PIPE_ROUNDS = 2000;

interface Cand { key: string; engine: Spec['engine']; n: number }
const CANDS: Cand[] = [
  { key: 'libuv pool x4', engine: 'uv', n: 4 },
  { key: 'libuv pool x16', engine: 'uv', n: 16 },
  { key: 'blocking threads x2', engine: 'blk', n: 2 },
  { key: 'blocking threads x4', engine: 'blk', n: 4 },
  { key: 'io_uring', engine: 'uring', n: 1 },
  { key: 'io_uring IOSQE_ASYNC', engine: 'uring-async', n: 1 },
];
const PEER = CANDS[0]!;

interface Load { key: string; workload: Spec['workload']; qd: number; amount: number }
const LOADS: Load[] = [
  { key: '4K random read QD1', workload: 'read', qd: 1, amount: READ_MS },
  { key: '4K random read QD8', workload: 'read', qd: 8, amount: READ_MS },
  { key: '4K random read QD64', workload: 'read', qd: 64, amount: READ_MS },
  { key: '64K seq write QD8 + fsync', workload: 'write', qd: 8, amount: WRITE_BYTES },
  { key: 'pipe read (writer thread)', workload: 'pipe', qd: 1, amount: PIPE_ROUNDS },
];

/** The 64 MiB data file: block i starts with the u32 i; then read once so that its pages are warm. */
function makeDataFile(dir: string): string {
  const path = join(dir, 'data');
  const chunk = Buffer.alloc(256 * BLOCK);
  const fd = fs.openSync(path, 'w');
  for (let b = 0; b < FILE_BLOCKS; b += 256) {
    for (let i = 0; i < 256; i++) chunk.writeUInt32LE(b + i, i * BLOCK);
    fs.writeSync(fd, chunk, 0, chunk.length, b * BLOCK);
  }
  fs.closeSync(fd);
  const rd = fs.openSync(path, 'r');
  while (fs.readSync(rd, chunk, 0, chunk.length, null) > 0) { /* warm the page cache */ }
  fs.closeSync(rd);
  return path;
}

function runChild(spec: Spec, env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(spec)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => { out += s; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('@@AIO '));
      if (code !== 0 || line === undefined) { reject(new Error(`aio child ${JSON.stringify(spec)}: exit ${code ?? sig}, output ${JSON.stringify(out.slice(-400))}`)); return; }
      resolve(JSON.parse(line.slice(6)) as Result);
    });
  });
}

type Runs = Map<string, Result[]>;

async function measure(dir: string, data: string): Promise<Runs> {
  const runs: Runs = new Map();
  for (let r = 0; r < R; r++) {
    for (const ld of LOADS) {
      for (let k = 0; k < CANDS.length; k++) {
        const c = CANDS[(k + r) % CANDS.length]!; // rotated order, every repetition
        const spec: Spec = { engine: c.engine, n: c.n, workload: ld.workload, qd: ld.qd, amount: ld.amount, path: ld.workload === 'read' ? data : dir };
        const env = { ...process.env, UV_THREADPOOL_SIZE: String(c.engine === 'uv' ? c.n : 4) };
        const res = await runChild(spec, env);
        const id = `${ld.key}|${c.key}`;
        if (!runs.has(id)) runs.set(id, []);
        runs.get(id)!.push(res);
      }
    }
    console.log(`  (repetition ${r + 1}/${R} done)`);
  }
  return runs;
}

interface Metric { name: string; unit: string; of: (r: Result, ld: Load) => number; lowerBetter: boolean }

function metrics(ld: Load): Metric[] {
  const cpu: Metric = { name: 'CPU per op', unit: 'us', of: (r) => r.cpuUsPerOp, lowerBetter: true };
  const p50: Metric = { name: 'p50', unit: 'us', of: (r) => r.p50us, lowerBetter: true };
  const p99: Metric = { name: 'p99', unit: 'us', of: (r) => r.p99us, lowerBetter: true };
  if (ld.workload === 'read') return [{ name: 'completions/s', unit: 'ops/s', of: (r) => r.ops / r.secs, lowerBetter: false }, p50, p99, cpu];
  if (ld.workload === 'write') return [{ name: 'MB/s incl. fsync', unit: 'MB/s', of: (r, l) => l.amount / 1e6 / r.secs, lowerBetter: false }, cpu];
  return [p50, p99, cpu];
}

function summarize(runs: Runs): void {
  for (const ld of LOADS) {
    console.log(`\n ${ld.key}`);
    for (const m of metrics(ld)) {
      const med = (c: Cand): number => median(runs.get(`${ld.key}|${c.key}`)!.map((r) => m.of(r, ld)));
      const peer = med(PEER);
      for (const c of CANDS) {
        const err = runs.get(`${ld.key}|${c.key}`)!.find((r) => r.error !== undefined)?.error;
        report({
          name: `${ld.key} ${m.name} [${c.key}]`, value: med(c), unit: m.unit,
          ...(c === PEER ? {} : { peer: PEER.key, peerValue: peer }),
          note: err ?? (m.lowerBetter ? 'lower is better' : 'higher is better'),
        });
      }
    }
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(join(tmpdir(), 'ukern-aio-'));
  try {
    console.log(`aio-engines: kernel ${release()}, ${cpus().length} cpus, node ${process.version}, BENCH_REPS=${R}, tmp ${dir}`);
    const data = makeDataFile(dir);
    summarize(await measure(dir, data));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  flush();
}

await main();
