/**
 * The idiomatic layer over event ports: a `Port` class. Thin: every method
 * is one `ukern/sys` call; timeouts are milliseconds, an expired timeout is
 * `null` (get) or a short array (getn) rather than ETIME, and the async
 * forms take an AbortSignal.
 */
import { sysenter } from '../kern/sysent.js';
import { sq_interrupt } from '../kern/sleepq.js';
import { runAsync } from '../kern/sleeprun.js';
import { kstat_snapshot } from '../kern/kstat.js';
import { SysError } from '../kern/errno.js';
import type { Timespec } from '../kern/time.js';
import {
  port_create, port_send, port_sendn, port_alert, port_get, port_getn,
} from './sys.js';
import { close } from '../sys/close.js';
import { getn_gen, countArg, timeout_ms, type GetControl } from './getn.js';
import { copyin_fields, argType } from '../kern/copyin.js';
import { PORT_ALERT_SET, PORT_SOURCE_ALERT } from './consts.js';
import type { port_event_t } from './types.js';

export type { port_event_t } from './types.js';

/** Options of a get: `timeout` in ms (undefined or Infinity: wait forever; 0: poll), and an AbortSignal. */
export interface PortGetOptions {
  timeout?: number;
  /** Async forms: aborting wakes the wait and rejects with the signal's reason. Sync forms only check it before waiting. */
  signal?: AbortSignal;
}

/** Options of the event iterator. */
export interface PortEventsOptions {
  /** Events taken per port_getn (default 64). */
  batch?: number;
  signal?: AbortSignal;
  /** End the iteration at an alert event instead of yielding it (default true). */
  stopOnAlert?: boolean;
}

function msToTimespec(ms: number | undefined): Timespec | null {
  if (ms === undefined || ms === Infinity) return null;
  if (typeof ms !== 'number' || Number.isNaN(ms)) argType('Port', 'timeout must be a number of milliseconds');
  if (ms <= 0) return { tv_sec: 0, tv_nsec: 0 };
  const ns = Math.max(1, Math.round(ms * 1e6));
  return { tv_sec: Math.floor(ns / 1e9), tv_nsec: ns % 1e9 };
}

/** The options of a get, each read once (copy-in), before the kernel is entered. */
function getOpts(o: PortGetOptions, syscall: string): { timeout: number | undefined; signal: AbortSignal | undefined } {
  const r = copyin_fields(o, ['timeout', 'signal'], 'options', syscall);
  return { timeout: r.timeout as number | undefined, signal: r.signal as AbortSignal | undefined };
}

function closedError(e: unknown): boolean {
  return e instanceof SysError && (e.code === 'EBADF' || e.code === 'EBADFD');
}

/** An illumos event port. */
export class Port implements Disposable, AsyncIterable<port_event_t> {
  /** The port's kernel descriptor (usable with ukern/sys and across LWPs). */
  readonly fd: number;
  #closed = false;

  /** Creates a port, or wraps an existing port descriptor (e.g. one passed to an LWP). */
  constructor(fd?: number) {
    this.fd = fd === undefined ? port_create() : fd;
  }

  /** Sends a PORT_SOURCE_USER event. */
  send(events = 0, user = 0): void { port_send(this.fd, events, user); }

  /** Sends one user event to several ports; returns the error code per port (null where sent). */
  static sendAll(ports: readonly Port[], events = 0, user = 0): (string | null)[] {
    const errors: (string | null)[] = [];
    port_sendn(ports.map((p) => p.fd), events, user, errors);
    return errors;
  }

  /** Retrieves one event; null when the timeout expired. Blocks the calling thread. */
  get(opts: PortGetOptions = {}): port_event_t | null {
    const o = getOpts(opts, 'port_get');
    if (o.signal?.aborted) throw o.signal.reason;
    try { return port_get(this.fd, msToTimespec(o.timeout)); } catch (e) {
      if (e instanceof SysError && e.code === 'ETIME') return null;
      throw e;
    }
  }

  /** Retrieves at least `nget` (default 1) and at most `max` events; fewer when the timeout expired. */
  getn(max: number, nget = 1, opts: PortGetOptions = {}): port_event_t[] {
    const o = getOpts(opts, 'port_getn');
    if (o.signal?.aborted) throw o.signal.reason;
    return port_getn(this.fd, max, nget, msToTimespec(o.timeout));
  }

  /** Promise form of {@link get}; does not block the event loop. */
  async getAsync(opts: PortGetOptions = {}): Promise<port_event_t | null> {
    const evs = await this.#getnAsync(1, 1, opts, true);
    return evs[0] ?? null;
  }

  /** Promise form of {@link getn}. */
  getnAsync(max: number, nget = 1, opts: PortGetOptions = {}): Promise<port_event_t[]> {
    return this.#getnAsync(max, nget, opts, false);
  }

  async #getnAsync(max: number, nget: number, opts: PortGetOptions, one: boolean): Promise<port_event_t[]> {
    sysenter();
    const syscall = one ? 'port_get' : 'port_getn';
    const mx = countArg(max, 'max', syscall), ng = countArg(nget, 'nget', syscall);
    const o = getOpts(opts, syscall);
    const tns = timeout_ms(o.timeout);
    const signal = o.signal;
    if (signal?.aborted) throw signal.reason;
    const ctl: GetControl = { sl: 0, aborted: false };
    const onAbort = (): void => {
      ctl.aborted = true;
      ctl.reason = signal?.reason;
      if (ctl.sl !== 0) sq_interrupt(ctl.sl);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await runAsync(getn_gen(this.fd, mx, ng, tns, false, true, syscall, ctl));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Puts the port in alert mode: every getter gets one alert event until {@link unalert}. */
  alert(events: number, user = 0, flags = PORT_ALERT_SET): void { port_alert(this.fd, flags, events, user); }
  /** Leaves alert mode. */
  unalert(): void { port_alert(this.fd, 0, 0, 0); }

  /** Number of events queued now. */
  get pending(): number { return port_getn(this.fd, 0, 0).nget; }

  /**
   * Events as they come, taken in batches; ends when the port is closed, at
   * an alert (unless stopOnAlert is false), or when the signal aborts.
   */
  async *events(opts: PortEventsOptions = {}): AsyncGenerator<port_event_t, void, undefined> {
    const batch = opts.batch ?? 64;
    const stopOnAlert = opts.stopOnAlert ?? true;
    for (;;) {
      let evs: port_event_t[];
      try {
        evs = await this.getnAsync(batch, 1, { signal: opts.signal });
      } catch (e) {
        if (closedError(e) || (opts.signal?.aborted && e === opts.signal.reason)) return;
        throw e;
      }
      for (const ev of evs) {
        if (ev.portev_source === PORT_SOURCE_ALERT && stopOnAlert) return;
        yield ev;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<port_event_t, void, undefined> { return this.events(); }

  /** Closes the port (waiters get EBADFD). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    close(this.fd);
  }
  [Symbol.dispose](): void { this.close(); }

  /** The port kstat counters: ports in use, events sent / delivered, waiters, alerts, ... */
  static stats(): Record<string, number> { return kstat_snapshot('port'); }
}
