/**
 * Clock backends, as timer.c's clock_backend_t: each clock says how to read,
 * set and report the resolution of itself, whether timers may use it, and the
 * sigevent a null evp means. Timers run on two time lines:
 *
 *  - the kernel's monotonic nanoseconds since boot (`mono_now()`, identical in
 *    every thread), for CLOCK_MONOTONIC/HIGHRES and CLOCK_REALTIME. ukern's
 *    CLOCK_REALTIME is the boot-time wall clock plus monotonic time, so it can
 *    never step; a realtime deadline is converted to monotonic once, exactly,
 *    when the timer is armed;
 *  - the manual clock (CLOCK_MANUAL), kept exactly in kernel memory as a
 *    timespec (so it reads back to the nanosecond anywhere in the 64-bit
 *    range), that only moves when a program sets it forward; its timers
 *    fire inside that call.
 *
 * Every time a clock holds or a timer is armed for lies within a signed
 * 64-bit count of nanoseconds (kern/time.ts TIME_SEC_MAX). Time-line values are
 * doubles: deadlines round up and clock readings down (kern/time.ts), so a
 * timer is never early, even where a double has no nanoseconds left.
 *
 * CPU-time clocks can be read but carry no timers (EINVAL from timer_create,
 * as illumos's clock_process.c and clock_thread.c).
 */
import { SIGALRM } from '../signals/consts.js';
import { I32, F64, kregion_create } from '../kern/kmem.js';
import { fail } from '../kern/errno.js';
import { copyin_i32 } from '../kern/copyin.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mono_now, get_epoch, get_real_at_boot, NSEC_PER_SEC, type Timespec, type TimespecCopy } from '../kern/time.js';
import { readFileSync } from 'node:fs';
import {
  host_clock_ns, host_clock_res_ns, thread_user_ns, LINUX_CLOCK_PROCESS_CPUTIME_ID, LINUX_CLOCK_THREAD_CPUTIME_ID,
} from './ffi.js';
import {
  __CLOCK_REALTIME0, CLOCK_VIRTUAL, CLOCK_THREAD_CPUTIME_ID, CLOCK_REALTIME, CLOCK_MONOTONIC,
  CLOCK_PROCESS_CPUTIME_ID, CLOCK_MANUAL, SIGEV_SIGNAL,
} from './consts.js';
import { ns_up, ns_down, big_up, ts_of_ns, ts_add, ts_less, ts_beyond_max, TIME_MAX } from '../kern/time.js';
import { mutex_class } from '../kern/lockdebug.js';

/** Time lines timers run on. */
export const TL_MONO = 0, TL_MANUAL = 1;

/*
 * The manual clock's region. Its value is kept exactly, as the two fields of
 * a timespec (a double of nanoseconds loses tv_nsec beyond 2^53 ns), plus its
 * value on the time line (a double rounded down) for the callouts. Writers
 * serialize on the lock word and bracket their stores with a sequence count
 * (odd while writing), so a reader in any thread takes a consistent copy
 * without a lock: callout_run reads the time line under the heap lock.
 */
const MC_LOCK = 0, MC_SEQ = 1, MC_LINE = 2 /* f64 */, MC_SEC = 4 /* f64 */, MC_NSEC = 6;
const clockRegion = kregion_create('clock', () => 8);
mutex_class('clock', clockRegion, { skip: MC_LOCK, words: 1 });
function mw(off: number): number { return clockRegion.base + off; }

/**
 * The manual clock's value on its time line: rounded down (a deadline rounds
 * up, so a timer is never early; beyond 2^53 ns it may be late by less than
 * a double's step, 1024 ns at most). At the very top of the range it rounds
 * up instead: no time lies beyond, so every deadline is due there.
 */
function manual_line(t: TimespecCopy): number {
  return ts_less(t, TIME_MAX) ? ns_down(t.tv_sec, t.tv_nsec) : ns_up(t.tv_sec, t.tv_nsec);
}

/** The manual clock now on its time line, ns. */
export function manual_now(): number { return F64[mw(MC_LINE) >> 1]!; }

