/**
 * The idiomatic layer over POSIX timers: a `Timer` class. Thin: it is one
 * SIGEV_THREAD timer (so expirations arrive on the event loop of the thread
 * that made the Timer) plus a queue for the async iterator. Times are in
 * milliseconds (fractions allowed, kept to the nanosecond).
 *
 *   const t = new Timer({ delay: 1, interval: 1 });       // 1 ms periodic
 *   for await (const { expirations, overrun } of t) { ... } // one item per delivery (untaken ones fold)
 *   t.close();                                            // or `using t = new Timer(...)`
 */
import { arg_type, ArgRangeError, AbortError, SysError, copyin_fields, abort_listen, thread_notify_ref, ms_to_ts, on_panic_seen, panic_error } from '../sys/ext.js';
import { wait_options, abort_check, timeout_signal, type WaitOptions } from './waitopts.js';
import { step_iterator, more, end } from './iter.js';
import { bool_opt, int_arg, signal_opt, INT32_MIN, INT32_MAX } from './args.js';
import {
  timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete, clock_gettime,
  CLOCK_MONOTONIC, SIGEV_THREAD, TIMER_ABSTIME, type Itimerspec, type Timespec,
} from '../sys/index.js';

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
  /** false: the armed timer does not keep the process alive (as unref()); default true, as Node's timers. */
  ref?: boolean;
}

/**
 * One delivery: how many expirations it stands for (1 + overrun), and when
 * it was delivered (`time`: the timer's clock, in ms, read at delivery).
 * Deliveries made while one is waiting to be taken fold into it (its
 * expirations and overrun grow, its time is the latest), as a POSIX
 * timer's expirations fold into its pending signal: a Timer nobody reads
 * holds one entry, not one per expiry.
 */
export interface TimerExpiry { expirations: number; overrun: number; time: number }

/** A time option in ms (`name`: which one, for the error) as a timespec. */
function msToTs(ms: unknown, name: string, where: string): Timespec {
  if (typeof ms !== 'number') arg_type(where, `${name} must be a number of ms, got ${typeof ms}`);
  if (!Number.isFinite(ms) || ms < 0) throw new ArgRangeError(where, `${name} must be a non-negative finite number of ms, got ${ms}`);
  const ts = ms_to_ts(ms);
  // Kept to the nanosecond, rounded: a positive time under half a
  // nanosecond is 1 ns, not 0, which would disarm the timer (a delay) or
  // make it a one-shot (an interval) the Timer still iterated as periodic.
  if (ms > 0 && ts.tv_sec === 0 && ts.tv_nsec === 0) ts.tv_nsec = 1;
  return ts;
}

/** A POSIX timer with an async iterator of its expirations. */
export class Timer implements AsyncIterable<TimerExpiry>, Disposable {
  /** The timer id (timer_t). */
  readonly id: number;
  #closed = false;
  #once: boolean;
  #delivered = 0;
  #queue: TimerExpiry[] = [];
  #waiters: ((r: IteratorResult<TimerExpiry>) => void)[] = [];
  #onAbort?: () => void;
  #offAbort?: () => void;
  readonly #clock: number;
  readonly #notify: () => void;
  #ref = true;
  /** The timeouts of pending next() calls: they keep the process alive as this Timer does, ref()/unref() included. */
  readonly #timeouts = new Set<{ setRef(ref: boolean): void }>();

