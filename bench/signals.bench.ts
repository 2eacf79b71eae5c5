/**
 * Signals bench (issue 14's "Must reach"), each figure beside its peer
 * measured in the same run, the two alternating, medians over BENCH_REPS
 * fresh repetitions (fresh LWPs, fresh timers, fresh child processes):
 *
 *  1. lwp_kill(lid, SIGUSR1) -> the handler runs in an LWP blocked in
 *     port_get, beside port_send -> that port_get returning: same target
 *     LWP, same sender (LWP 1), the two kinds alternating round by round;
 *     latency = the target's stamp (handler / return) - the sender's stamp
 *     before the call. Before each round the sender waits until the target
 *     sleeps, then 200 us more, so that it is blocked, not spinning.
 *  2. A 1 ms SIGEV_SIGNAL timer -> sigwaitinfo in a blocked LWP, beside a
 *     1 ms SIGEV_PORT timer -> port_get in a blocked LWP (timers.bench.ts's
 *     method: return time - due time of the latest expiration carried),
 *     repetitions alternating; and the overrun books over all signal runs
 *     (>= 10 s): expirations from elapsed time - deliveries - sum(si_overrun),
 *     0 for a rep whose deliveries + overruns lie between the expirations due
 *     by the start and by the end of the final disarm (which waits for an
 *     expiry being fired: under load it lasts more than half a period).
 *  3. kill(2) SIGUSR2 from this process to a child whose LWP waits in kevent
 *     on EVFILT_SIGNAL (LWP 1 idle in its event loop, where the router hears
 *     it), beside the same kill to a plain Node child with
 *     process.on('SIGUSR2'): rounds alternate between the two children; the
 *     receiver stamps CLOCK_MONOTONIC when it sees the signal (one-way
 *     latency) and answers on a pipe (round trip measured by the sender).
 *     Each child is fresh and measured after 20 signals (SIG_BENCH_KILL_WARMUP
 *     below): our side of the route mostly not yet optimised by V8.
 *
 * Everything is stamped with process.hrtime (CLOCK_MONOTONIC: the same clock
 * in every thread and process of the machine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { lwp_byid, L, LSSLEEP } from '../src/lwp/lwp.js';
import { report, flush, reps, median, latency, percentile, nowNs } from './lib.js';
import { T_BLOCKING, T_WOKEN, T_IDLE, T_STOP, R_N, R_DELIV, R_OVER, R_EXPECT, R_EXPECT_HI, R_SAMPLES } from './signals-workers.js';

const W = new URL('./signals-workers.js', import.meta.url);
const CHILD = fileURLToPath(new URL('./signals-child.js', import.meta.url));
const R = reps(5);
const nap = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps the calling thread `us` microseconds (Atomics.wait: no event loop, no CPU). */
const sleepUs = (us: number): void => { Atomics.wait(nap, 0, 0, us / 1000); };

// ---- 1. lwp_kill -> handler vs port_send -> port_get -------------------------

function asleep(lid: number): boolean {
  const h = lwp_byid(lid);
  return h !== 0 && Atomics.load(I32, h + L.stat) === LSSLEEP;
}

/** One repetition: a fresh target LWP, `rounds` of each kind after `warmup` of each, alternating. */
async function wakeRep(rounds: number, warmup: number): Promise<{ sig: Float64Array; port: Float64Array }> {
  const port = sys.port_create();
  const ctl = new SharedArrayBuffer(16);
  const c = new Int32Array(ctl), f = new Float64Array(ctl);
  const lid = sys.lwp_create({ module: W, export: 'wakeTarget', arg: { ctl, port } });
  const sig = new Float64Array(rounds), prt = new Float64Array(rounds);
  const total = 2 * (warmup + rounds);
  for (let i = 0; i < total; i++) {
    const deadline = Date.now() + 10_000;
    while (Atomics.load(c, 0) !== T_BLOCKING || !asleep(lid)) {
      if (Date.now() > deadline) throw new Error(`wake bench: the target never blocked (round ${i})`);
      sleepUs(20);
    }
    sleepUs(200);
    const t0 = nowNs();
    if (i % 2 === 0) sys.lwp_kill(lid, sys.SIGUSR1); else sys.port_send(port, 1, i);
    while (Atomics.load(c, 0) !== T_WOKEN) {
      if (Atomics.wait(c, 0, T_BLOCKING, 10_000) === 'timed-out') throw new Error(`wake bench: no wake-up in 10 s (round ${i})`);
    }
    const dt = (f[1]! - t0) / 1000;
    const j = (i >> 1) - warmup;
    if (j >= 0) (i % 2 === 0 ? sig : prt)[j] = dt;
    Atomics.store(c, 0, i === total - 1 ? T_STOP : T_IDLE);
    Atomics.notify(c, 0);
  }
  await sys.lwp_wait_async(lid);
  sys.close(port);
  return { sig, port: prt };
}