/** The manual clock now, exactly (a consistent copy, whoever writes). */
function manual_ts(): TimespecCopy {
  for (;;) {
    const q = Atomics.load(I32, mw(MC_SEQ));
    if ((q & 1) === 0) {
      const t = { tv_sec: F64[mw(MC_SEC) >> 1]!, tv_nsec: I32[mw(MC_NSEC)]! };
      if (Atomics.load(I32, mw(MC_SEQ)) === q) return t;
    }
  }
}

/**
 * Moves the manual clock to `t` (absolute) or by `t` (advance). EINVAL when
 * that would move it back, EOVERFLOW when an advance would carry it beyond
 * the largest time a clock holds. The caller has validated `t`; nothing here
 * throws with the lock held: the new value is computed and judged first.
 */
export function manual_set(t: TimespecCopy, advance: boolean, syscall: string): void {
  const L = mw(MC_LOCK);
  mutex_enter(L);
  const old = { tv_sec: F64[mw(MC_SEC) >> 1]!, tv_nsec: I32[mw(MC_NSEC)]! };
  const nt = advance ? ts_add(old, t) : t;
  const err = ts_beyond_max(nt) ? 'EOVERFLOW' : ts_less(nt, old) ? 'EINVAL' : undefined;
  if (err === undefined) {
    Atomics.add(I32, mw(MC_SEQ), 1);
    F64[mw(MC_SEC) >> 1] = nt.tv_sec;
    I32[mw(MC_NSEC)] = nt.tv_nsec;
    F64[mw(MC_LINE) >> 1] = manual_line(nt);
    Atomics.add(I32, mw(MC_SEQ), 1);
  }
  mutex_exit(L);
  if (err === 'EOVERFLOW') fail(err, syscall, 'CLOCK_MANUAL cannot pass the largest 64-bit time');
  if (err === 'EINVAL') fail(err, syscall, 'CLOCK_MANUAL never goes back');
}

/** A clock backend. */
export interface ClockBackend {
  readonly name: string;
  /** Current value as an exact timespec. */
  gettime(): Timespec;
  /** Honest resolution, ns. */
  resNs(): number;
  /** Which time line timers on this clock use; undefined: no timers (EINVAL). */
  readonly timeline?: number;
  /**
   * The time-line deadline (ns, rounded up: never early) of a validated
   * it_value, absolute or relative to now; undefined when a relative expiry
   * would pass the largest time the clock holds (EOVERFLOW).
   */
  deadline?(v: TimespecCopy, abs: boolean): number | undefined;
  /** Settable by this process (else EPERM). */
  readonly settable: boolean;
}

const BIG_NS = 1_000_000_000n;
function big_to_ts(ns: bigint): Timespec {
  let s = ns / BIG_NS, n = ns % BIG_NS;
  if (n < 0n) { n += BIG_NS; s -= 1n; }
  return { tv_sec: Number(s), tv_nsec: Number(n) };
}
function num_to_ts(ns: number): Timespec { return ts_of_ns(ns); }
/** Boot wall-clock time as an exact integer (the double every thread shares). */
function real_at_boot_big(): bigint { return BigInt(Math.round(get_real_at_boot())); }

/** Below this many seconds a relative value plus the monotonic line stays an exact double. */
const REL_FAST_SEC = 1 << 22;

/**
 * A relative deadline on the monotonic line: `now` is the clock's reading
 * at the same instant (for the range check).
 */
function mono_rel_deadline(v: TimespecCopy, now: () => Timespec): number | undefined {
  if (v.tv_sec < REL_FAST_SEC) return mono_now() + v.tv_sec * NSEC_PER_SEC + v.tv_nsec;
  if (ts_beyond_max(ts_add(now(), v))) return undefined;
  return big_up(BigInt(mono_now()) + BigInt(v.tv_sec) * BIG_NS + BigInt(v.tv_nsec));
}

