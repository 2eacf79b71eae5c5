/**
 * Start-up scenarios, each in a fresh process (its own kernel, nothing warm):
 * the first timer armed right after boot, the hand-over from the arming
 * thread's bridge to the clock thread, a blocked thread covering for the
 * clock thread, the first LWP, a burst of 16. Prints one JSON line; the
 * test (test/startup.test.ts) asserts on it, and the bench reuses it.
 */
import type * as Sys from '../../src/sys/index.js';

const mode = process.argv[2] ?? 'first-async';
// By the package's name (the kernel as a program gets it: the bundle the
// package exports), except 'warm-trace', which counts the kernel's own
// tables and so loads the compiled tree, whose internals it can reach.
const internal = mode === 'warm-trace';
const sys: typeof Sys = internal ? await import('../../src/sys/index.js') : await import('ukern/sys');
const kstat_snapshot = (m: string): Record<string, number> => sys.kstat(m);
const mono_now = (): number => { const t = sys.clock_gettime(sys.CLOCK_MONOTONIC); return t.tv_sec * 1e9 + t.tv_nsec; };

const opts = process.argv[3] !== undefined ? JSON.parse(process.argv[3]) as Sys.BootOptions : undefined;
const fixtures = new URL('../fixtures/startup-lwps.js', import.meta.url);
const clock = (): Record<string, number> => kstat_snapshot('clock');
const out = (o: Record<string, unknown>): void => { console.log(JSON.stringify(o)); };
const ZERO = { tv_sec: 0, tv_nsec: 0 };

function timer(p: number): number {
  return sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 1 } });
}
function arm(tid: number, ns: number, interval = 0): number {
  const t = mono_now();
  sys.timer_settime(tid, 0, { it_interval: { tv_sec: 0, tv_nsec: interval }, it_value: { tv_sec: 0, tv_nsec: ns } });
  return t;
}

/** A 1 ms one-shot armed right after boot: how late its event is seen (ms past the deadline, negative = early). */
async function first(async: boolean): Promise<void> {
  sys.boot(opts);
  const p = sys.port_create();
  const tid = timer(p);
  const t0 = arm(tid, 1_000_000);
  const settime = (mono_now() - t0) / 1e6;
  if (async) await sys.port_get_async(p); else sys.port_get(p);
  const late = (mono_now() - t0 - 1_000_000) / 1e6;
  const c = clock();
  out({ late, settime, floor: host_floor(), bridge: c['clock.bridge_runs'], started: c['clock.started'] });
}

/**
 * How late the host wakes this thread from a plain 1 ms Atomics.wait right
 * now (ms, the least of five): the floor under any timer's lateness at
 * this moment. Measured after the expiry (the expiry's own measurement is
 * untouched), for the test to tell a cold path from a machine too busy to
 * wake anyone on time (three CPU-bound threads per CPU made every thread
 * 10-40 ms late). The least, not the worst: the process's own kernel
 * threads, starting since boot, make single waits late by a few ms on a
 * quiet machine too, and a floor that lenient would let a cold path pass.
 */
function host_floor(): number {
  const w = new Int32Array(new SharedArrayBuffer(4));
  let least = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = mono_now();
    Atomics.wait(w, 0, 0, 1);
    least = Math.min(least, (mono_now() - t) / 1e6 - 1);
  }
  return Math.max(0, least);
}

/**
 * A 2 ms periodic timer armed right after boot, collected by port_get_async
 * across the clock thread's start and 60 ms beyond, then disarmed and its
 * last event drained. The timer's own count of expirations is kstat
 * timer.expirations (the only timer of the process). Delivered (the sum of
 * portev_events) must equal that count: none lost between counting and
 * delivery, none doubled; and the count can never exceed the deadlines that
 * had come by the disarm (elapsed). (The timer's next deadline from
 * timer_gettime would not do: an overdue, not yet fired periodic timer
 * reports the time to its next boundary.)
 */