// ---- 2. SIGEV_SIGNAL -> sigwaitinfo vs SIGEV_PORT -> port_get ---------------

interface TimerRep { p50: number; p99: number; early: number; n: number; deliveries: number; overruns: number; expected: number; expectedHi: number }

async function timerRep(signal: boolean, seconds: number): Promise<TimerRep> {
  const out = new SharedArrayBuffer(8 * (R_SAMPLES + Math.ceil(seconds * 1000) + 1000));
  const lid = sys.lwp_create({ module: W, export: 'timerReader', arg: { out, signal, periodNs: 1e6, seconds } });
  await sys.lwp_wait_async(lid);
  const o = new Float64Array(out);
  const n = o[R_N]!;
  const s = o.subarray(R_SAMPLES + 10, R_SAMPLES + n); // the first few: the LWP's code still warming
  // Signed: a delivery before its due time is a negative sample, counted as
  // such (clipped to 0, it read as on time and hid the early ones).
  let early = 0;
  for (let i = 0; i < s.length; i++) if (s[i]! < 0) early++;
  return { p50: percentile(s, 50), p99: percentile(s, 99), early, n, deliveries: o[R_DELIV]!, overruns: o[R_OVER]!, expected: o[R_EXPECT]!, expectedHi: o[R_EXPECT_HI]! };
}

// ---- 3. kill(2) from another process -> EVFILT_SIGNAL vs process.on ---------

interface Receiver { child: ChildProcess; lines: string[]; waiters: (() => void)[] }

type RxMode = 'ukern' | 'plain' | 'hop';
function startReceiver(mode: RxMode): Promise<Receiver> {
  const child = spawn(process.execPath, [CHILD, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const r: Receiver = { child, lines: [], waiters: [] };
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      r.lines.push(buf.slice(0, i)); buf = buf.slice(i + 1);
    }
    for (const w of r.waiters.splice(0)) w();
  });
  return nextLine(r, 20_000, `${mode} receiver to start`).then((l) => {
    if (l !== 'ready') throw new Error(`${mode} receiver said ${JSON.stringify(l)}`);
    return r;
  });
}

function nextLine(r: Receiver, ms: number, what: string): Promise<string> {
  if (r.lines.length > 0) return Promise.resolve(r.lines.shift()!);
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`signals bench: timed out after ${ms} ms waiting for ${what}`)), ms);
    r.waiters.push(() => { clearTimeout(t); res(r.lines.shift()!); });
  });
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One repetition: two fresh children, `rounds` signals to each, alternating. One-way and round-trip latencies (us). */
async function killRep(rounds: number, warmup: number): Promise<Record<RxMode, { oneway: number[]; rtt: number[]; lost: number }>> {
  const rx = { ukern: await startReceiver('ukern'), plain: await startReceiver('plain'), hop: await startReceiver('hop') };
  const one = (): { oneway: number[]; rtt: number[]; lost: number } => ({ oneway: [], rtt: [], lost: 0 });
  const res = { ukern: one(), plain: one(), hop: one() };
  const modes: RxMode[] = ['ukern', 'plain', 'hop'];
  await pause(100); // the ukern receiver's LWP into kevent
  try {
    for (let i = 0; i < 3 * (warmup + rounds); i++) {
      const mode = modes[i % 3]!;
      const r = rx[mode];
      const t0 = nowNs();
      process.kill(r.child.pid!, 'SIGUSR2');
      const line = await nextLine(r, 5_000, `${mode} receiver to answer signal ${Math.floor(i / 3)}`);
      const t2 = nowNs();
      const [stamp, count] = line.split(' ').map(Number) as [number, number];
      if (count !== 1) res[mode].lost += count - 1;
      if (Math.floor(i / 3) >= warmup) { res[mode].oneway.push((stamp - t0) / 1000); res[mode].rtt.push((t2 - t0) / 1000); }
      await pause(2); // both receivers idle again
    }
  } finally {
    for (const m of modes) rx[m].child.kill('SIGKILL');
  }
  return res;
}

