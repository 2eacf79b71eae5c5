/**
 * What runs inside the fuzzing LWPs (and their children).
 *
 * Why in LWPs: a call that hangs (a deadlock on a kernel lock, a wait that
 * ignores its timeout) would freeze whatever thread made it. Fuzzing in
 * LWPs leaves LWP 1 free to be the watchdog: each fuzzing LWP publishes,
 * in a SharedArrayBuffer the watchdog reads without entering the kernel,
 * a heartbeat (calls done), the sequence it is running with the index of
 * the current call, and at the end its report. A hang is then reported
 * with the seed, the LWP and the call, not as a test run that never ends.
 *
 * Each LWP runs fast-check (fc.check) over sequences of calls with its own
 * seed (base seed + index), so a finding is shrunk to a short sequence and
 * printed with the seed and path that replay it (FUZZ_LWPS=1). A finding
 * that leaves the kernel broken (a lock left held, a panic) is "fatal":
 * further runs, shrinking included, do nothing, and the original sequence
 * is reported.
 */
import fc from 'fast-check';
import * as sys from '../../src/sys/index.js';
import { Ctx } from './ctx.js';
import { callArb, execCall, judgeOptions, type Call } from './calls.js';

/* ------------------------------------------------------------ shared slots */

export const HDR_WORDS = 16;
export const TEXT_BYTES = 1 << 16;
export const REPORT_BYTES = 1 << 16;
export const SLOT_BYTES = HDR_WORDS * 4 + TEXT_BYTES + REPORT_BYTES;
/** Header words of a slot. */
export const W_CALLS = 0, W_STATE = 1, W_RUN = 2, W_INDEX = 3, W_TEXTLEN = 4, W_REPLEN = 5, W_LID = 6, W_STARTED = 7;
export const ST_RUNNING = 0, ST_DONE = 1, ST_FAILED = 2;
/** W_INDEX outside a call: creating the sequence's objects, or cleaning them up. */
export const IX_SETUP = -2, IX_CLEANUP = -3;

export class Slot {
  readonly w: Int32Array;
  readonly text: Uint8Array;
  readonly report: Uint8Array;
  constructor(sab: SharedArrayBuffer, i: number) {
    const base = i * SLOT_BYTES;
    this.w = new Int32Array(sab, base, HDR_WORDS);
    this.text = new Uint8Array(sab, base + HDR_WORDS * 4, TEXT_BYTES);
    this.report = new Uint8Array(sab, base + HDR_WORDS * 4 + TEXT_BYTES, REPORT_BYTES);
  }
  static buffer(n: number): SharedArrayBuffer { return new SharedArrayBuffer(n * SLOT_BYTES); }
  readText(): string { return decode(this.text, Atomics.load(this.w, W_TEXTLEN)); }
  readReport(): string { return decode(this.report, Atomics.load(this.w, W_REPLEN)); }
}

const enc = new TextEncoder();
function write(into: Uint8Array, s: string): number {
  return enc.encodeInto(s.length * 3 > into.length ? s.slice(0, Math.floor(into.length / 3)) : s, into).written;
}
function decode(from: Uint8Array, n: number): string {
  return new TextDecoder().decode(from.slice(0, n));
}

/* ------------------------------------------------------------ the fuzzing LWP */

export interface FuzzArg {
  sab: SharedArrayBuffer;
  index: number;
  seed: number;
  calls: number;
  ms: number;
  /** Lids of all fuzzing LWPs (filled in by the driver before it continues them). */
  lids: SharedArrayBuffer;
  nlwps: number;
  maxLength: number;
  path?: string;
  /** Calls whose description matches are not generated (exploring past a known finding). */
  exclude?: string;
  /** Always create the objects first (exploring past a fresh-thread finding). */
  alwaysSetup?: boolean;
  /** Do not judge double reads of user properties (exploring past that finding). */
  allowDoubleReads?: boolean;
}

/** The report an LWP leaves in its slot (JSON). */
export interface FuzzReport {
  calls: number;
  runs: number;
  ms: number;
  tally: Record<string, number>;
  failure?: string;
}

export async function fuzz(arg: FuzzArg): Promise<void> {
  const slot = new Slot(arg.sab, arg.index);
  try {
    await fuzzIn(slot, arg);
  } catch (e) {
    // The harness itself failed: say so rather than leave the watchdog to call it a hang.
    const report: FuzzReport = { calls: Atomics.load(slot.w, W_CALLS), runs: 0, ms: 0, tally: {}, failure: `the fuzzing LWP failed: ${e instanceof Error ? e.stack : String(e)}` };
    Atomics.store(slot.w, W_REPLEN, write(slot.report, JSON.stringify(report)));
    Atomics.store(slot.w, W_STATE, ST_FAILED);
  }
}

