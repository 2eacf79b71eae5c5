/**
 * Exact time arithmetic for clocks and timers.
 *
 * Why this file exists: a clock of the kernel holds a signed 64-bit count of
 * nanoseconds (±9 223 372 036 s), but the time lines the callouts run on are
 * doubles, exact only below 2^53 ns (104 days). A manual clock set near the
 * top of the range, or an absolute CLOCK_REALTIME deadline (1.7e18 ns since
 * 1970), does not fit a double exactly. So:
 *
 *  - a timespec is kept as its two integer fields wherever it must read back
 *    exactly (the manual clock), and sums of timespecs are done on the fields;
 *  - converting a time to its double on a time line rounds in the direction
 *    that keeps "a timer never fires early": a clock reading rounds down, a
 *    deadline rounds up. Rounding is monotone, so an exact deadline at or
 *    before the exact clock still fires, and one after it never does;
 *  - a double back to a timespec goes through BigInt when it is not a safe
 *    integer, so tv_nsec is always an integer in [0, 1e9).
 * Small values (the common case) take the plain-number path and allocate
 * nothing.
 */
import { NSEC_PER_SEC, TIME_SEC_MAX, type TimespecCopy } from '../kern/copyin.js';

/** The largest time a clock holds, as a timespec's two fields. */
export const TIME_MAX: Readonly<TimespecCopy> = { tv_sec: TIME_SEC_MAX, tv_nsec: NSEC_PER_SEC - 1 };

/** Below this many seconds, sec * 1e9 + nsec is an exact double. */
const SAFE_SEC = Math.floor(Number.MAX_SAFE_INTEGER / NSEC_PER_SEC) - 1;
const BIG_NS = 1_000_000_000n;

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