const realtime: ClockBackend = {
  name: 'CLOCK_REALTIME',
  // BigInt keeps every nanosecond: as a double, today's time since 1970 in ns has 256 ns steps.
  gettime: () => big_to_ts(real_at_boot_big() + (process.hrtime.bigint() - get_epoch())),
  resNs: () => 1,
  timeline: TL_MONO,
  deadline: (v, abs) => abs
    ? big_up(BigInt(v.tv_sec) * BIG_NS + BigInt(v.tv_nsec) - real_at_boot_big())
    : mono_rel_deadline(v, realtime.gettime),
  settable: false,
};

const monotonic: ClockBackend = {
  name: 'CLOCK_MONOTONIC',
  gettime: () => big_to_ts(process.hrtime.bigint() - get_epoch()),
  resNs: () => 1,
  timeline: TL_MONO,
  deadline: (v, abs) => abs ? ns_up(v.tv_sec, v.tv_nsec) : mono_rel_deadline(v, monotonic.gettime),
  settable: false,
};

const manual: ClockBackend = {
  name: 'CLOCK_MANUAL',
  gettime: manual_ts,
  resNs: () => 1,
  timeline: TL_MANUAL,
  deadline: (v, abs) => {
    const t = abs ? v : ts_add(manual_ts(), v);
    return ts_beyond_max(t) ? undefined : ns_up(t.tv_sec, t.tv_nsec);
  },
  settable: true,
};

// --- CPU-time clocks. With koffi they are the host's clocks (1 ns); without it,
// the process clock is process.cpuUsage() (1 µs) and the thread clocks read
// /proc/thread-self/stat (USER_HZ ticks: 10 ms). Node 20 has no threadCpuUsage.

/** utime, stime of the calling thread in ns from /proc (USER_HZ = 100 on Linux), or undefined. */
function proc_thread_times(): [number, number] | undefined {
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

function no_clock(name: string): never { fail('EINVAL', 'clock_gettime', `${name} cannot be read on this host`); }

const processCpu: ClockBackend = {
  name: 'CLOCK_PROCESS_CPUTIME_ID',
  gettime: () => {
    const ns = host_clock_ns(LINUX_CLOCK_PROCESS_CPUTIME_ID);
    if (ns >= 0) return num_to_ts(ns);
    const u = process.cpuUsage();
    return num_to_ts((u.user + u.system) * 1000);
  },
  resNs: () => { const r = host_clock_res_ns(LINUX_CLOCK_PROCESS_CPUTIME_ID); return r > 0 ? r : 1000; },
  settable: false,
};

const threadCpu: ClockBackend = {
  name: 'CLOCK_THREAD_CPUTIME_ID',
  gettime: () => {
    const ns = host_clock_ns(LINUX_CLOCK_THREAD_CPUTIME_ID);
    if (ns >= 0) return num_to_ts(ns);
    const t = proc_thread_times();
    if (t === undefined) no_clock('CLOCK_THREAD_CPUTIME_ID');
    return num_to_ts(t[0] + t[1]);
  },
  resNs: () => { const r = host_clock_res_ns(LINUX_CLOCK_THREAD_CPUTIME_ID); return r > 0 ? r : TICK_NS; },
  settable: false,
};

const threadUser: ClockBackend = {
  name: 'CLOCK_VIRTUAL',
  gettime: () => {
    const ns = thread_user_ns();
    if (ns >= 0) return num_to_ts(ns);
    const t = proc_thread_times();
    if (t === undefined) no_clock('CLOCK_VIRTUAL');
    return num_to_ts(t[0]);
  },
  resNs: () => (thread_user_ns() >= 0 ? 1000 : TICK_NS),
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

/** The backend of a clock id (a C int), EINVAL for an unknown clock (TypeError for a non-number). */
export function clock_backend(clock_id: unknown, syscall: string): ClockBackend {
  const id = copyin_i32(clock_id, 'clock_id', syscall);
  const b = backends.get(id);
  if (b === undefined) fail('EINVAL', syscall, `unknown clock ${id}`);
  return b;
}

/** The time line's now (ns). */
export function timeline_now(tl: number): number { return tl === TL_MANUAL ? manual_now() : mono_now(); }
