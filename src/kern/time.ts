/**
 * Kernel time. Monotonic time is nanoseconds since the kernel booted, held in
 * a double (exact to the nanosecond for 104 days of uptime) and the same in
 * every thread, because it derives from the process-wide CLOCK_MONOTONIC
 * behind process.hrtime.
 */

/** Seconds and nanoseconds, as C's struct timespec. */
export interface Timespec { tv_sec: number; tv_nsec: number }
/** An interval timer setting, as C's struct itimerspec. */
export interface Itimerspec { it_interval: Timespec; it_value: Timespec }

export const NSEC_PER_SEC = 1_000_000_000;

let epoch = process.hrtime.bigint();

/** Sets the boot epoch (in ns of the host monotonic clock); attach passes the booting thread's. */
export function set_epoch(e: bigint): void { epoch = e; }
export function get_epoch(): bigint { return epoch; }

/** Kernel monotonic time in ns since boot. */
export function mono_now(): number { return Number(process.hrtime.bigint() - epoch); }

/** CLOCK_REALTIME in ns since the Unix epoch (a double: exact to ~256 ns today). */
export function real_now(): number {
  return Number(process.hrtime.bigint() - epoch) + realAtBootNs;
}
let realAtBootNs = Date.now() * 1e6 - Number(process.hrtime.bigint() - epoch);
export function set_real_at_boot(ns: number): void { realAtBootNs = ns; }
export function get_real_at_boot(): number { return realAtBootNs; }

export function ns_to_ts(ns: number): Timespec {
  const sec = Math.floor(ns / NSEC_PER_SEC);
  return { tv_sec: sec, tv_nsec: Math.round(ns - sec * NSEC_PER_SEC) };
}