async function fuzzIn(slot: Slot, arg: FuzzArg): Promise<void> {
  judgeOptions.allowDoubleReads = arg.allowDoubleReads === true;
  Atomics.store(slot.w, W_LID, sys.lwp_self());
  const lids = [...new Int32Array(arg.lids)].slice(0, arg.nlwps).filter((l) => l !== sys.lwp_self());
  const ctx = new Ctx(lids, new URL(import.meta.url), arg.nlwps > 1);
  const tally = new Map<string, number>();
  const t0 = Date.now();
  let calls = 0, runs = 0, fatal: string | null = null;
  const seqArb = fc.array(callArb(arg.exclude ? new RegExp(arg.exclude) : undefined), { minLength: 1, maxLength: arg.maxLength });
  const meanLen = fc.sample(seqArb, { seed: arg.seed ^ 0x5eed, numRuns: 200 }).reduce((a, s) => a + s.length, 0) / 200;
  // One sequence in five starts with no objects: its port#0, kq#0, ... are
  // the defaults of ctx (-1, ...). The first run of an LWP also does, so
  // that a thread's first kernel calls are hostile ones (per-thread state
  // such as lookup memos starts empty there).
  const withSetup = fc.nat(4).map((n) => n > 0 || arg.alwaysSetup === true);

  const property = fc.asyncProperty(withSetup, seqArb, async (setup: boolean, seq: Call[]) => {
    if (fatal !== null || calls >= arg.calls) return true;
    runs++;
    const made = setup && (runs > 1 || arg.alwaysSetup === true);
    Atomics.store(slot.w, W_RUN, runs);
    Atomics.store(slot.w, W_TEXTLEN, write(slot.text, `  (objects created first: ${made}; when not, port#i, kq#i and timer#i are -1, closed#i 0x7fff0000, child#i 0x7fff)\n` +
      seq.map((c, i) => `  [${i}] ${c.d}`).join('\n')));
    Atomics.store(slot.w, W_INDEX, IX_SETUP);
    if (made) ctx.setup();
    try {
      for (let i = 0; i < seq.length; i++) {
        Atomics.store(slot.w, W_INDEX, i);
        const o = execCall(seq[i]!, ctx);
        const out = o instanceof Promise ? await o : o;
        Atomics.store(slot.w, W_CALLS, ++calls);
        if (out === null) continue;
        if (!out.ok) {
          const msg = `call [${i}] ${seq[i]!.d}: ${out.finding}`;
          if (out.fatal) fatal = msg;
          throw bareError(msg);
        }
        count(seq[i]!, out.label);
      }
    } finally {
      Atomics.store(slot.w, W_INDEX, IX_CLEANUP);
      const p = fatal === null ? ctx.cleanup() : null;
      if (p !== null) throw bareError(`cleanup after the sequence: ${p}`);
    }
    return true;
  });
  const count = (c: Call, label: string): void => {
    const key = `${c.name} ${label}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  };

  const details = await fc.check(property, {
    seed: arg.seed | 0, numRuns: Math.max(1, Math.ceil(arg.calls / meanLen)),
    interruptAfterTimeLimit: arg.ms, markInterruptAsFailure: false, includeErrorInReport: true, ...(arg.path ? { path: arg.path } : {}),
  });
  const report: FuzzReport = { calls, runs, ms: Date.now() - t0, tally: Object.fromEntries(tally) };
  if (details.failed) {
    report.failure = (fatal !== null ? `FATAL (kernel left broken; not shrunk): ${fatal}\n` : '') +
      fc.defaultReportMessage(details) +
      `\nreplay in one LWP: npm run fuzz -- --lwps=1 --seed=${arg.seed | 0} --path=${details.counterexamplePath ?? ''} (plus the run's other switches)`;
  }
  Atomics.store(slot.w, W_REPLEN, write(slot.report, JSON.stringify(report)));
  Atomics.store(slot.w, W_STATE, details.failed ? ST_FAILED : ST_DONE);
}

/** An Error whose stack is its message: the harness's own frames say nothing about the kernel. */
function bareError(msg: string): Error {
  const err = new Error(msg);
  err.stack = `Error: ${msg}`;
  return err;
}

/* ------------------------------------------------------------ children */

/** A child LWP that returns at once. */
export function child(): void {}
/** A child LWP that parks up to 1 ms (unpark, wakeup or timeout end it). */
export function childPark(): void {
  const t = sys.clock_gettime(sys.CLOCK_REALTIME);
  const ns = t.tv_nsec + 1_000_000;
  try { sys.lwp_park({ tv_sec: t.tv_sec + Math.floor(ns / 1e9), tv_nsec: ns % 1e9 }); } catch { /* any outcome */ }
}
/** A child LWP whose start function throws. */
export function childThrows(): void { throw new Error('child LWP throws on purpose'); }
/** Creates and deletes a SIGEV_THREAD timer (repro.ts: per-thread timer state must come back). */
export function threadTimer(): void {
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: () => {} });
  sys.timer_delete(t);
}
