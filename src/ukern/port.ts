/**
 * The idiomatic layer over event ports: a `Port` class. Every method is one
 * `ukern/sys` call. The class layer's convention (ukern/waitopts.ts): the
 * plain name returns a Promise and the blocking form ends in `Sync`
 * (`get`/`getSync`, `getn`/`getnSync`); `timeout` in ms and `signal` in
 * every wait's options, one rule everywhere; a `get` that times out rejects
 * (throws) with port_get's ETIME, a `getn` resolves with what arrived.
 */
import {
  port_create, port_send, port_sendn, port_alert, port_get, port_getn, port_get_async, port_getn_async,
  port_associate, port_dissociate, SysError, PORT_ALERT_SET, PORT_SOURCE_ALERT, PORT_SOURCE_FD, PORT_SOURCE_FILE,
  FILE_NOFOLLOW, type port_event_t, type file_obj_t,
} from '../sys/index.js';
import {
  copyin_fields, copyin_array, copyin_fault, arg_type, port_send_wait, port_post_value, port_post_wait, port_post_many, port_post_many_wait,
  msg_encode, msg_encode_many, msg_inbox_pick, msg_channel_open, PORT_SOURCE_MSG,
} from '../sys/ext.js';
import { wait_options, timeout_timespec, abort_check, type WaitOptions } from './waitopts.js';
import { Descriptor } from './descriptor.js';
import { int_arg, num_arg, bool_opt, signal_opt, INT32_MIN, INT32_MAX, UINT32_MAX } from './args.js';
import { step_iterator, more, end } from './iter.js';
import { resolve_target, type OsTarget } from './ostarget.js';
import { statSync, lstatSync } from 'node:fs';

export type { port_event_t };
export { PORT_SOURCE_MSG };

/**
 * What the class's gets return: a port_event_t; a message event
 * (portev_source PORT_SOURCE_MSG, portev_events its serialized length) also
 * carries its value as `message`, or the reason it could not be decoded as
 * `error`.
 */
export type PortEvent = port_event_t & { message?: unknown; error?: Error };

// Listen for SharedArrayBuffers from the start (msg-codec.ts): a message may
// name one that was announced before this thread first receives.
msg_channel_open();

/** Options of the message iterator. */
export interface PortMessagesOptions {
  /** Aborting rejects the pending step with an AbortError. */
  signal?: AbortSignal;
}

/**
 * Options of a get: `timeout` in ms and `signal` (ukern/waitopts.ts). The
 * Promise forms end a pending wait at the signal's abort with an
 * AbortError; the Sync forms only check it before waiting.
 */
export type PortGetOptions = WaitOptions;

/** Options of `new Port(options)`. */
export interface PortOptions {
  /** Wrap this existing port descriptor instead of creating a port. */
  fd?: number;
  /** false: the port's waits do not keep the process alive (as unref()). */
  ref?: boolean;
}

/** Options of the event iterator. */
export interface PortEventsOptions {
  /** Aborting rejects the pending step with an AbortError. */
  signal?: AbortSignal;
  /** End the iteration at an alert event instead of yielding it (default true). */
  stopOnAlert?: boolean;
}

/** getn's counts: integers, 1 <= nget <= max (a negative count would be a huge uint in C: never a wait for ever). */
function getn_args(max: unknown, nget: unknown): void {
  const m = int_arg(max, 'max', 'Port.getn', 1, UINT32_MAX);
  int_arg(nget, 'nget', 'Port.getn', 0, m);
}

/** Attaches a taken message event's value (or the reason it cannot be had) to it. */
function decode_event(ev: PortEvent): void {
  if (!msg_inbox_pick(ev.portev_object, ev)) ev.error = new SysError('EIO', 'port_receive', 'message not in this thread\'s inbox (dropped after a sys-layer take)');
}

/** Decodes the message events of a batch (a scan for the rare source). */
function decode_events<T extends port_event_t[]>(evs: T): T {
  for (let i = 0; i < evs.length; i++) if (evs[i]!.portev_source === PORT_SOURCE_MSG) decode_event(evs[i]!);
  return evs;
}

