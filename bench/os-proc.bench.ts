/**
 * EVFILT_PROC (issue 15): a child's exit -> NOTE_EXIT returned to an LWP
 * blocked in kevent, beside the same exit -> the child's 'exit' event in the
 * main thread, for the very same exit (both wait for it at once: the LWP in
 * kevent through the pidfd and the intr thread, the main thread's libuv
 * through SIGCHLD and waitpid). Each round spawns a `sleep` child, registers
 * it, lets the LWP block, stamps the monotonic clock and SIGKILLs the child;
 * each side records its delay from the stamp. p50 and p99 per repetition,
 * medians over BENCH_REPS. Run twice: idle, and with CPU hogs on both
 * cores. Also reported: how often Node reaped the child before the kernel
 * read its status (the race the pidfs fallback covers), from the kstat
 * counters, per run, and whether the intr thread got its real-time priority
 * (intr_rtprio; refused without CAP_SYS_NICE), and whether the exit was also
 * heard through io_uring's waitid (intr/childwait.ts). The LWP's function is
 * exported here; the bench runs in the main thread.
 */
import { isMainThread } from 'node:worker_threads';
import { spawn, type ChildProcess } from 'node:child_process';
import * as sys from '../src/sys/index.js';
import { report, flush, reps, median, latency, nowNs } from './lib.js';

const SELF = new URL(import.meta.url);
const { EV_SET, kevent, EVFILT_PROC, EV_ADD, NOTE_EXIT } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

interface Arg { kq: number; n: number; sab: SharedArrayBuffer; samples: SharedArrayBuffer }
// sab: Int32 [0] rounds the LWP entered kevent for, [1] rounds answered; Float64 at byte 8: the kill's stamp (ns).

/** The ukern waiter: an LWP blocked in kevent, one NOTE_EXIT per round. */
export function lwpWaiter(x: Arg): void {
  const ctl = new Int32Array(x.sab, 0, 2), t = new Float64Array(x.sab, 8, 1), s = new Float64Array(x.samples);
  for (let i = 0; i < x.n; i++) {
    Atomics.store(ctl, 0, i + 1); Atomics.notify(ctl, 0);
    const ev = kevent(x.kq, null, 1, { tv_sec: 30, tv_nsec: 0 });
    s[i] = ev.length === 1 && ev[0]!.data === 9 ? nowNs() - t[0]! : NaN;
    Atomics.store(ctl, 1, i + 1); Atomics.notify(ctl, 1);
  }
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until_at_least(a: Int32Array, i: number, v: number): Promise<void> {
  const end = Date.now() + 30_000;
  while (Atomics.load(a, i) < v) {
    if (Date.now() > end) throw new Error(`bench: no progress on word ${i} (want ${v})`);
    const r = Atomics.waitAsync(a, i, Atomics.load(a, i), 100);
    if (r.async) await r.value;
  }
}
function spawned(c: ChildProcess): Promise<void> {
  return new Promise((res, rej) => { c.once('spawn', () => res()); c.once('error', rej); });
}

/** One repetition of n rounds: p50 and p99 (us) of both sides. */
async function once(n: number): Promise<{ u: { p50: number; p99: number }; nd: { p50: number; p99: number } }> {
  const arg: Arg = { kq: sys.kqueue(), n, sab: new SharedArrayBuffer(16), samples: new SharedArrayBuffer(8 * n) };
  const ctl = new Int32Array(arg.sab, 0, 2), t = new Float64Array(arg.sab, 8, 1);
  const nodeS = new Float64Array(n);
  const lid = sys.lwp_create({ module: SELF, export: 'lwpWaiter', arg });
  for (let i = 0; i < n; i++) {
    const c = spawn('sleep', ['100'], { stdio: 'ignore' });
    await spawned(c);
    kevent(arg.kq, [EV_SET(c.pid!, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, 0)], 0, ZERO);
    await until_at_least(ctl, 0, i + 1);
    await tick(2); // the LWP is asleep in kevent by now
    const exit = new Promise<void>((res) => c.once('exit', () => { nodeS[i] = nowNs() - t[0]!; res(); }));
    t[0] = nowNs();
    c.kill('SIGKILL');
    await exit;
    await until_at_least(ctl, 1, i + 1);
  }
  await sys.lwp_wait_async(lid);
  sys.close(arg.kq);
  const us = new Float64Array(arg.samples);
  if (us.some((v) => Number.isNaN(v))) throw new Error('bench: a NOTE_EXIT came wrong');
  const lu = latency(us, 1), ln = latency(nodeS, 1);
  return { u: { p50: lu.p50 / 1e3, p99: lu.p99 / 1e3 }, nd: { p50: ln.p50 / 1e3, p99: ln.p99 / 1e3 } };
}

const counters = () => { const k = sys.kstat('kqueue'); return [k['kqueue.proc_exit_waitid']!, k['kqueue.proc_exit_pidfs']!, k['kqueue.proc_exit_lost']!]; };

async function run(label: string, R: number, N: number): Promise<void> {
  const [w0, p0, l0] = counters();
  const u: { p50: number; p99: number }[] = [], nd: { p50: number; p99: number }[] = [];
  for (let i = 0; i < R; i++) { const r = await once(N); u.push(r.u); nd.push(r.nd); }
  const [w1, p1, l1] = counters();
  const up50 = median(u.map((x) => x.p50)), np50 = median(nd.map((x) => x.p50));
  report({ name: `child exit -> NOTE_EXIT in an LWP blocked in kevent, p50${label}`, value: up50, unit: 'us',
    peer: "the same exit -> the child's 'exit' in the main thread", peerValue: np50, goal: '<= 1.2x', met: up50 <= 1.2 * np50,
    note: `pidfd in the intr epoll set${sys.kstat('intr')['intr.waitid_state'] === 1 ? ' and io_uring waitid' : ' (io_uring waitid unavailable)'}, status by waitid WNOWAIT or pidfs; ` +
      `intr thread ${sys.kstat('intr')['intr.rt'] ? 'SCHED_FIFO' : 'an ordinary thread'}` });
  report({ name: `child exit -> NOTE_EXIT in a blocked LWP, p99${label}`, value: median(u.map((x) => x.p99)), unit: 'us',
    peer: "the same exit -> 'exit', p99", peerValue: median(nd.map((x) => x.p99)), goal: 'reported' });
  const total = (w1 - w0) + (p1 - p0);
  report({ name: `exits whose status Node reaped before the kernel read it${label}`, value: total === 0 ? 0 : (100 * (p1 - p0)) / total, unit: '%',
    goal: 'reported', note: `${p1 - p0} of ${total} from pidfs, ${w1 - w0} by waitid WNOWAIT, ${l1 - l0} lost` });
}

if (isMainThread) {
  const R = reps(5), N = 40;
  console.log(`EVFILT_PROC (reps ${R}, ${N} child exits each)`);
  await once(5); // warm-up: the intr thread runs, JIT
  await run('', R, N);
  const hogs = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  try {
    await run(', CPU hogs on both cores', R, N);
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
  flush();
}
