/**
 * Kernel time, and every conversion and comparison of times the kernel and
 * its classes make (ns, ms, timespec), in one place.
 *
 * Monotonic time is nanoseconds since the kernel booted, held in a double
 * (exact to the nanosecond for 104 days of uptime) and the same in every
 * thread, because it derives from the process-wide CLOCK_MONOTONIC behind
 * process.hrtime.
 *
 * Exact arithmetic (what was timers/tsmath.ts). A clock of the kernel holds
 * a signed 64-bit count of nanoseconds (±9 223 372 036 s), but the time
 * lines the callouts run on are doubles, exact only below 2^53 ns (104
 * days). A manual clock set near the top of the range, or an absolute
 * CLOCK_REALTIME deadline (1.7e18 ns since 1970), does not fit a double
 * exactly. So:
 *  - a timespec is kept as its two integer fields wherever it must read back
 *    exactly (the manual clock), and sums of timespecs are done on the fields;
 *  - converting a time to its double on a time line rounds in the direction
 *    that keeps "a timer never fires early": a clock reading rounds down, a
 *    deadline rounds up. Rounding is monotone, so an exact deadline at or
 *    before the exact clock still fires, and one after it never does;
 *  - a double back to a timespec goes through BigInt when it is not a safe
 *    integer, so tv_nsec is always an integer in [0, 1e9).
 * Small values (the common case) take the plain-number path and allocate
 * nothing. Validation of user timespecs is copy-in's (kern/copyin.ts), on
 * these constants.
 */

/** Seconds and nanoseconds, as C's struct timespec. */
export interface Timespec { tv_sec: number; tv_nsec: number }
/** An interval timer setting, as C's struct itimerspec. */
export interface Itimerspec { it_interval: Timespec; it_value: Timespec }

export const NSEC_PER_SEC = 1_000_000_000;
/**
 * The largest tv_sec the kernel takes: a signed 64-bit count of nanoseconds
 * (what every clock of the kernel holds) spans ±9 223 372 036 s. A time
 * beyond is EINVAL, as Linux's clock_settime/timer_settime say for a time
 * their ktime_t cannot hold; a relative *timeout* beyond is clamped by the
 * caller to "for ever" (C's sleeping calls accept any time_t).
 */
export const TIME_SEC_MAX = 9_223_372_035;

/** A kernel-owned timespec copy (copy-in's result). */
export interface TimespecCopy { tv_sec: number; tv_nsec: number }

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

/** Nanoseconds (any double; rounded to a whole ns) as an exact timespec; a negative value floors tv_sec. */
export function ns_to_ts(ns: number): Timespec { return ts_of_ns(Math.round(ns)); }

/** Nanoseconds of a timespec (exact below 2^53 ns; see ns_up / ns_down for the rounding beyond). */
export function ts_to_ns(t: TimespecCopy): number { return t.tv_sec * NSEC_PER_SEC + t.tv_nsec; }

/** Milliseconds (finite, >= 0: the class layer's validated timeouts) as a relative timespec. */
export function ms_to_ts(ms: number): Timespec { return ns_to_ts(ms * 1e6); }

/** Timespec `t` plus `ms` milliseconds (an absolute deadline from a clock reading), exact on the fields. */
export function ts_add_ms(t: TimespecCopy, ms: number): TimespecCopy { return ts_add(t, ns_to_ts(ms * 1e6)); }

/** Nanoseconds as the milliseconds Atomics.wait takes. */
export function ns_to_ms(ns: number): number { return ns / 1e6; }

/* ------------------------------------------------- exact time arithmetic */

const BIG_NS = 1_000_000_000n;

/** The largest time a clock holds, as a timespec's two fields. */
export const TIME_MAX: Readonly<TimespecCopy> = { tv_sec: TIME_SEC_MAX, tv_nsec: NSEC_PER_SEC - 1 };

/** Below this many seconds, sec * 1e9 + nsec is an exact double. */
const SAFE_SEC = Math.floor(Number.MAX_SAFE_INTEGER / NSEC_PER_SEC) - 1;

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** The next double above `d` (d finite, an integer). */
function next_up(d: number): number {
  if (d === 0) return 1; // line values are whole nanoseconds
  f64[0] = d;
  i64[0] = d > 0 ? i64[0]! + 1n : i64[0]! - 1n;
  return f64[0]!;
}
/** The next double below `d`. */
function next_down(d: number): number { return -next_up(-d); }

/** An exact integer as the least double >= it. */
export function big_up(b: bigint): number {
  const d = Number(b);
  return BigInt(d) < b ? next_up(d) : d;
}
/** An exact integer as the greatest double <= it. */
function big_down(b: bigint): number {
  const d = Number(b);
  return BigInt(d) > b ? next_down(d) : d;
}

function big_of(sec: number, nsec: number): bigint { return BigInt(sec) * BIG_NS + BigInt(nsec); }

/** Nanoseconds of sec/nsec as a double rounded up (a deadline). */
export function ns_up(sec: number, nsec: number): number {
  return Math.abs(sec) < SAFE_SEC ? sec * NSEC_PER_SEC + nsec : big_up(big_of(sec, nsec));
}
/** Nanoseconds of sec/nsec as a double rounded down (a clock reading). */
export function ns_down(sec: number, nsec: number): number {
  return Math.abs(sec) < SAFE_SEC ? sec * NSEC_PER_SEC + nsec : big_down(big_of(sec, nsec));
}

/** An integer number of ns (a double) as an exact timespec; a negative value floors tv_sec. */
export function ts_of_ns(ns: number): TimespecCopy {
  if (Number.isSafeInteger(ns)) {
    const s = Math.floor(ns / NSEC_PER_SEC);
    return { tv_sec: s, tv_nsec: ns - s * NSEC_PER_SEC };
  }
  const b = BigInt(Math.round(ns));
  let s = b / BIG_NS, n = b % BIG_NS;
  if (n < 0n) { n += BIG_NS; s -= 1n; }
  return { tv_sec: Number(s), tv_nsec: Number(n) };
}

/** a + b on the fields (tv_nsec of both in [0, 1e9)); exact while tv_sec stays below 2^53. */
export function ts_add(a: TimespecCopy, b: TimespecCopy): TimespecCopy {
  let s = a.tv_sec + b.tv_sec, n = a.tv_nsec + b.tv_nsec;
  if (n >= NSEC_PER_SEC) { n -= NSEC_PER_SEC; s += 1; }
  return { tv_sec: s, tv_nsec: n };
}

/** a < b. */
export function ts_less(a: TimespecCopy, b: TimespecCopy): boolean {
  return a.tv_sec < b.tv_sec || (a.tv_sec === b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/** True when `t` is beyond the largest time a clock holds. */
export function ts_beyond_max(t: TimespecCopy): boolean { return ts_less(TIME_MAX, t); }

/** The least time-line value after `now` (an integer double). */
export function line_after(now: number): number { return now + 1 > now ? now + 1 : next_up(now); }