/** What receive() gives for an event: a message's value (its error thrown), else the event itself. */
function event_value(ev: PortEvent): unknown {
  if (ev.portev_source !== PORT_SOURCE_MSG) return ev;
  if (ev.error !== undefined) throw ev.error;
  return ev.message;
}

/** A file_obj_t for `path` with its times now (lstat with FILE_NOFOLLOW). */
function file_obj_now(path: string, nofollow: boolean): file_obj_t {
  const st = (nofollow ? lstatSync : statSync)(path, { bigint: true });
  const ts = (ns: bigint): { tv_sec: number; tv_nsec: number } => ({ tv_sec: Number(ns / 1_000_000_000n), tv_nsec: Number(ns % 1_000_000_000n) });
  return { fo_name: path, fo_atime: ts(st.atimeNs), fo_mtime: ts(st.mtimeNs), fo_ctime: ts(st.ctimeNs) };
}

/** An existing port descriptor to wrap: EBADF / EBADFD when it is not an open port. */
function port_wrap(fd: unknown): number {
  const n = int_arg(fd, 'fd', 'Port', 0, Number.MAX_SAFE_INTEGER);
  port_getn(n, 0, 0); // a port? (counts its events, takes none)
  return n;
}

/** A zero timeout: take what is queued, never wait. */
const POLL = Object.freeze({ tv_sec: 0, tv_nsec: 0 });

function closedError(e: unknown): boolean {
  return e instanceof SysError && (e.code === 'EBADF' || e.code === 'EBADFD');
}

/** An illumos event port. */
export class Port extends Descriptor implements AsyncIterable<PortEvent> {

  /**
   * Creates a port, or wraps an existing port descriptor (e.g. one passed
   * to an LWP): EBADF / EBADFD when `fd` is not an open port.
   */
  constructor(fd?: number | PortOptions) {
    const o: PortOptions = typeof fd === 'object' && fd !== null ? copyin_fields(fd, ['fd', 'ref'], 'options', 'Port') as PortOptions : { fd: fd as number | undefined };
    const ref = bool_opt(o.ref, 'options.ref', 'Port');
    super(o.fd === undefined ? port_create() : port_wrap(o.fd), ref !== false);
  }

  /**
   * Sends a PORT_SOURCE_USER event (`events` an int32, `user` any finite
   * number), waiting for room while the port holds port_max_events events:
   * the sender sleeps until getters have freed a quarter of the port
   * (ports/room.ts; hysteresis, as a stream's 'drain'), never polls. Rejects with port_send's EAGAIN when the timeout passes first,
   * with an AbortError when the signal aborts.
   */
  async send(events = 0, user = 0, opts?: WaitOptions): Promise<void> {
    const ev = int_arg(events, 'events', 'Port.send', INT32_MIN, INT32_MAX), u = num_arg(user, 'user', 'Port.send');
    const o = wait_options(opts, 'port_send');
    abort_check(o.signal);
    await this.hold(() => port_send_wait(this.fd, ev, u, o));
  }

  /** Sends at once (port_send): EAGAIN when the port is full. */
  sendSync(events = 0, user = 0): void {
    port_send(this.fd, int_arg(events, 'events', 'Port.send', INT32_MIN, INT32_MAX), num_arg(user, 'user', 'Port.send'));
  }

  /** Sends one user event to several ports; returns the error code per port (null where sent). */
  static sendAll(ports: readonly Port[], events = 0, user = 0): (string | null)[] {
    // The event words are checked as sendSync checks them (not left to port_sendn's EINVAL).
    const ev = int_arg(events, 'events', 'Port.sendAll', INT32_MIN, INT32_MAX), u = num_arg(user, 'user', 'Port.sendAll');
    // Ports only, all checked before anything is sent (an element that is
    // none was the engine's TypeError, or a silent EBADF).
    const fds = copyin_array(ports, 'ports', 'Port.sendAll').map((p, i) => {
      if (!(p instanceof Port)) arg_type('Port.sendAll', `ports[${i}] must be a Port, got ${p === null ? 'null' : typeof p}`);
      return p.fd;
    });
    const errors: (string | null)[] = [];
    port_sendn(fds, ev, u, errors);
    return errors;
  }

