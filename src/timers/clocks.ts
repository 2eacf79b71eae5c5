/**
 * Clock backends, as timer.c's clock_backend_t: each clock says how to read,
 * set and report the resolution of itself, whether timers may use it, and the
 * sigevent a null evp means. Timers run on two time lines:
 *
 *  - the kernel's monotonic nanoseconds since boot (`monoNow()`, identical in
 *    every thread), for CLOCK_MONOTONIC/HIGHRES and CLOCK_REALTIME. ukern's
 *    CLOCK_REALTIME is the boot-time wall clock plus monotonic time, so it can
 *    never step; a realtime deadline is converted to monotonic once, exactly,
 *    when the timer is armed;
 *  - the manual clock (CLOCK_MANUAL), a word of kernel memory that only moves
 *    when a program sets it forward; its timers fire inside that call.
 *
 * CPU-time clocks can be read but carry no timers (EINVAL from timer_create,
 * as illumos's clock_process.c and clock_thread.c).
 */
import { F64, kregionCreate } from '../kern/kmem.js';
import { fail } from '../kern/errno.js';
import { intArg } from '../kern/copyin.js';
import { monoNow, getEpoch, getRealAtBoot, checkTimespec, type Timespec, NSEC_PER_SEC } from '../kern/time.js';
import { readFileSync } from 'node:fs';
import {
  hostClockNs, hostClockResNs, threadUserNs, LINUX_CLOCK_PROCESS_CPUTIME_ID, LINUX_CLOCK_THREAD_CPUTIME_ID,
} from './ffi.js';
import {
  __CLOCK_REALTIME0, CLOCK_VIRTUAL, CLOCK_THREAD_CPUTIME_ID, CLOCK_REALTIME, CLOCK_MONOTONIC,
  CLOCK_PROCESS_CPUTIME_ID, CLOCK_MANUAL, SIGEV_SIGNAL, SIGALRM,
} from './consts.js';

/** Time lines timers run on. */
export const TL_MONO = 0, TL_MANUAL = 1;

/** Region words: the manual clock's value (f64 at words 0-1). */
const clockRegion = kregionCreate('clock', () => 2);
function manualWord(): number { return clockRegion.base >> 1; }

/** The manual clock now, ns. */
export function manualNow(): number { return F64[manualWord()]!; }
/** Sets the manual clock (callers validate: it never goes back). */
export function setManualNow(ns: number): void { F64[manualWord()] = ns; }

/** A clock backend. */
export interface ClockBackend {
  readonly name: string;
  /** Current value as an exact timespec. */
  gettime(): Timespec;
  /** Honest resolution, ns. */
  resNs(): number;
  /** Which time line timers on this clock use; undefined: no timers (EINVAL). */
  readonly timeline?: number;
  /** Now on the time line, ns. */
  lineNow?(): number;
  /** An absolute time of this clock, converted exactly to the time line (ns). */
  absToLine?(ts: Timespec): number;
  /** Settable by this process (else EPERM). */
  readonly settable: boolean;
}

const BIG_NS = 1_000_000_000n;
function bigToTs(ns: bigint): Timespec {
  let s = ns / BIG_NS, n = ns % BIG_NS;
  if (n < 0n) { n += BIG_NS; s -= 1n; }
  return { tv_sec: Number(s), tv_nsec: Number(n) };
}
function numToTs(ns: number): Timespec {
  const s = Math.floor(ns / NSEC_PER_SEC);
  return { tv_sec: s, tv_nsec: ns - s * NSEC_PER_SEC };
}
/** Boot wall-clock time as an exact integer (the double every thread shares). */
function realAtBootBig(): bigint { return BigInt(Math.round(getRealAtBoot())); }

const realtime: ClockBackend = {
  name: 'CLOCK_REALTIME',
  // BigInt keeps every nanosecond: as a double, today's time since 1970 in ns has 256 ns steps.
  gettime: () => bigToTs(realAtBootBig() + (process.hrtime.bigint() - getEpoch())),
  resNs: () => 1,
  timeline: TL_MONO,
  lineNow: monoNow,
  absToLine: (ts) => Number(BigInt(ts.tv_sec) * BIG_NS + BigInt(ts.tv_nsec) - realAtBootBig()),
  settable: false,
};

const monotonic: ClockBackend = {
  name: 'CLOCK_MONOTONIC',
  gettime: () => bigToTs(process.hrtime.bigint() - getEpoch()),
  resNs: () => 1,
  timeline: TL_MONO,
  lineNow: monoNow,
  absToLine: (ts) => ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec,
  settable: false,
};

