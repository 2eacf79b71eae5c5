/**
 * The fresh-process side of bench/startup.bench.ts: one measurement per
 * process, printed as one JSON line. The peers (what a Node user has today)
 * live here beside the process-start cases, so that each is measured the
 * same way as its ukern counterpart; the ukern timer and LWP cases are the
 * test scenarios (test/scenarios/startup.ts).
 *
 *   empty | import | boot | proc | proc-linger   process start (RSS at exit)
 *   st1                                         setTimeout(1) first-fire lateness
 *   worker N                                    N new Worker at once -> all first messages (eval'd script)
 *   worker-esm N                                the same with an ES module file as the entry
 *   worker-kernel N                             the same, each worker loading the kernel script first
 *                                               (the bundle's lwp0-kern.cjs: the script and its code
 *                                               cache, as an LWP worker's entry loads it, nothing run)
 *   worker-compile N                            the same, each worker only reading and compiling the
 *                                               script with its code cache (node:vm), not running a
 *                                               line of it: the least any worker holding the kernel pays
 *   warm                                        warm lwp_create -> start function running
 */
import type { Worker } from 'node:worker_threads';

const mode = process.argv[2] ?? 'empty';
const out = (o: Record<string, unknown>): void => { console.log(JSON.stringify(o)); };
const rssAtExit = (): void => {
  process.on('exit', () => {
    const r = process.resourceUsage();
    // CPU time too: on a shared machine it varies less than the wall does.
    out({ maxRssKiB: r.maxRSS, cpuMs: (r.userCPUTime + r.systemCPUTime) / 1000 });
  });
};

/**
 * 'kernel': the floor of any LWP worker that loads the kernel after its
 * start (an eval'd CommonJS worker, the peer's, that requires the bundle's
 * lwp0-kern.cjs before it posts): what the first LWP and a burst cost at
 * the least beside their peers, before lwp0, attach and the start module.
 */
async function workers(n: number, kind: 'eval' | 'esm' | 'kernel' | 'compile' = 'eval'): Promise<void> {
  // Loaded here, not at the top: the 'empty' peer is an empty node, and the
  // import cases must pay for what the kernel loads, not find it loaded.
  const { Worker } = await import('node:worker_threads');
  const { fileURLToPath } = await import('node:url');
  const bundled = (f: string): string => JSON.stringify(fileURLToPath(new URL(`../bundle/${f}`, import.meta.url)));
  // 'compile' as src/loader.ts compiles it (the file as read, so the cache is accepted), with nothing run.
  const kern = kind === 'kernel' ? `require(${bundled('lwp0-kern.cjs')});`
    : kind === 'compile' ? `{ const fs = require('node:fs'), vm = require('node:vm'), f = ${bundled('kernel.cjs')};
      const s = new vm.Script(fs.readFileSync(f, 'latin1'), { filename: f, cachedData: fs.readFileSync(f + '.cache') });
      if (s.cachedDataRejected) throw new Error('kernel.cjs.cache rejected'); }`
    : '';
  const src = `${kern}require('node:worker_threads').parentPort.postMessage(0)`;
  const file = new URL('./startup-esm-worker.js', import.meta.url);
  const esm = kind === 'esm';
  const t0 = performance.now();
  let left = n;
  const all: Worker[] = [];
  await new Promise<void>((resolve) => {
    for (let i = 0; i < n; i++) {
      const w = esm ? new Worker(file) : new Worker(src, { eval: true });
      all.push(w);
      w.once('message', () => { if (--left === 0) resolve(); });
    }
  });
  out({ ms: performance.now() - t0, n });
  for (const w of all) void w.terminate();
}

/** Warm lwp_create -> running: 200 in a row on a warm pool (as bench/lwp.bench.ts does), median µs. */
async function warm(): Promise<void> {
  const sys = await import('ukern/sys');
  const fixtures = new URL('../test/fixtures/startup-lwps.js', import.meta.url);
  sys.boot();
  const sab = new SharedArrayBuffer(4), times = new SharedArrayBuffer(8);
  const a = new Int32Array(sab), t = new Float64Array(times);
  const us: number[] = [];
  for (let i = 0; i < 220; i++) {
    Atomics.store(a, 0, 0);
    const c = performance.timeOrigin + performance.now();
    const lid = sys.lwp_create({ module: fixtures, export: 'mark', arg: { sab, times } });
    while (Atomics.load(a, 0) === 0) Atomics.wait(a, 0, 0, 1000);
    sys.lwp_wait(lid);
    if (i >= 20) us.push((t[0]! - c) * 1000); // the first ones start and warm the pool's workers
  }
  us.sort((x, y) => x - y);
  out({ us: us[us.length >> 1], p90: us[Math.floor(us.length * 0.9)] });
}

switch (mode) {
  case 'empty': rssAtExit(); break;
  case 'import': rssAtExit(); await import('ukern/sys'); break;
  case 'boot': { rssAtExit(); const s = await import('ukern/sys'); s.boot(); break; }
  case 'proc': { rssAtExit(); const s = await import('ukern/sys'); s.boot(); s.port_create(); break; }
  case 'proc-linger': {
    // The same, but the program goes on for 1 s: lwp0 and its pool start (what they cost).
    rssAtExit();
    const s = await import('ukern/sys'); s.boot(); s.port_create();
    await new Promise((r) => setTimeout(r, 1000));
    break;
  }
  case 'st1': {
    // After one loop turn, so that the loop's millisecond clock (which
    // setTimeout counts from) is fresh: otherwise it fires "early" against
    // performance.now(), from a clock read before the script ran.
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1));
    out({ late: performance.now() - t0 - 1 });
    break;
  }
  case 'worker': await workers(Number(process.argv[3] ?? 1)); break;
  case 'worker-esm': await workers(Number(process.argv[3] ?? 1), 'esm'); break;
  case 'worker-kernel': await workers(Number(process.argv[3] ?? 1), 'kernel'); break;
  case 'worker-compile': await workers(Number(process.argv[3] ?? 1), 'compile'); break;
  case 'warm': await warm(); break;
  default: throw new Error(`unknown mode ${mode}`);
}