  /** Retrieves one event without blocking the event loop; rejects with ETIME when the timeout passes. */
  async get(opts?: PortGetOptions): Promise<PortEvent> {
    const evs = await this.#getn(1, 1, opts, true);
    if (evs.length === 0) throw new SysError('ETIME', 'port_get'); // as the blocking port_get
    return evs[0]!; // (decoded by #getn)
  }

  /** Retrieves one event, blocking the calling thread; throws ETIME when the timeout passes. */
  getSync(opts?: PortGetOptions): PortEvent {
    const o = wait_options(opts, 'port_get');
    abort_check(o.signal);
    const ev = port_get(this.fd, timeout_timespec(o.timeout));
    if (ev.portev_source === PORT_SOURCE_MSG) decode_event(ev);
    return ev;
  }

  /** Retrieves at least `nget` (default 1) and at most `max` events without blocking the event loop; fewer when the timeout passes. */
  getn(max: number, nget = 1, opts?: PortGetOptions): Promise<PortEvent[]> {
    try { getn_args(max, nget); } catch (e) { return Promise.reject(e); }
    return this.#getn(max, nget, opts, false);
  }

  /** The blocking form of {@link getn}. */
  getnSync(max: number, nget = 1, opts?: PortGetOptions): PortEvent[] {
    getn_args(max, nget);
    const o = wait_options(opts, 'port_getn');
    abort_check(o.signal);
    return decode_events(port_getn(this.fd, max, nget, timeout_timespec(o.timeout)));
  }

