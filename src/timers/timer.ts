/**
 * The idiomatic layer over POSIX timers: a `Timer` class. Thin: it is one
 * SIGEV_THREAD timer (so expirations arrive on the event loop of the thread
 * that made the Timer) plus a queue for the async iterator. Times are in
 * milliseconds (fractions allowed, kept to the nanosecond).
 *
 *   const t = new Timer({ delay: 1, interval: 1 });       // 1 ms periodic
 *   for await (const { expirations, overrun } of t) { ... } // one item per delivery
 *   t.close();                                            // or `using t = new Timer(...)`
 */
import { kstat_snapshot } from '../kern/kstat.js';
import { sysenter } from '../kern/sysent.js';
import { argType } from '../kern/copyin.js';
import type { Itimerspec, Timespec } from '../kern/time.js';
import { timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete } from './sys.js';
import { CLOCK_MONOTONIC, SIGEV_THREAD, TIMER_ABSTIME } from './consts.js';

/** How a Timer is armed. */
export interface TimerOptions {
  /** First expiry: ms from now, or with `absolute` an absolute time of the clock in ms. 0 with no `absolute`: disarmed. */
  delay: number;
  /** Period in ms after the first expiry; 0 or omitted: once. */
  interval?: number;
  /** `delay` is an absolute time of `clock` (TIMER_ABSTIME): a time already past fires at once. */
  absolute?: boolean;
  /** The clock (default CLOCK_MONOTONIC; CLOCK_REALTIME and CLOCK_MANUAL also carry timers). */
  clock?: number;
  /** Aborting closes the timer and ends its iterators. */
  signal?: AbortSignal;
}

/** One delivery: how many expirations it stands for (1 + overrun). */
export interface TimerExpiry { expirations: number; overrun: number }

function msToTs(ms: number): Timespec {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`Timer: ${ms} ms is not a non-negative finite time`);
  const ns = Math.round(ms * 1e6);
  const s = Math.floor(ns / 1e9);
  return { tv_sec: s, tv_nsec: ns - s * 1e9 };
}

/** A POSIX timer with an async iterator of its expirations. */
export class Timer implements AsyncIterable<TimerExpiry> {
  /** The timer id (timer_t). */
  readonly id: number;
  #closed = false;
  #once: boolean;
  #delivered = 0;
  #queue: TimerExpiry[] = [];
  #waiters: ((r: IteratorResult<TimerExpiry>) => void)[] = [];
  #onAbort?: () => void;
  #signal?: AbortSignal;

  constructor(options: TimerOptions) {
    if (options === null || typeof options !== 'object') argType('Timer', 'options required');
    // One read of each option: a getter cannot answer differently later.
    const o: TimerOptions = {
      delay: options.delay, interval: options.interval, absolute: options.absolute, clock: options.clock, signal: options.signal,
    };
    o.signal?.throwIfAborted();
    this.id = timer_create(o.clock ?? CLOCK_MONOTONIC, {
      sigev_notify: SIGEV_THREAD,
      sigev_notify_function: () => this.#deliver(),
    });
    this.#once = !(o.interval !== undefined && o.interval > 0);
    try {
      this.set(o);
    } catch (e) {
      timer_delete(this.id);
      throw e;
    }
    if (o.signal !== undefined) {
      this.#signal = o.signal;
      this.#onAbort = () => this.close();
      o.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Re-arms (or with delay 0 and not absolute, disarms) the timer; returns the previous setting. */
  set(o: Pick<TimerOptions, 'delay' | 'interval' | 'absolute'>): Itimerspec {
    const delay = o.delay, interval = o.interval, absolute = o.absolute === true; // each read once
    const value: Itimerspec = { it_value: msToTs(delay), it_interval: msToTs(interval ?? 0) };
    if (absolute && value.it_value.tv_sec === 0 && value.it_value.tv_nsec === 0) value.it_value.tv_nsec = 1;
    this.#once = !(interval !== undefined && interval > 0);
    this.#delivered = 0;
    return timer_settime(this.id, absolute ? TIMER_ABSTIME : 0, value);
  }

  /** Disarms without closing (a delivery already made stays in the iterator queue). */
  stop(): void { timer_settime(this.id, 0, { it_value: { tv_sec: 0, tv_nsec: 0 }, it_interval: { tv_sec: 0, tv_nsec: 0 } }); }

  /** Time to the next expiry and the period (timer_gettime). */
  get(): Itimerspec { return timer_gettime(this.id); }

  /** True once closed. */
  get closed(): boolean { return this.#closed; }

  #deliver(): void {
    if (this.#closed) return;
    const overrun = timer_getoverrun(this.id);
    const x: TimerExpiry = { expirations: overrun + 1, overrun };
    const w = this.#waiters.shift();
    if (w !== undefined) w({ value: x, done: false }); else this.#queue.push(x);
    this.#delivered++;
  }

  /** Deletes the timer (timer_delete) and ends its iterators. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    timer_delete(this.id);
    // Deliveries not yet taken go with the timer: an iterator ended by
    // close() or its signal yields nothing more.
    this.#queue.length = 0;
    for (const r of this.#waiters.splice(0)) r({ value: undefined, done: true });
  }
  [Symbol.dispose](): void { this.close(); }

  /** The next delivery (undefined once closed, or after a one-shot's expiry). */
  async next(): Promise<TimerExpiry | undefined> {
    const q = this.#queue.shift();
    if (q !== undefined) return q;
    if (this.#closed) return undefined;
    // A one-shot delivers once per arming; a disarmed one waits until re-armed or closed.
    if (this.#once && this.#delivered > 0 && this.get().it_value.tv_nsec === 0 && this.get().it_value.tv_sec === 0) return undefined;
    const r = await new Promise<IteratorResult<TimerExpiry>>((res) => this.#waiters.push(res));
    return r.done === true ? undefined : r.value;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TimerExpiry> {
    for (;;) {
      const x = await this.next();
      if (x === undefined) return;
      yield x;
      if (this.#once && this.#queue.length === 0) return;
    }
  }

  /** Timer counters (kstat module 'timer'). */
  static stats(): Record<string, number> {
    sysenter();
    return { ...kstat_snapshot('timer'), ...kstat_snapshot('clock') };
  }
}
