/**
 * The class layer's wait options, one rule everywhere (Port, KQueue, Lwp,
 * Timer): `timeout` in milliseconds — undefined or Infinity waits for ever,
 * 0 polls, a positive number waits that long; negative, NaN or not a number
 * is an argument error (ERR_OUT_OF_RANGE / ERR_INVALID_ARG_TYPE), never a
 * silent wait for ever — and `signal`, an AbortSignal: aborting ends the
 * wait with an AbortError (code ABORT_ERR, cause the signal's reason), as
 * `timers/promises` and `events.on` do. Options objects are read once, each
 * property once (copy-in), before the kernel is entered.
 *
 * What a wait that times out gives is one rule per kind of call: a call that
 * returns a batch (Port.getn, KQueue.wait) resolves with what arrived,
 * possibly nothing ([]); a call that returns one thing (Port.get, Lwp.park,
 * Lwp.wait, Timer.next) rejects with the SysError its syscall sets (ETIME
 * for ports, ETIMEDOUT for LWPs).
 */
import { copyin_fields, arg_type, ArgRangeError, AbortError, ms_to_ts, ts_add_ms, TIME_SEC_MAX, type Timespec } from '../sys/ext.js';
import { clock_gettime, CLOCK_REALTIME } from '../sys/index.js';
import { signal_opt } from './args.js';

export interface WaitOptions {
  /** Milliseconds: undefined or Infinity waits for ever, 0 polls. */
  timeout?: number;
  /** Aborting ends the wait with an AbortError whose cause is the signal's reason. */
  signal?: AbortSignal;
}

/** Copied-in wait options plus the caller's extra keys. */
export type WaitCopy<K extends string> = { timeout: number | undefined; signal: AbortSignal | undefined } & Record<K, unknown>;

/**
 * Copies in `opts` (undefined: no options): `timeout`, `signal` and `extra`
 * keys, each read once; validates timeout and signal.
 */
export function wait_options<K extends string = never>(opts: unknown, where: string, extra: readonly K[] = []): WaitCopy<K> {
  if (opts === undefined) return { timeout: undefined, signal: undefined } as WaitCopy<K>;
  if (opts === null || typeof opts !== 'object') arg_type(where, 'options must be an object');
  const r = copyin_fields(opts as object, ['timeout', 'signal', ...extra], 'options', where) as Record<string, unknown>;
  const t = r.timeout;
  if (t !== undefined) {
    if (typeof t !== 'number') arg_type(where, `options.timeout must be a number of milliseconds, got ${typeof t}`);
    if (!(t >= 0)) throw new ArgRangeError(where, `options.timeout must be >= 0 (or Infinity), got ${t}`);
  }
  signal_opt(r.signal, 'options.signal', where);
  return r as WaitCopy<K>;
}

/**
 * The longest timeout that is not "for ever": the kernel's clocks hold
 * TIME_SEC_MAX seconds (kern/time.ts), ~292 years. A longer timeout is one
 * no clock can reach, so it waits for ever, as C's sleeping calls take any
 * time_t: as a timespec it failed instead, Number.MAX_VALUE ms with a
 * RangeError that had no code (its nanoseconds are Infinity, no BigInt), and
 * as lwp_park's absolute deadline (past TIME_SEC_MAX from now) with EINVAL.
 */
const FOREVER_MS = TIME_SEC_MAX * 1e3;

/** A relative timespec for a validated timeout (null: for ever). */
export function timeout_timespec(ms: number | undefined): Timespec | null {
  return ms === undefined || ms >= FOREVER_MS ? null : ms_to_ts(ms);
}

/** The absolute CLOCK_REALTIME deadline `ms` from now for a validated timeout (null: for ever): what lwp_park takes. */
export function realtime_deadline(ms: number | undefined): Timespec | null {
  if (ms === undefined || ms >= FOREVER_MS) return null;
  const d = ts_add_ms(clock_gettime(CLOCK_REALTIME), ms);
  return d.tv_sec > TIME_SEC_MAX ? null : d;
}

/** Throws the AbortError of an already-aborted signal. */
export function abort_check(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/** The longest delay a Node timer takes: a longer one fires after 1 ms (with a TimeoutOverflowWarning). */
const TIMER_MAX_MS = 0x7fffffff;

/**
 * The signal a wait that has no timeout of its own is given for a
 * validated class-layer timeout and the caller's signal (lwp_wait, a
 * Timer's next()): for lwp_wait, the wait's sleep alone is interrupted
 * (kern/sleeprun.ts), not the LWP's other sleeps. Our own timer rather than
 * AbortSignal.timeout: that one takes only integers (a fraction, which the
 * rule allows everywhere, was an ERR_OUT_OF_RANGE about a "delay") and
 * fires after 1 ms past 2^31-1 ms (a 35-day wait ended at once); ours
 * rounds up (never shorter than asked), runs a long timeout as a chain of
 * the longest delays, and is cleared when the wait ends. `ref`: whether the
 * timer keeps the process alive — not for lwp_wait, whose own sleep does,
 * as AbortSignal.timeout's is not; `setRef` changes it while the wait is
 * pending (a Timer's ref()/unref()), for the timers of the chain to come too.
 */
export function timeout_signal(timeout: number | undefined, signal: AbortSignal | undefined, ref: boolean): { signal: AbortSignal | undefined; timedOut(): boolean; clear(): void; setRef(ref: boolean): void } {
  if (timeout === undefined || timeout === Infinity) return { signal, timedOut: () => false, clear: () => {}, setRef: () => {} };
  const ac = new AbortController();
  let left = Math.ceil(timeout);
  let t: ReturnType<typeof setTimeout>;
  const arm = (): void => {
    const d = Math.min(left, TIMER_MAX_MS);
    left -= d;
    t = setTimeout(() => { if (left > 0) arm(); else ac.abort(); }, d);
    if (!ref) t.unref();
  };
  arm();
  return {
    signal: signal === undefined ? ac.signal : AbortSignal.any([signal, ac.signal]),
    timedOut: () => ac.signal.aborted,
    clear: () => { clearTimeout(t); },
    setRef: (r: boolean) => { ref = r; if (r) t.ref(); else t.unref(); },
  };
}