async function handover(): Promise<void> {
  sys.boot(opts);
  const P = 2_000_000;
  const timers = (): number => kstat_snapshot('timer')['timer.expirations']!;
  const p = sys.port_create();
  const tid = timer(p);
  const c0 = timers();
  const t0 = arm(tid, P, P);
  // The earliest the first deadline can be (timer_settime read the clock at
  // t0 or later): deadlines counted from it bound from above how many can
  // have come by the disarm, however long this thread was held off.
  const first = t0 + P;
  let got = 0, before = 0, startedAt = NaN;
  const end = () => !Number.isNaN(startedAt) && mono_now() > startedAt + 60e6;
  while (!end() && mono_now() - t0 < 20e9) {
    const ev = await sys.port_get_async(p);
    got += ev.portev_events;
    if (Number.isNaN(startedAt)) {
      if (clock()['clock.started']! > 0) startedAt = mono_now(); else before += ev.portev_events;
    }
  }
  sys.timer_settime(tid, 0, { it_interval: ZERO, it_value: ZERO });
  const t2 = mono_now();
  try { got += sys.port_get(p, ZERO).portev_events; } catch (e) { if ((e as Sys.SysError).code !== 'ETIME') throw e; }
  const fired = timers() - c0;
  const elapsed = Math.floor((t2 - first) / P) + 1; // deadlines up to the disarm
  out({ got, fired, elapsed, before, bridge: clock()['clock.bridge_runs'] });
}

/**
 * The bridge alone (the clock thread held back by the test hook
 * UKERN_CLOCK_HOLD): ten 1 ms one-shots in a row, each awaited with
 * port_get_async. Each must come on time from the arming thread's event
 * loop, with nothing else to wake it (the worst lateness, ms, is printed).
 * A 5 s deadline (ref'd timer) ends a loop that slept through an expiry.
 */
async function held(): Promise<void> {
  process.env.UKERN_CLOCK_HOLD = '1';
  sys.boot(opts);
  const p = sys.port_create();
  const tid = timer(p);
  const guard = setTimeout(() => { out({ error: 'an expiry was not delivered within 5 s' }); process.exit(1); }, 5000);
  let worst = -Infinity, early = 0;
  for (let i = 0; i < 10; i++) {
    const t0 = arm(tid, 1_000_000);
    await sys.port_get_async(p);
    const late = (mono_now() - t0 - 1_000_000) / 1e6;
    if (late < 0) early++;
    worst = Math.max(worst, late);
  }
  clearTimeout(guard);
  out({ late: worst, early, bridge: clock()['clock.bridge_runs'], started: clock()['clock.started'] });
}

/**
 * The bridge and a far deadline (the clock thread held back): a timer armed
 * 30 days ahead, then one 3 ms ahead. The near one must come from the
 * bridge, the far one not; and the bridge's wait for the far one must not
 * overflow Node's timer (past 2^31-1 ms setTimeout fires after 1 ms, with a
 * TimeoutOverflowWarning on the program's stderr: a wake-up a millisecond
 * for as long as the clock thread is not up). Prints the warnings seen.
 */
async function far(): Promise<void> {
  process.env.UKERN_CLOCK_HOLD = '1';
  const warnings: string[] = [];
  process.on('warning', (w) => { warnings.push(`${w.name}: ${w.message}`); });
  sys.boot(opts);
  const p = sys.port_create();
  const tFar = timer(p), tNear = timer(p);
  sys.timer_settime(tFar, 0, { it_interval: ZERO, it_value: { tv_sec: 30 * 86400, tv_nsec: 0 } });
  arm(tNear, 3_000_000);
  const guard = setTimeout(() => { out({ error: 'the 3 ms expiry was not delivered within 5 s', warnings }); process.exit(1); }, 5000);
  await sys.port_get_async(p);
  clearTimeout(guard);
  // A while with only the far deadline left to the bridge (warnings are emitted on a later tick).
  await new Promise((r) => setTimeout(r, 50));
  const left = sys.port_getn(p, 8, 0, ZERO).nget;
  out({ warnings: warnings.length, first: warnings[0] ?? '', left, started: clock()['clock.started'] });
}

/**
 * What the first SIGEV_PORT timer_create leaves behind (it warms the first
 * expiry's path on a port and a timer of its own): one timer more, no port
 * more, no callout armed, nothing queued on the user's port, no bridge run
 * counted, no clock thread started.
 */