const manual: ClockBackend = {
  name: 'CLOCK_MANUAL',
  gettime: () => numToTs(manualNow()),
  resNs: () => 1,
  timeline: TL_MANUAL,
  lineNow: manualNow,
  absToLine: (ts) => ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec,
  settable: true,
};

// --- CPU-time clocks. With koffi they are the host's clocks (1 ns); without it,
// the process clock is process.cpuUsage() (1 µs) and the thread clocks read
// /proc/thread-self/stat (USER_HZ ticks: 10 ms). Node 20 has no threadCpuUsage.

/** utime, stime of the calling thread in ns from /proc (USER_HZ = 100 on Linux), or undefined. */
function procThreadTimes(): [number, number] | undefined {
  try {
    const s = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return [Number(f[11]) * 1e7, Number(f[12]) * 1e7];
  } catch {
    return undefined;
  }
}
const TICK_NS = 1e7;

function noClock(name: string): never { fail('EINVAL', 'clock_gettime', `${name} cannot be read on this host`); }

const processCpu: ClockBackend = {
  name: 'CLOCK_PROCESS_CPUTIME_ID',
  gettime: () => {
    const ns = hostClockNs(LINUX_CLOCK_PROCESS_CPUTIME_ID);
    if (ns >= 0) return numToTs(ns);
    const u = process.cpuUsage();
    return numToTs((u.user + u.system) * 1000);
  },
  resNs: () => { const r = hostClockResNs(LINUX_CLOCK_PROCESS_CPUTIME_ID); return r > 0 ? r : 1000; },
  settable: false,
};

const threadCpu: ClockBackend = {
  name: 'CLOCK_THREAD_CPUTIME_ID',
  gettime: () => {
    const ns = hostClockNs(LINUX_CLOCK_THREAD_CPUTIME_ID);
    if (ns >= 0) return numToTs(ns);
    const t = procThreadTimes();
    if (t === undefined) noClock('CLOCK_THREAD_CPUTIME_ID');
    return numToTs(t[0] + t[1]);
  },
  resNs: () => { const r = hostClockResNs(LINUX_CLOCK_THREAD_CPUTIME_ID); return r > 0 ? r : TICK_NS; },
  settable: false,
};

const threadUser: ClockBackend = {
  name: 'CLOCK_VIRTUAL',
  gettime: () => {
    const ns = threadUserNs();
    if (ns >= 0) return numToTs(ns);
    const t = procThreadTimes();
    if (t === undefined) noClock('CLOCK_VIRTUAL');
    return numToTs(t[0]);
  },
  resNs: () => (threadUserNs() >= 0 ? 1000 : TICK_NS),
  settable: false,
};

const backends = new Map<number, ClockBackend>([
  [__CLOCK_REALTIME0, realtime],
  [CLOCK_VIRTUAL, threadUser],
  [CLOCK_THREAD_CPUTIME_ID, threadCpu],
  [CLOCK_REALTIME, realtime],
  [CLOCK_MONOTONIC, monotonic],
  [CLOCK_PROCESS_CPUTIME_ID, processCpu],
  [CLOCK_MANUAL, manual],
]);

/** The default sigevent of every clock (a null evp): SIGALRM, as illumos. */
export const CLOCK_DEFAULT_SIGEV = { sigev_notify: SIGEV_SIGNAL, sigev_signo: SIGALRM } as const;

/** The backend of a clock id, EINVAL for an unknown clock (TypeError for a non-number). */
export function clock_backend(clock_id: unknown, syscall: string): ClockBackend {
  const id = intArg(clock_id, 'clock_id', syscall);
  const b = backends.get(id);
  if (b === undefined) fail('EINVAL', syscall, `unknown clock ${id}`);
  return b;
}

/** The time line's now (ns). */
export function timelineNow(tl: number): number { return tl === TL_MANUAL ? manualNow() : monoNow(); }

/** Validates the JS shape of a timespec without judging its values (TypeError only). */
export function timespecShape(ts: unknown, syscall: string): void {
  if (ts === null || typeof ts !== 'object') throw new TypeError(`${syscall}: timespec must be an object`);
  const t = ts as Partial<Timespec>;
  if (typeof t.tv_sec !== 'number' || typeof t.tv_nsec !== 'number') {
    throw new TypeError(`${syscall}: timespec needs numeric tv_sec and tv_nsec`);
  }
}

export { checkTimespec };