// ---- the run ----------------------------------------------------------------

// SIG_BENCH_ONLY=wake|timer|kill (comma-separated): those sections alone
// (1, 2, 3 above), e.g. for A/B runs of one figure.
// SIG_BENCH_KILL_WARMUP=n (default 20): signals sent to each fresh child of
// section 3 before its 200 measured ones. The kernel code of that route runs
// once per signal in each of the child's two threads (the router in LWP 1,
// kevent's wake-up in the LWP), so in the first few hundred it runs in V8's
// unoptimised tiers; a larger warm-up measures it optimised (e.g. 1000).
const KILL_WARMUP = Number(process.env.SIG_BENCH_KILL_WARMUP ?? 20);
if (!Number.isInteger(KILL_WARMUP) || KILL_WARMUP < 0) throw new Error(`SIG_BENCH_KILL_WARMUP: a count >= 0, not '${process.env.SIG_BENCH_KILL_WARMUP}'`);
const ONLY = process.env.SIG_BENCH_ONLY?.split(',');
for (const o of ONLY ?? []) if (o !== 'wake' && o !== 'timer' && o !== 'kill') throw new Error(`SIG_BENCH_ONLY: wake, timer or kill, not '${o}'`);
const runs = (what: string): boolean => ONLY === undefined || ONLY.includes(what);

console.log(`signals (reps ${R})`);
const p50 = (xs: ArrayLike<number>): number => latency(xs, 1000).p50;
const p99 = (xs: ArrayLike<number>): number => latency(xs, 1000).p99;

if (runs('wake')) {
  await wakeRep(200, 50); // warm the pool and the modules
  const sig: { p50: number; p99: number }[] = [], prt: { p50: number; p99: number }[] = [];
  for (let i = 0; i < R; i++) {
    const w = await wakeRep(1000, 100);
    sig.push({ p50: p50(w.sig), p99: p99(w.sig) }); prt.push({ p50: p50(w.port), p99: p99(w.port) });
  }
  const s50 = median(sig.map((x) => x.p50)), q50 = median(prt.map((x) => x.p50));
  report({ name: 'lwp_kill(SIGUSR1) -> handler in an LWP blocked in port_get p50', value: s50, unit: 'us', peer: 'port_send -> port_get wake-up', peerValue: q50, goal: '<= 1.2x', met: s50 <= 1.2 * q50,
    note: `per rep ${sig.map((x) => x.p50.toFixed(1)).join('/')} vs ${prt.map((x) => x.p50.toFixed(1)).join('/')}` });
  report({ name: 'lwp_kill(SIGUSR1) -> handler p99', value: median(sig.map((x) => x.p99)), unit: 'us', peer: 'port_send -> port_get wake-up p99', peerValue: median(prt.map((x) => x.p99)) });
}