async function warmTrace(): Promise<void> {
  const { timer_count } = await import('../../src/timers/timertab.js');
  const { callout_count } = await import('../../src/timers/callout.js');
  sys.boot(opts);
  const p = sys.port_create();
  const look = (): Record<string, number> => ({
    ports: kstat_snapshot('port')['port.ports']!, timers: timer_count(), callouts: callout_count(),
    bridge: clock()['clock.bridge_runs']!, started: clock()['clock.started']!,
  });
  const before = look();
  timer(p);
  const after = look();
  out({ before, after, queued: sys.port_getn(p, 0, 0, ZERO).nget });
}

/**
 * The main thread arms a 2 ms timer and then only polls its port (zero
 * timeouts), never returning to its event loop nor sleeping in the kernel:
 * the deferred clock-thread start is made at one of those syscalls, and the
 * expiry comes (ms until it did; a 10 s deadline).
 */
function pollOnly(): void {
  sys.boot(opts);
  const p = sys.port_create();
  const tid = timer(p);
  const t0 = performance.now();
  arm(tid, 2_000_000);
  // performance.now(), not clock_gettime: a clock call would itself make the start.
  for (;;) {
    const r = sys.port_getn(p, 1, 1, ZERO);
    if (r.length > 0) break;
    if (performance.now() - t0 > 10e3) { out({ error: 'the expiry never came while the main thread polled' }); process.exit(1); }
  }
  out({ ms: performance.now() - t0, started: clock()['clock.started'] });
}

/** The main thread blocks in another port's port_get while the timer's callout comes due: it fires it itself. */
function idle(): void {
  sys.boot(opts);
  const p1 = sys.port_create(), p2 = sys.port_create();
  const tid = timer(p1);
  arm(tid, 5_000_000);
  const bridgeBefore = clock()['clock.bridge_runs'];
  try { sys.port_get(p2, { tv_sec: 0, tv_nsec: 100_000_000 }); } catch (e) { if ((e as Sys.SysError).code !== 'ETIME') throw e; }
  const ev = sys.port_get(p1, ZERO);
  out({ events: ev.portev_events, bridgeBefore, bridge: clock()['clock.bridge_runs'], started: clock()['clock.started'] });
}

/**
 * n LWPs created at once right after boot: ms from the creates until all run
 * (each marks a shared counter), and bootMs, what the boot() call before
 * them took (the first-LWP figure counts from before boot()).
 */
function lwps(n: number): void {
  const t = performance.now();
  sys.boot(opts);
  burst(n, false, performance.now() - t);
}

