/**
 * Kernel time. Monotonic time is nanoseconds since the kernel booted, held in
 * a double (exact to the nanosecond for 104 days of uptime) and the same in
 * every thread, because it derives from the process-wide CLOCK_MONOTONIC
 * behind process.hrtime.
 */
import { fail } from './errno.js';

/** Seconds and nanoseconds, as C's struct timespec. */
export interface Timespec { tv_sec: number; tv_nsec: number }
/** An interval timer setting, as C's struct itimerspec. */
export interface Itimerspec { it_interval: Timespec; it_value: Timespec }

export const NSEC_PER_SEC = 1_000_000_000;

let epoch = process.hrtime.bigint();

/** Sets the boot epoch (in ns of the host monotonic clock); attach passes the booting thread's. */
export function setEpoch(e: bigint): void { epoch = e; }
export function getEpoch(): bigint { return epoch; }

/** Kernel monotonic time in ns since boot. */
export function monoNow(): number { return Number(process.hrtime.bigint() - epoch); }

/** CLOCK_REALTIME in ns since the Unix epoch (a double: exact to ~256 ns today). */
export function realNow(): number {
  return Number(process.hrtime.bigint() - epoch) + realAtBootNs;
}
let realAtBootNs = Date.now() * 1e6 - Number(process.hrtime.bigint() - epoch);
export function setRealAtBoot(ns: number): void { realAtBootNs = ns; }
export function getRealAtBoot(): number { return realAtBootNs; }

/** Validates a timespec (EINVAL as C: tv_nsec outside [0, 1e9), negative seconds where disallowed). */
export function checkTimespec(ts: unknown, syscall: string, allowNegative = false): Timespec {
  if (ts === null || typeof ts !== 'object') throw new TypeError(`${syscall}: timespec must be an object`);
  const t = ts as Partial<Timespec>;
  if (typeof t.tv_sec !== 'number' || typeof t.tv_nsec !== 'number') {
    throw new TypeError(`${syscall}: timespec needs numeric tv_sec and tv_nsec`);
  }
  if (!Number.isInteger(t.tv_sec) || !Number.isInteger(t.tv_nsec) ||
      t.tv_nsec < 0 || t.tv_nsec >= NSEC_PER_SEC || (!allowNegative && t.tv_sec < 0)) {
    fail('EINVAL', syscall, `timespec {${t.tv_sec}, ${t.tv_nsec}}`);
  }
  return t as Timespec;
}

export function tsToNs(ts: Timespec): number { return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec; }
export function nsToTs(ns: number): Timespec {
  const sec = Math.floor(ns / NSEC_PER_SEC);
  return { tv_sec: sec, tv_nsec: Math.round(ns - sec * NSEC_PER_SEC) };
}