  constructor(options: TimerOptions) {
    if (options === null || typeof options !== 'object') arg_type('Timer', 'options required');
    // One read of each option: a getter cannot answer differently later.
    const o = copyin_fields(options, ['delay', 'interval', 'absolute', 'clock', 'signal', 'ref'], 'options', 'Timer') as TimerOptions;
    signal_opt(o.signal, 'options.signal', 'Timer');
    bool_opt(o.ref, 'options.ref', 'Timer');
    bool_opt(o.absolute, 'options.absolute', 'Timer');
    if (o.signal?.aborted) throw new AbortError(o.signal.reason);
    // A clockid_t, an int: a fraction, NaN or 2**32 was timer_create's EINVAL, not an argument error.
    this.#clock = o.clock === undefined ? CLOCK_MONOTONIC : int_arg(o.clock, 'options.clock', 'Timer', INT32_MIN, INT32_MAX);
    this.#notify = () => this.#deliver();
    this.id = timer_create(this.#clock, {
      sigev_notify: SIGEV_THREAD,
      sigev_notify_function: this.#notify,
    });
    if (o.ref === false) this.unref();
    this.#once = !(o.interval !== undefined && o.interval > 0);
    try {
      this.#set(o, 'Timer');
    } catch (e) {
      timer_delete(this.id);
      if (o.ref === false) thread_notify_ref(this.#notify, true); // forget it, as close() does
      throw e;
    }
    if (o.signal !== undefined) {
      // close() in a listener, where its error has no caller to reach (it
      // was an uncaught exception): timer_delete's EINVAL for an id deleted
      // through ukern/sys first; the Timer is closed either way (close()).
      this.#onAbort = () => {
        try { this.close(); } catch (e) { if (!(e instanceof SysError)) throw e; }
      };
      // The signal's addEventListener is user code: should it throw, the timer goes (no Timer holds it).
      try { this.#offAbort = abort_listen(o.signal, this.#onAbort); } catch (e) { this.#onAbort(); throw e; }
      if (this.#closed) this.#offAbort(); // aborted as it was added: closed already
    }
  }

  /** Re-arms (or with delay 0 and not absolute, disarms) the timer; returns the previous setting. EINVAL once closed. */
  set(o: Pick<TimerOptions, 'delay' | 'interval' | 'absolute'>): Itimerspec { return this.#set(o, 'Timer.set'); }

  /**
   * EINVAL once closed, as timer_delete's id is to the timer calls. Not
   * left to them: ids are reused at once (the lowest free one), so a closed
   * Timer's id may already name another timer, which its set(), stop() and
   * get() re-armed, disarmed and read.
   */
  #open(where: string): void {
    if (this.#closed) throw new SysError('EINVAL', where, `timer ${this.id} is closed`);
  }

  /** set(), its errors naming `where` (the constructor's are the Timer's). */
  #set(o: Pick<TimerOptions, 'delay' | 'interval' | 'absolute'>, where: string): Itimerspec {
    // Each read once (copy-in); not an object is ERR_INVALID_ARG_TYPE, not a TypeError without a code.
    const r = copyin_fields(o, ['delay', 'interval', 'absolute'], 'options', where);
    const delay = r.delay, interval = r.interval as number | undefined, absolute = bool_opt(r.absolute, 'options.absolute', where) === true;
    const value: Itimerspec = { it_value: msToTs(delay, 'options.delay', where), it_interval: msToTs(interval ?? 0, 'options.interval', where) };
    if (absolute && value.it_value.tv_sec === 0 && value.it_value.tv_nsec === 0) value.it_value.tv_nsec = 1;
    this.#open(where); // after the options' getters, which may close it
    this.#once = !(interval !== undefined && interval > 0);
    this.#delivered = 0;
    return timer_settime(this.id, absolute ? TIMER_ABSTIME : 0, value);
  }

  /** Disarms without closing (a delivery already made stays in the iterator queue). EINVAL once closed. */
  stop(): void { this.#open('Timer.stop'); timer_settime(this.id, 0, { it_value: { tv_sec: 0, tv_nsec: 0 }, it_interval: { tv_sec: 0, tv_nsec: 0 } }); }

  /** Time to the next expiry and the period (timer_gettime). EINVAL once closed. */
  get(): Itimerspec { this.#open('Timer.get'); return timer_gettime(this.id); }

  /** True once closed. */
  get closed(): boolean { return this.#closed; }

  /** While armed, the timer keeps the process alive (the default), as a ref'd Node timer does. */
  ref(): this { this.#setRef(true); return this; }
  /** The armed timer no longer keeps the process alive. */
  unref(): this { this.#setRef(false); return this; }

  #setRef(ref: boolean): void {
    this.#ref = ref;
    // A pending next()'s timeout follows (it kept the process alive until it passed, after unref()).
    for (const w of this.#timeouts) w.setRef(ref);
    // After close() the notify function is forgotten: unref() would keep it for ever.
    if (!this.#closed) thread_notify_ref(this.#notify, ref);
  }
  /** Whether the armed timer keeps the process alive. */
  hasRef(): boolean { return this.#ref; }

  #deliver(): void {
    if (this.#closed) return;
    const overrun = timer_getoverrun(this.id);
    const t = clock_gettime(this.#clock);
    const time = t.tv_sec * 1e3 + t.tv_nsec / 1e6;
    const w = this.#waiters.shift();
    if (w !== undefined) w({ value: { expirations: overrun + 1, overrun, time }, done: false });
    else {
      // Nobody waits: a delivery not yet taken takes this one's expirations
      // in, as expirations fold into a pending signal's overrun (POSIX
      // timers). One entry per delivery grew without bound under an
      // interval timer that nobody iterated (a 1 ms timer: 1 000 a second).
      const last = this.#queue.length - 1;
      const n = (last >= 0 ? this.#queue[last]!.expirations : 0) + overrun + 1;
      const x: TimerExpiry = { expirations: n, overrun: n - 1, time };
      if (last >= 0) this.#queue[last] = x; else this.#queue.push(x);
    }
    this.#delivered++;
  }

  /** Deletes the timer (timer_delete) and ends its iterators. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#offAbort?.();
    try {
      timer_delete(this.id);
    } finally {
      // Even when timer_delete fails (the id was deleted through ukern/sys
      // first: its EINVAL is still thrown), the Timer is closed: its pending
      // next() and iterators end rather than wait for ever (a later close()
      // returns at once), and its notify function is forgotten.
      if (!this.#ref) thread_notify_ref(this.#notify, true); // forget it
      // Deliveries not yet taken go with the timer: an iterator ended by
      // close() or its signal yields nothing more.
      this.#queue.length = 0;
      for (const r of this.#waiters.splice(0)) r({ value: undefined, done: true });
    }
  }
  [Symbol.dispose](): void { this.close(); }

  /**
   * The next delivery (undefined once closed, or after a one-shot's expiry).
   * Options as every wait's (ukern/waitopts.ts): a `timeout` that passes
   * first rejects with ETIMEDOUT (0: only a delivery already made), an
   * abort with an AbortError; a delivery that comes later is kept for the
   * next call.
   */
  async next(opts?: WaitOptions): Promise<TimerExpiry | undefined> {
    const { timeout, signal } = wait_options(opts, 'Timer.next');
    abort_check(signal);
    const q = this.#ready();
    if (q !== null) return q;
    if (timeout === 0) throw new SysError('ETIMEDOUT', 'Timer.next', 'no delivery made');
    // The timeout's timer keeps the process alive as this Timer does.
    const w = timeout_signal(timeout, signal, this.#ref);
    this.#timeouts.add(w);
    try {
      const x = await this.#wait(w.signal);
      if (x !== ABORTED) return x;
    } finally {
      this.#timeouts.delete(w);
      w.clear();
    }
    if (signal?.aborted === true) throw new AbortError(signal.reason);
    throw new SysError('ETIMEDOUT', 'Timer.next', `no delivery in ${timeout} ms`);
  }

  /** What a next() gives without waiting: a queued delivery, undefined (ended), or null (it must wait). */
  #ready(): TimerExpiry | undefined | null {
    const q = this.#queue.shift();
    if (q !== undefined) return q;
    if (this.#closed) return undefined;
    // A one-shot delivers once per arming; a disarmed one waits until re-armed or closed.
    if (this.#once && this.#delivered > 0 && this.get().it_value.tv_nsec === 0 && this.get().it_value.tv_sec === 0) return undefined;
    return null;
  }

  /**
   * Waits for the next delivery (undefined: closed meanwhile); ABORTED when
   * `signal` aborts first. A delivery is handed to one waiter, which is
   * taken off the list as it is handed, so an abort after it finds the
   * waiter gone and the delivery stands: none is lost to an abort.
   *
   * A kernel panic rejects it with the panic's EIO (KernelPanicError), as
   * every wait that enters the kernel fails: this one waits for the
   * thread's mailbox pump, which no expiry will wake again (the clock
   * thread may be the one that died), and it never settled.
   */
  #wait(signal: AbortSignal | undefined): Promise<TimerExpiry | undefined | typeof ABORTED> {
    if (signal?.aborted === true) return Promise.resolve(ABORTED);
    return new Promise((res, rej) => {
      let off: (() => void) | undefined;
      const w = (r: IteratorResult<TimerExpiry>): void => {
        off?.();
        forget();
        res(r.done === true ? undefined : r.value);
      };
      /** Takes this waiter off the list; false when it was handed a delivery already. */
      const leave = (): boolean => {
        const i = this.#waiters.indexOf(w);
        if (i < 0) return false;
        this.#waiters.splice(i, 1);
        return true;
      };
      const onAbort = (): void => {
        if (!leave()) return;
        forget();
        res(ABORTED);
      };
      this.#waiters.push(w);
      // A kernel panicked already calls it at once.
      const forget = on_panic_seen(() => {
        if (!leave()) return;
        off?.();
        rej(panic_error('Timer.next'));
      });
      // Last, while still waiting: a signal aborted as the listener is added runs onAbort at once.
      // (The signal's addEventListener is user code: should it throw, this waiter goes.)
      if (signal !== undefined && this.#waiters.includes(w)) {
        try { off = abort_listen(signal, onAbort); } catch (e) { if (leave()) { forget(); rej(e); } }
      }
    });
  }

  /**
   * Deliveries one at a time until closed (or a one-shot's expiry). Leaving
   * the loop early (`break`, `return()`) disarms the timer, as
   * `timers/promises` ends its interval; a signal's abort closes it.
   * `return()` with a step pending ends that step at once (ukern/iter.ts):
   * not at the next expiry, which a far-off or CLOCK_MANUAL timer may
   * never reach.
   */
  [Symbol.asyncIterator](): AsyncGenerator<TimerExpiry, void, undefined> {
    let yielded = false;
    return step_iterator(async (sig) => {
      // A one-shot's iteration ends after its delivery (the queue drained).
      if (yielded && this.#once && this.#queue.length === 0) return end();
      const q = this.#ready();
      const x = q !== null ? q : await this.#wait(sig);
      if (x === undefined || x === ABORTED) return end();
      yielded = true;
      return more(x);
    }, undefined, (early) => { if (early && !this.#closed) this.stop(); });
  }
}

/** What #wait gives when its signal aborted first. */
const ABORTED = Symbol('aborted');