if (runs('timer')) {
  const secs = Number(process.env.BENCH_TIMER_SECONDS ?? 10);
  const per = Math.max(1, secs / R);
  const sig: TimerRep[] = [], prt: TimerRep[] = [];
  // Every thread blocks the signal a sigwaiter takes (POSIX's rule for
  // sigwait): else LWP 1 could be chosen for an expiry in the moment the
  // reader is between two sigwaitinfo calls.
  const rt = sys.sigemptyset(); sys.sigaddset(rt, sys.SIGRTMIN);
  sys.sigprocmask(sys.SIG_BLOCK, rt);
  // A third reference, alternating too: SIGEV_PORT with port_get's
  // deadline-aware wait off (src/ports/dwait.ts), i.e. a plain sleep woken
  // by the clock thread across threads, as sigwaitinfo is.
  const off: TimerRep[] = [];
  const dflt = sys.port_spin_tune({});
  for (let i = 0; i < R; i++) {
    sig.push(await timerRep(true, per));
    prt.push(await timerRep(false, per));
    sys.port_spin_tune({ deadlineNs: 0 });
    try { off.push(await timerRep(false, Math.min(per, 1))); } finally { sys.port_spin_tune({ deadlineNs: dflt.deadlineNs }); }
  }
  sys.sigprocmask(sys.SIG_UNBLOCK, rt);
  const s50 = median(sig.map((x) => x.p50)), q50 = median(prt.map((x) => x.p50));
  // Per rep: 0 when deliveries + overruns lie between the expirations due by the two ends of the disarm call.
  const off_by = (x: TimerRep): number => { const got = x.deliveries + x.overruns; return got < x.expected ? x.expected - got : got > x.expectedHi ? x.expectedHi - got : 0; };
  const books = sig.reduce((a, x) => a + off_by(x), 0);
  const exp = sig.reduce((a, x) => a + x.expected, 0), del = sig.reduce((a, x) => a + x.deliveries, 0), ov = sig.reduce((a, x) => a + x.overruns, 0);
  const pbooks = prt.reduce((a, x) => a + off_by(x), 0);
  report({ name: 'timer 1 ms SIGEV_SIGNAL -> sigwaitinfo lateness p50', value: s50, unit: 'us', peer: 'SIGEV_PORT -> port_get', peerValue: q50, goal: '<= 1.2x', met: s50 <= 1.2 * q50,
    note: `per rep ${sig.map((x) => x.p50.toFixed(1)).join('/')} vs ${prt.map((x) => x.p50.toFixed(1)).join('/')}; ` +
      `deliveries before their due time ${sig.reduce((a, x) => a + x.early, 0)} vs ${prt.reduce((a, x) => a + x.early, 0)}; ` +
      `SIGEV_PORT with the deadline-aware wait off: p50 ${median(off.map((x) => x.p50)).toFixed(1)} us, p99 ${median(off.map((x) => x.p99)).toFixed(1)} us` });
  report({ name: 'timer 1 ms SIGEV_SIGNAL -> sigwaitinfo lateness p99', value: median(sig.map((x) => x.p99)), unit: 'us', peer: 'SIGEV_PORT -> port_get p99', peerValue: median(prt.map((x) => x.p99)) });
  report({ name: `timer 1 ms SIGEV_SIGNAL over ${(per * R).toFixed(0)} s: expirations - deliveries - overruns`, value: books, unit: 'expirations', goal: '= 0', met: books === 0,
    note: `${exp} expirations by elapsed time, ${del} deliveries, ${ov} overruns (SIGEV_PORT the same way: ${pbooks})` });
}

if (runs('kill')) {
  const k: { u: number; p: number; h: number; ur: number; pr: number; lost: number }[] = [];
  await killRep(20, 10); // warm the file cache and the bundle's code cache
  for (let i = 0; i < R; i++) {
    const r = await killRep(200, KILL_WARMUP);
    k.push({ u: p50(r.ukern.oneway), p: p50(r.plain.oneway), h: p50(r.hop.oneway), ur: p50(r.ukern.rtt), pr: p50(r.plain.rtt), lost: r.ukern.lost + r.plain.lost + r.hop.lost });
  }
  const u = median(k.map((x) => x.u)), p = median(k.map((x) => x.p)), h = median(k.map((x) => x.h));
  // Node hears OS signals only in the main thread's loop (signals/router.ts):
  // any route to another thread adds at least this one cross-thread wake.
  report({ name: 'kill -USR2 -> process.on in the main thread -> Atomics.notify -> a worker blocked in Atomics.wait p50', value: h, unit: 'us', peer: "process.on('SIGUSR2') in a plain Node process", peerValue: p, goal: 'reported',
    note: 'the floor of any route from Node\'s signal delivery to another thread: one raw cross-thread wake; per rep ' + k.map((x) => x.h.toFixed(0)).join('/') });
  report({ name: 'kill -USR2 from another process -> EVFILT_SIGNAL in an LWP blocked in kevent p50', value: u, unit: 'us', peer: "process.on('SIGUSR2') in a plain Node process", peerValue: p, goal: '<= 1.3x', met: u <= 1.3 * p,
    note: `one way (receiver's stamp - sender's), after ${KILL_WARMUP} signals to each child; ${(u / h).toFixed(2)}x the floor of one raw hop (above); per rep ${k.map((x) => x.u.toFixed(0)).join('/')} vs ${k.map((x) => x.p.toFixed(0)).join('/')}; coalesced ${k.reduce((a, x) => a + x.lost, 0)}` });
  const ur = median(k.map((x) => x.ur)), pr = median(k.map((x) => x.pr));
  report({ name: 'kill -USR2 -> EVFILT_SIGNAL, round trip through a pipe answer p50', value: ur, unit: 'us', peer: "process.on('SIGUSR2') round trip", peerValue: pr });
}

flush();