/** Waits (60 s deadline) until lwp0 reports n idle workers and none starting. */
async function poolFull(n: number): Promise<void> {
  const end = performance.now() + 60_000;
  for (;;) {
    const k = kstat_snapshot('lwp');
    if (k['lwp.pool_idle']! >= n && k['lwp.pool_starting'] === 0) return;
    if (performance.now() > end) { out({ error: `pool not full after 60 s: ${JSON.stringify(k)}` }); process.exit(1); }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function burst(n: number, quiet = false, bootMs?: number): number {
  const sab = new SharedArrayBuffer(4);
  const a = new Int32Array(sab);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sys.lwp_create({ module: fixtures, export: 'mark', arg: { sab } }, sys.LWP_DETACHED);
  const end = t0 + 60_000;
  for (let v = Atomics.load(a, 0); v < n; v = Atomics.load(a, 0)) {
    if (performance.now() > end) { out({ error: `only ${v} of ${n} LWPs ran in 60 s` }); process.exit(1); }
    Atomics.wait(a, 0, v, 100);
  }
  const ms = performance.now() - t0;
  if (!quiet) out(bootMs === undefined ? { ms, n } : { ms, n, bootMs });
  return ms;
}

/** Whether this thread has loaded node:worker_threads (Node's list of the builtins it loaded). */
function loaded_worker_threads(): boolean {
  return (process as unknown as { moduleLoadList: string[] }).moduleLoadList.includes('NativeModule worker_threads');
}

/** Import (done above), boot and port_create, as a short program does: which builtins that cost it loaded. */
function hostImport(): void {
  sys.boot();
  sys.port_create();
  out({ worker_threads: loaded_worker_threads() ? 1 : 0 });
}

/**
 * kern/host.ts's is_main_thread: true here without loading node:worker_threads,
 * false in a Worker of this program (which loads the compiled kernel itself).
 */
async function hostMain(): Promise<void> {
  const host = await import('../../src/kern/host.js');
  const main = host.is_main_thread();
  const before = loaded_worker_threads();
  const { Worker } = await import('node:worker_threads');
  const src = `import(${JSON.stringify(new URL('../../src/kern/host.js', import.meta.url).href)})
    .then((h) => require('node:worker_threads').parentPort.postMessage(h.is_main_thread()));`;
  const inWorker = await new Promise<boolean>((resolve, reject) => {
    const w = new Worker(src, { eval: true });
    w.once('message', (m: boolean) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
  out({ main: main ? 1 : 0, loadedBefore: before ? 1 : 0, inWorker: inWorker ? 1 : 0 });
}

/**
 * The main thread loads the class layer (its SAB channel deferred, kern/host.ts)
 * and makes a Port, and its first LWP posts a SharedArrayBuffer of its own
 * there: the main thread receives the SAB itself (not a copy, not EIO).
 */
async function sabDeferred(): Promise<void> {
  const { Port } = await import('ukern');
  const before = loaded_worker_threads();
  const p = new Port();
  const fixture = new URL('../fixtures/startup-host.js', import.meta.url);
  const lid = sys.lwp_create({ module: fixture, export: 'postSab', arg: { fd: p.fd } });
  const m = await p.receive({ timeout: 30_000 }) as { sab: SharedArrayBuffer };
  const a = new Int32Array(m.sab);
  const first = a[0];
  Atomics.store(a, 1, 1);
  Atomics.notify(a, 1);
  sys.lwp_wait(lid);
  out({ shared: m.sab instanceof SharedArrayBuffer ? 1 : 0, first, after: a[0], loadedBefore: before ? 1 : 0 });
}

/**
 * The main thread creates an LWP and then blocks outside the kernel (an
 * Atomics.wait on its own memory: no syscall, no event-loop turn), while that
 * LWP creates one of its own (a request to lwp0): lwp0 must already be up.
 */
function lwp0WhileBlocked(): void {
  sys.boot();
  const sab = new SharedArrayBuffer(4);
  const a = new Int32Array(sab);
  const t0 = performance.now();
  sys.lwp_create({ module: new URL('../fixtures/startup-host.js', import.meta.url), export: 'createAndWait', arg: { sab } }, sys.LWP_DETACHED);
  while (Atomics.load(a, 0) === 0) {
    if (performance.now() - t0 > 20_000) { out({ error: 'the grandchild LWP never ran while the main thread blocked' }); process.exit(1); }
    Atomics.wait(a, 0, 0, 100);
  }
  out({ ms: performance.now() - t0 });
}

switch (mode) {
  case 'host-import': hostImport(); break;
  case 'host-main': await hostMain(); break;
  case 'sab-deferred': await sabDeferred(); break;
  case 'lwp0-blocked': lwp0WhileBlocked(); break;
  case 'first-async': await first(true); break;
  case 'first-sync': await first(false); break;
  case 'handover': await handover(); break;
  case 'held-async': await held(); break;
  case 'far': await far(); break;
  case 'warm-trace': await warmTrace(); break;
  case 'poll-only': pollOnly(); break;
  case 'idle': idle(); break;
  case 'first-lwp': lwps(1); break;
  case 'burst': lwps(16); break;
  case 'burst-warm': {
    // Two bursts warm the pool: the first waits for its workers to start,
    // the second runs each one's code once more (JIT); then the measured one.
    // Before each, the pool is full: 16 idle, none starting (lwp0's gauges).
    sys.boot(opts);
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      await poolFull(16);
      ms.push(burst(16, true));
    }
    out({ ms: ms[2], first: ms[0], second: ms[1], n: 16 });
    break;
  }
  default: throw new Error(`unknown mode ${mode}`);
}