  async #getn(max: number, nget: number, opts: PortGetOptions | undefined, one: boolean): Promise<PortEvent[]> {
    const o = wait_options(opts, one ? 'port_get' : 'port_getn');
    abort_check(o.signal);
    const ts = timeout_timespec(o.timeout), signal = o.signal;
    return decode_events(await this.hold(async () =>
      one ? [await port_get_async(this.fd, ts, { signal })] : port_getn_async(this.fd, max, nget, ts, { signal })));
  }

  /**
   * Posts a structured message: any structured-cloneable `value` (objects,
   * strings, typed arrays, Maps, Dates, ...; SharedArrayBuffers and views
   * over them are shared, not copied), serialized into the kernel's message
   * arena and queued as one event, in FIFO order with `send`'s events.
   * Waits for room while the arena or the port is full (as {@link send}:
   * woken when room is made, never polling); rejects with EAGAIN when the
   * timeout passes first, with an AbortError when the signal aborts. A
   * value that cannot be cloned is a DataCloneError; one larger than the
   * arena can ever hold a RangeError (ERR_OUT_OF_RANGE). A receiver that
   * has not seen a SharedArrayBuffer of the message yet gets it from a
   * thread that holds it, waiting up to 2 s for one to answer (a holder
   * answers from its event loop, or from inside a synchronous kernel call
   * it is blocked in, such as `waitSync`; not while it waits outside the
   * kernel or runs JavaScript that never returns); EIO when none does.
   */
  async post(value: unknown, opts?: WaitOptions): Promise<void> {
    const o = wait_options(opts, 'port_post');
    abort_check(o.signal);
    const bytes = msg_encode(value);
    await this.hold(() => port_post_wait(this.fd, bytes, o));
  }

  /** Posts at once: EAGAIN when the message arena or the port is full. */
  postSync(value: unknown): void {
    port_post_value(this.fd, value);
  }

  /**
   * Posts the messages `values` in order, as {@link post} each, but with the
   * kernel entries of one message: the batch is queued as one run of events
   * (one hold of the arena lock and one of the port lock, one wake-up of a
   * getter). Every value is serialized before anything is queued, so a value
   * that cannot be cloned (DataCloneError) queues none of them. When the
   * arena or the port has room for only part of the batch, that part is
   * queued and the rest waits for room (so a batch larger than the room is
   * queued as several runs, other senders' events possibly between them);
   * the timeout and the signal end the wait as for {@link post}, leaving
   * what was queued queued: the error's `posted` says how many of `values`
   * were (the first `posted`; 0 when none).
   */
  async postMany(values: readonly unknown[], opts?: WaitOptions): Promise<void> {
    const o = wait_options(opts, 'port_post');
    abort_check(o.signal);
    const { bytes, ends } = msg_encode_many(copyin_array(values, 'values', 'Port.postMany'));
    await this.hold(() => port_post_many_wait(this.fd, bytes, ends, o));
  }

  /**
   * Posts as many of `values` as there is room for now, in order, as one run
   * of events (see {@link postMany}); returns how many were queued (the
   * caller posts the rest later). EAGAIN when not even the first fits.
   */
  postManySync(values: readonly unknown[]): number {
    const { bytes, ends } = msg_encode_many(copyin_array(values, 'values', 'Port.postMany'));
    return port_post_many(this.fd, bytes, ends);
  }

  /**
   * Takes the next event without blocking the event loop: a message's value,
   * or, when the next event is a plain one (send, a timer, an alert), its
   * port_event_t, so that nothing is skipped. Rejects with ETIME when the
   * timeout passes, with an AbortError when the signal aborts.
   */
  async receive(opts?: PortGetOptions): Promise<unknown> {
    return event_value(await this.get(opts));
  }

  /** The blocking form of {@link receive}. */
  receiveSync(opts?: PortGetOptions): unknown {
    return event_value(this.getSync(opts));
  }

  /**
   * PORT_SOURCE_FD: one event when `target` — a descriptor, a socket, a
   * FileHandle (ukern/ostarget.ts) — is ready for `events` (POLLIN, POLLOUT,
   * ...; POLLHUP, POLLERR and POLLNVAL come unasked). One-shot: associate
   * again after each event (that replaces events and user). Returns the
   * descriptor, the events' portev_object.
   */
  associate(target: OsTarget, events: number, opts: { user?: number } = {}): number {
    const o = copyin_fields(opts, ['user'], 'options', 'Port.associate');
    const fd = resolve_target(target, 'fd', 'Port.associate').ident;
    port_associate(this.fd, PORT_SOURCE_FD, fd, int_arg(events, 'events', 'Port.associate', INT32_MIN, INT32_MAX),
      o.user === undefined ? 0 : num_arg(o.user, 'options.user', 'Port.associate'));
    return fd;
  }

  /**
   * PORT_SOURCE_FILE: one event when the file is accessed, modified or its
   * attributes change (FILE_ACCESS / FILE_MODIFIED / FILE_ATTRIB in
   * `events`; FILE_DELETE, FILE_RENAME_* and UNMOUNTED come unasked).
   * `file` is a path (its times now are the baseline) or a file_obj_t whose
   * times are compared with the file's at once (illumos: a difference is an
   * event now). One-shot. Returns the file_obj_t associated: the events'
   * portev_object in this thread, and what {@link dissociate} takes.
   */
  watchFile(file: string | file_obj_t, events: number, opts: { user?: number } = {}): file_obj_t {
    const o = copyin_fields(opts, ['user'], 'options', 'Port.watchFile');
    const ev = int_arg(events, 'events', 'Port.watchFile', INT32_MIN, INT32_MAX);
    const fobj = typeof file === 'string' ? file_obj_now(file, (ev & FILE_NOFOLLOW) !== 0) : file;
    port_associate(this.fd, PORT_SOURCE_FILE, fobj, ev, o.user === undefined ? 0 : num_arg(o.user, 'options.user', 'Port.watchFile'));
    return fobj;
  }

  /** Ends an association made by {@link associate} (a descriptor, socket, FileHandle) or {@link watchFile} (its file_obj_t): ENOENT when there is none. */
  dissociate(target: OsTarget | file_obj_t): void {
    let file = false;
    try { file = typeof target === 'object' && target !== null && 'fo_name' in target; } catch (e) { copyin_fault(e, target, 'target', 'Port.dissociate', true); }
    if (file) { port_dissociate(this.fd, PORT_SOURCE_FILE, target as file_obj_t); return; }
    port_dissociate(this.fd, PORT_SOURCE_FD, resolve_target(target, 'fd', 'Port.dissociate').ident);
  }

  /**
   * The values of messages as they come (plain events as their
   * port_event_t, as {@link receive}); ends when the port is closed or at an
   * alert. One event is taken per step: leaving the loop loses nothing.
   * Options are checked at the call; `return()` ends it as {@link events}'.
   */
  messages(opts: PortMessagesOptions = {}): AsyncGenerator<unknown, void, undefined> {
    const r = copyin_fields(opts, ['signal'], 'options', 'Port.messages');
    const signal = signal_opt(r.signal, 'options.signal', 'Port.messages');
    return step_iterator(async (sig) => {
      const s = await this.#step(sig, true);
      return s.done === true ? s : more(event_value(s.value));
    }, signal);
  }

  /** Puts the port in alert mode: every getter gets one alert event until {@link unalert}. */
  alert(events: number, user = 0, flags = PORT_ALERT_SET): void {
    // The event words as sendSync checks them; flags are port_alert's to judge (EINVAL).
    port_alert(this.fd, flags, int_arg(events, 'events', 'Port.alert', INT32_MIN, INT32_MAX), num_arg(user, 'user', 'Port.alert'));
  }
  /** Leaves alert mode. */
  unalert(): void { port_alert(this.fd, 0, 0, 0); }

  /** Number of events queued now. */
  get pending(): number { return port_getn(this.fd, 0, 0).nget; }

  /**
   * Events as they come; ends when the port is closed or at an alert (unless
   * stopOnAlert is false); the signal's abort rejects the pending step with
   * an AbortError. It takes from the port no more than it yields (one event
   * per get), so leaving the loop early leaves every other event queued.
   * Options are checked at the call (ERR_INVALID_ARG_TYPE), as Node's
   * `events.on` checks them, not at the first step. `return()` with a step
   * pending ends that step at once, as `events.on`'s (ukern/iter.ts): it
   * resolves with the event its get had taken, or done, the event left queued.
   */
  events(opts: PortEventsOptions = {}): AsyncGenerator<PortEvent, void, undefined> {
    const r = copyin_fields(opts, ['signal', 'stopOnAlert'], 'options', 'Port.events');
    const signal = signal_opt(r.signal, 'options.signal', 'Port.events');
    const stopOnAlert = bool_opt(r.stopOnAlert, 'options.stopOnAlert', 'Port.events') ?? true;
    return step_iterator((sig) => this.#step(sig, stopOnAlert), signal);
  }

  /** One step of the iterators: the next event, or done when the port is closed (or at an alert, with stopOnAlert). */
  async #step(signal: AbortSignal, stopOnAlert: boolean): Promise<IteratorResult<PortEvent, void>> {
    let ev: PortEvent;
    try {
      ev = this.#poll(signal) ?? await this.get({ signal });
    } catch (e) {
      if (closedError(e)) return end();
      throw e;
    }
    return ev.portev_source === PORT_SOURCE_ALERT && stopOnAlert ? end() : more(ev);
  }

  /**
   * The iterators' step when an event is queued already: one synchronous
   * take of one event (port_getn's fast path, no timeout), not the Promise
   * form's sleep machinery, which costs several microseconds even when it
   * need not wait. Undefined when none is queued (then the step waits).
   */
  #poll(signal: AbortSignal): PortEvent | undefined {
    abort_check(signal);
    const evs = port_getn(this.fd, 1, 1, POLL);
    return evs.length === 0 ? undefined : decode_events(evs)[0];
  }

  [Symbol.asyncIterator](): AsyncGenerator<PortEvent, void, undefined> { return this.events(); }

}
