/**
 * Kernel time. Monotonic time is nanoseconds since the kernel booted, held in
 * a double (exact to the nanosecond for 104 days of uptime) and the same in
 * every thread, because it derives from the process-wide CLOCK_MONOTONIC
 * behind process.hrtime.
 */
import { fail } from './errno.js';
import { copyin_timespec_raw } from './copyin.js';

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

/**
 * Compatibility wrapper for callers not yet converted to kern/copyin.ts
 * (it will go once they are): copies the timespec in once through
 * copyin_timespec_raw (TypeError for a wrong shape) and checks the copy as
 * before: EINVAL for tv_nsec outside [0, 1e9), a fraction, or negative
 * seconds where disallowed. New code calls copyin_timespec or
 * copyin_timeout_ns, which also bound tv_sec to a 64-bit nanosecond time.
 */
export function checkTimespec(ts: unknown, syscall: string, allowNegative = false): Timespec {
  const t = copyin_timespec_raw(ts, 'timespec', syscall);
  if (!Number.isInteger(t.tv_sec) || !Number.isInteger(t.tv_nsec) ||
      t.tv_nsec < 0 || t.tv_nsec >= NSEC_PER_SEC || (!allowNegative && t.tv_sec < 0)) {
    fail('EINVAL', syscall, `timespec {${t.tv_sec}, ${t.tv_nsec}}`);
  }
  return t;
}

export function tsToNs(ts: Timespec): number { return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec; }
export function nsToTs(ns: number): Timespec {
  const sec = Math.floor(ns / NSEC_PER_SEC);
  return { tv_sec: sec, tv_nsec: Math.round(ns - sec * NSEC_PER_SEC) };
}
