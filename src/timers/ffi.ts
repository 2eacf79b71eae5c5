/**
 * The few libc calls Node does not expose, through koffi (an FFI package that
 * ships prebuilt binaries): per-thread timer slack (prctl PR_SET_TIMERSLACK)
 * for the clock thread, and the calling thread's CPU clocks. Everything here
 * is optional: when koffi or libc cannot be loaded (another OS, a platform
 * without a prebuilt binary) each function says so and callers fall back to
 * pure JS (see clocks.ts and clockthread.ts for what the fallbacks cost).
 */
import { libc_binder } from '../kern/libc.js';

interface Libc {
  prctl: (op: number, a: number, b: number, c: number, d: number) => number;
  clock_gettime: (id: number, out: BigInt64Array) => number;
  clock_getres: (id: number, out: BigInt64Array) => number;
  getrusage: (who: number, out: BigInt64Array) => number;
}

/** The calls this module needs, bound on this thread's libc once (kern/libc.ts); null when unavailable. */
const load = libc_binder({
  prctl: 'int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)',
  clock_gettime: 'int clock_gettime(int, void *)',
  clock_getres: 'int clock_getres(int, void *)',
  getrusage: 'int getrusage(int, void *)',
}) as () => Libc | null;

/** True when the FFI is usable in this thread. */
export function ffi_available(): boolean { return load() !== null; }

const PR_SET_TIMERSLACK = 29;
/** Sets the calling thread's timer slack (ns). False when the FFI is unavailable or the call failed. */
export function set_timer_slack(ns: number): boolean {
  const l = load();
  return l !== null && l.prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) === 0;
}

/** Linux clock ids (not illumos's: these go to the host). */
export const LINUX_CLOCK_PROCESS_CPUTIME_ID = 2;
export const LINUX_CLOCK_THREAD_CPUTIME_ID = 3;

const ts = new BigInt64Array(2);
/** Host clock_gettime in ns, or -1 when unavailable. */
export function host_clock_ns(linuxId: number): number {
  const l = load();
  if (l === null || l.clock_gettime(linuxId, ts) !== 0) return -1;
  return Number(ts[0]!) * 1e9 + Number(ts[1]!);
}
/** Host clock_getres in ns, or -1 when unavailable. */
export function host_clock_res_ns(linuxId: number): number {
  const l = load();
  if (l === null || l.clock_getres(linuxId, ts) !== 0) return -1;
  return Number(ts[0]!) * 1e9 + Number(ts[1]!);
}

const RUSAGE_THREAD = 1;
// struct rusage on 64-bit Linux: ru_utime {sec, usec}, ru_stime {sec, usec}, then 14 longs.
const ru = new BigInt64Array(18);
/** The calling thread's user CPU time in ns (µs resolution), or -1. */
export function thread_user_ns(): number {
  const l = load();
  if (l === null || l.getrusage(RUSAGE_THREAD, ru) !== 0) return -1;
  return Number(ru[0]!) * 1e9 + Number(ru[1]!) * 1e3;
}
