/**
 * The fuzz driver: boots a kernel with small limits, runs N fuzzing LWPs
 * (test/fuzz/lwp.ts) at once while LWP 1 is their watchdog, then checks the
 * kernel once everything is closed and collected.
 *
 *   node build/test/fuzz/main.js [--ci] [--seconds=S] [--calls=N] [--seed=X] [--lwps=K]
 *                                [--hang-ms=MS] [--max-length=L] [--path=P] [--exclude=REGEX] [--always-setup]
 *                                [--allow-double-reads]
 *   (or FUZZ_SECONDS, FUZZ_CALLS, FUZZ_SEED, FUZZ_LWPS, FUZZ_HANG_MS, FUZZ_MAX_LENGTH, FUZZ_PATH, FUZZ_EXCLUDE)
 *   --exclude drops calls whose printed form matches REGEX, --always-setup makes every sequence start
 *   with objects (no hostile first calls of a fresh thread), --allow-double-reads does not judge a user
 *   property read twice: for looking past a known finding, never in CI. FUZZ_VERBOSE=1 prints the
 *   outcome tally per call (a TypeError or RangeError without Node's code is a finding: calls.ts
 *   judge); FUZZ_DEBUG=1 the LWPs swept.
 *
 * Why this shape: a hang must be a report, not a stuck test run. The
 * watchdog never enters the kernel while LWPs run (it only reads their
 * shared slots), so a deadlocked kernel cannot take it down; on a hang it
 * prints the seed, the LWP, the sequence and the call, and exits 2. The
 * checks after the run are the kernel's own bookkeeping: kmem caches back
 * to their baseline, lwp_check() clean, kstat counters balanced (ports,
 * knotes, timers, LWPs, events sent = delivered + discarded), no panic.
 * Exit status: 0 clean, 1 findings, 2 hang.
 */
import { openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from '../../src/sys/index.js';
import { FUZZ_SIGNALS } from './calls.js';
import { panicked } from '../../src/kern/hdr.js';
import { fd_list } from '../../src/kern/fdtab.js';
import { timer_ids } from '../../src/timers/timertab.js';
import { aio_ids, aio_lookup, R } from '../../src/aio/aio.js';
import { I32 } from '../../src/kern/kmem.js';
import { Slot, W_CALLS, W_STATE, W_RUN, W_INDEX, W_LID, ST_RUNNING, IX_SETUP, IX_CLEANUP, type FuzzArg, type FuzzReport } from './lwp.js';

interface Options { seconds: number; calls: number; seed: number; lwps: number; hangMs: number; maxLength: number; path?: string; exclude?: string; alwaysSetup: boolean; allowDoubleReads: boolean; minCalls: number }

/** Small limits, so that exhaustion paths are part of every run. */
export const FUZZ_LIMITS: sys.BootOptions = {
  maxlwp: 24, lwp_pool: 4, maxfiles: 40, port_max_ids: 12, port_max_events: 32, port_events_total: 128,
  timer_max: 12, kq_max: 12, kq_knotes_max: 48, kq_calloutmax: 24, async_sleepers: 64, port_lanes: 4, port_lane_entries: 16,
};

function options(argv: readonly string[]): Options {
  const cli = new Map(argv.filter((a) => a.startsWith('--')).map((a) => { const [k, v] = a.slice(2).split('='); return [k!, v ?? '1']; }));
  const get = (k: string, env: string, d: number): number => {
    const v = cli.get(k) ?? process.env[env];
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : d;
  };
  const ci = cli.has('ci');
  const seed = get('seed', 'FUZZ_SEED', (Date.now() % 0x7fffffff) | 0);
  return {
    seconds: get('seconds', 'FUZZ_SECONDS', ci ? 40 : 600),
    calls: get('calls', 'FUZZ_CALLS', ci ? 120_000 : 1e12),
    minCalls: ci ? 100_000 : get('min-calls', 'FUZZ_MIN_CALLS', 1_000_000),
    seed, lwps: get('lwps', 'FUZZ_LWPS', 4), hangMs: get('hang-ms', 'FUZZ_HANG_MS', ci ? 5_000 : 10_000),
    maxLength: get('max-length', 'FUZZ_MAX_LENGTH', 48), path: cli.get('path') ?? process.env.FUZZ_PATH,
    exclude: cli.get('exclude') ?? process.env.FUZZ_EXCLUDE, alwaysSetup: cli.has('always-setup') || process.env.FUZZ_ALWAYS_SETUP === '1',
    allowDoubleReads: cli.has('allow-double-reads') || process.env.FUZZ_ALLOW_DOUBLE_READS === '1',
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The kernel's host singletons, made at their first use and kept for the
 * kernel's life (each one intr source): the io_uring's completion eventfd
 * (the first AIO request) and the inotify instance (the first vnode
 * watch). Made before the baseline is taken, so that the run's first use of
 * them is not counted as a leak.
 */
function warm_singletons(): void {
  const path = join(tmpdir(), `ukern-fuzz-warm-${process.pid}`);
  const fd = openSync(path, 'w+');
  try {
    const cb = { aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(1)), aio_nbytes: 1 };
    sys.aio_read(cb);
    sys.aio_suspend([cb], { tv_sec: 5, tv_nsec: 0 });
    sys.aio_return(cb);
    const kq = sys.kqueue();
    sys.kevent(kq, [sys.EV_SET(fd, sys.EVFILT_VNODE, sys.EV_ADD, sys.NOTE_WRITE, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    sys.close(kq);
  } finally {
    sys.close(fd);
    unlinkSync(path);
  }
}

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  console.log(`fuzz: seed ${o.seed}, ${o.lwps} LWPs, up to ${o.calls} calls or ${o.seconds} s (replay one LWP: FUZZ_LWPS=1 FUZZ_SEED=<its seed>)`);
  sys.boot(FUZZ_LIMITS);
  // lwp_kill sends real signals: every LWP takes them with a handler that does nothing (a module
  // handler, so that whichever LWP is chosen can run it), never the default action that ends the process.
  for (const s of FUZZ_SIGNALS) sys.sigaction(s, { sa_handler: { module: new URL('../fixtures/signals.js', import.meta.url), export: 'ignores' }, sa_flags: sys.SA_RESTART });
  warm_singletons();
  const baseKmem = new Map(sys.kmem_snapshot().caches.map((c) => [c.cache, c.inUse]));
  const baseStat = sys.kstat();

  const sab = Slot.buffer(o.lwps);
  const lidsSab = new SharedArrayBuffer(4 * o.lwps);
  const lids: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < o.lwps; i++) {
    const arg: FuzzArg = {
      sab, index: i, seed: (o.seed + i) | 0, calls: Math.ceil(o.calls / o.lwps), ms: o.seconds * 1000,
      lids: lidsSab, nlwps: o.lwps, maxLength: o.maxLength, ...(o.path ? { path: o.path } : {}), ...(o.exclude ? { exclude: o.exclude } : {}), alwaysSetup: o.alwaysSetup, allowDoubleReads: o.allowDoubleReads,
    };
    lids.push(sys.lwp_create({ module: new URL('./lwp.js', import.meta.url), export: 'fuzz', arg }, sys.LWP_SUSPENDED));
  }
  new Int32Array(lidsSab).set(lids);
  for (const l of lids) sys.lwp_continue(l);

  const slots = lids.map((_, i) => new Slot(sab, i));
  const hang = await watch(slots, o);
  if (hang !== null) { console.error(hang); return 2; }
  const elapsed = (Date.now() - t0) / 1000;

  for (const l of lids) await within(sys.lwp_wait_async(l), 10_000, `collecting fuzzing LWP ${l}`);
  const reports = slots.map((s) => JSON.parse(s.readReport()) as FuzzReport);
  const findings = reports.flatMap((r, i) => (r.failure ? [`LWP #${i} (lid ${lids[i]}, seed ${(o.seed + i) | 0}):\n${r.failure}`] : []));
  const leftovers = await sweep();
  const problems = findings.length ? [] : await settle(baseKmem, baseStat);

  summary(reports, elapsed, o, leftovers);
  for (const f of findings) console.error(`\nFINDING ${f}`);
  for (const p of problems) console.error(`\nINVARIANT ${p}`);
  const total = reports.reduce((a, r) => a + r.calls, 0);
  if (findings.length === 0 && problems.length === 0 && total < o.minCalls && o.calls >= o.minCalls) {
    console.error(`\nTOO SLOW: ${total} calls in ${elapsed.toFixed(1)} s, fewer than ${o.minCalls}`);
    return 1;
  }
  return findings.length || problems.length ? 1 : 0;
}

/** How long an LWP may take to start its first sequence (ms). */
const START_MS = 30_000;

/** Waits for every slot to finish; returns a hang report, or null. Never enters the kernel. */
async function watch(slots: Slot[], o: Options): Promise<string | null> {
  const seen = slots.map(() => ({ calls: -1, at: Date.now() }));
  const hardEnd = Date.now() + o.seconds * 1000 + 60_000;
  for (;;) {
    await sleep(50);
    let running = 0;
    const now = Date.now();
    for (let i = 0; i < slots.length; i++) {
      const w = slots[i]!.w;
      if (Atomics.load(w, W_STATE) !== ST_RUNNING) continue;
      running++;
      // Until its first sequence (W_RUN 0) an LWP is starting: its worker, its
      // modules, its sampling, none of it a call. Timed from there with
      // hangMs, a loaded machine turned a slow start into a HANG 'in call [0]
      // after 0 calls' of every LWP (seen in a full run beside other work);
      // the start has a limit of its own, and the hang clock starts with the
      // first sequence.
      const c = Atomics.load(w, W_RUN) === 0 ? -1 : Atomics.load(w, W_CALLS);
      if (c !== seen[i]!.calls) { seen[i] = { calls: c, at: now }; continue; }
      if (now - seen[i]!.at > (c === -1 ? START_MS : o.hangMs) || now > hardEnd) {
        // Every LWP that is stuck too: the one that wedged the kernel may not be the first to time out.
        const stuck = slots.map((_, j) => j).filter((j) => Atomics.load(slots[j]!.w, W_STATE) === ST_RUNNING &&
          (Atomics.load(slots[j]!.w, W_RUN) === 0 ? -1 : Atomics.load(slots[j]!.w, W_CALLS)) === seen[j]!.calls && now - seen[j]!.at > 1000);
        return stuck.map((j) => hangReport(slots[j]!, j, o, now - seen[j]!.at)).join('\n') + `\nLWPs: ${lwpStates()}\nkernel panicked: ${panicked()}`;
      }
    }
    if (running === 0) return null;
  }
}

function hangReport(s: Slot, i: number, o: Options, ms: number): string {
  const idx = Atomics.load(s.w, W_INDEX);
  const where = Atomics.load(s.w, W_RUN) === 0 ? 'before its first sequence (starting: its worker, its modules, its sampling)'
    : idx === IX_SETUP ? 'while creating the objects of the sequence (port_create, kqueue, timer_create)'
    : idx === IX_CLEANUP ? 'while cleaning up after the sequence (close, timer_delete, lwp_continue, lwp_wait of its objects)'
    : `in call [${idx}]`;
  const text = s.readText().split('\n').map((l, k) => (k === idx + 1 ? `${l}    <== HANGS HERE` : l)).join('\n');
  return `\nHANG: fuzzing LWP #${i} (lid ${Atomics.load(s.w, W_LID)}, seed ${(o.seed + i) | 0}) made no progress for ${ms} ms ` +
    `in run ${Atomics.load(s.w, W_RUN)}, ${where}, after ${Atomics.load(s.w, W_CALLS)} calls; the sequence:\n${text}`;
}

/** LWP states for a hang report (lwp_snapshot reads the table without a lock). */
function lwpStates(): string {
  try { return sys.lwp_snapshot().lwps.map((l) => `${l.lid}:${l.state}${l.wmesg ? `/${l.wmesg}` : ''}`).join(' '); } catch (e) { return String(e); }
}

/** Closes what the fuzzing LWPs left (another LWP may have closed a reused number of theirs). */
async function sweep(): Promise<string> {
  let fds = 0, timers = 0, lwps = 0;
  for (const f of fd_list()) { try { sys.close(f.fd); fds++; } catch { /* gone meanwhile */ } }
  for (const t of timer_ids()) { try { sys.timer_delete(t); timers++; } catch { /* gone */ } }
  for (const l of sys.lwp_snapshot().lwps) if (!l.main) { try { sys.lwp_continue(l.lid); } catch { /* gone */ } }
  for (const l of sys.lwp_snapshot().lwps) {
    if (!l.main && !l.detached) { lwps++; if (process.env.FUZZ_DEBUG) console.log(`sweep: LWP ${l.lid} ${l.state}${l.threw ? " threw" : ""}${l.died ? " died" : ""}`); try { await within(sys.lwp_wait_async(l.lid), 10_000, `collecting LWP ${l.lid}`); } catch (e) { if (!(e instanceof sys.SysError)) throw e; } }
  }
  return `${fds} descriptors, ${timers} timers, ${lwps} LWPs`;
}

/** Checks the kernel's bookkeeping, retrying briefly (detached LWPs finish exiting by themselves). */
async function settle(baseKmem: Map<string, number>, base: Record<string, number>): Promise<string[]> {
  let bad: string[] = [];
  for (let tries = 0; tries < 50; tries++) {
    bad = check(baseKmem, base);
    if (bad.length === 0) return bad;
    await sleep(100);
  }
  return bad;
}

function check(baseKmem: Map<string, number>, base: Record<string, number>): string[] {
  const bad: string[] = [];
  // Signals the fuzzing LWPs left pending (blocked, or sent as they exited) are taken here, by
  // LWP 1, with every mask open: their entries must then be back in the cache.
  sys.sigprocmask(sys.SIG_SETMASK, sys.sigemptyset());
  if (panicked()) bad.push('the kernel panicked');
  for (const c of sys.kmem_snapshot().caches) {
    if (c.inUse !== (baseKmem.get(c.cache) ?? 0)) bad.push(`kmem cache ${c.cache}: ${c.inUse} in use, ${baseKmem.get(c.cache)} at baseline`);
    if (c.cache === 'aioreq' && c.inUse !== 0) { // which request, and in what state: a finding must say
      for (const id of aio_ids()) { const h = aio_lookup(id); bad.push(`aio ${id}: state ${I32[h + R.state]} op ${I32[h + R.op]} fd ${I32[h + R.fd]} flags ${I32[h + R.flags]} lio ${I32[h + R.lio]} notify ${I32[h + R.notify]} lid ${I32[h + R.lid]} res ${I32[h + R.res]}`); }
    }
  }
  for (const p of sys.lwp_check()) bad.push(`lwp_check: ${p}`);
  const lwps = sys.lwp_snapshot().lwps.filter((l) => !l.main);
  if (lwps.length) bad.push(`LWPs left: ${lwps.map((l) => `${l.lid}:${l.state}`).join(' ')}`);
  const k = sys.kstat();
  const d = (name: string): number => (k[name] ?? 0) - (base[name] ?? 0);
  const eq = (what: string, a: number, b: number): void => { if (a !== b) bad.push(`kstat ${what}: ${a} != ${b}`); };
  eq('port.ports', k['port.ports']!, base['port.ports']!);
  eq('port.waiters', k['port.waiters']!, 0);
  eq('port.lanes', k['port.lanes']!, base['port.lanes']!);
  eq('port.events_sent vs delivered + discarded', d('port.events_sent'), d('port.events_delivered') + d('port.events_discarded'));
  eq('kqueue.kqueues_in_use', k['kqueue.kqueues_in_use']!, base['kqueue.kqueues_in_use']!);
  eq('kqueue.knotes_in_use', k['kqueue.knotes_in_use']!, base['kqueue.knotes_in_use']!);
  eq('timer.created vs deleted', d('timer.created'), d('timer.deleted'));
  eq('lwp.created vs exited', d('lwp.created'), d('lwp.exited'));
  return bad;
}

function summary(reports: FuzzReport[], elapsed: number, o: Options, leftovers: string): void {
  const total = reports.reduce((a, r) => a + r.calls, 0);
  console.log(`fuzz: ${total} calls in ${elapsed.toFixed(1)} s (${Math.round(total / elapsed)} calls/s), ` +
    `${reports.map((r) => r.calls).join('+')} per LWP, ${reports.reduce((a, r) => a + r.runs, 0)} sequences; swept after the run: ${leftovers}`);
  const tally = new Map<string, number>();
  for (const r of reports) for (const [k, v] of Object.entries(r.tally)) tally.set(k, (tally.get(k) ?? 0) + v);
  const byCall = new Map<string, string[]>();
  for (const [k, v] of [...tally].sort()) {
    const [name, ...rest] = k.split(' ');
    if (!byCall.has(name!)) byCall.set(name!, []);
    byCall.get(name!)!.push(`${rest.join(' ')}=${v}`);
  }
  if (process.env.FUZZ_VERBOSE || o.seconds > 60) for (const [n, ls] of byCall) console.log(`  ${n}: ${ls.join(', ')}`);
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

main().then((code) => { process.exitCode = code; process.exit(code); }, (e) => { console.error('fuzz driver failed:', e); process.exit(3); });
