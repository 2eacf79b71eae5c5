/**
 * The idiomatic kqueue: a class over the sys calls with typed options,
 * millisecond timeouts, AbortSignal, an async iterator and Symbol.dispose.
 * Thin: every semantic is kevent's.
 */
// First: a thread must load every kernel module the booting thread did
// (kern/kmem.ts LayoutTable), and every kernel thread loads the whole facade.
import {
  kqueue, kevent, kevent_async, close as sys_close, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE,
  EVFILT_USER, EVFILT_READ, EVFILT_WRITE, EVFILT_EXCEPT, EVFILT_VNODE, EVFILT_PROC, NOTE_TRIGGER, EV_ONESHOT, type kevent_t,
} from '../sys/index.js';
import { SysError, copyin_fields, copyin_array, copyin_instanceof, arg_type, ArgValueError, type Timespec } from '../sys/ext.js';
import { wait_options, timeout_timespec, abort_check, type WaitOptions } from './waitopts.js';
import { Descriptor } from './descriptor.js';
import { int_arg, num_arg, bool_opt, signal_opt, INT32_MIN, INT32_MAX, UINT32_MAX } from './args.js';
import { resolve_target, type OsTarget } from './ostarget.js';
import { step_iterator, more, end } from './iter.js';

export type { OsTarget };

/** What {@link KQueue.watch} watches an OS target for, and the filter it takes. */
export type WatchKind = 'read' | 'write' | 'except' | 'vnode' | 'proc';
const WATCH_FILTERS: Readonly<Record<WatchKind, number>> = {
  read: EVFILT_READ, write: EVFILT_WRITE, except: EVFILT_EXCEPT, vnode: EVFILT_VNODE, proc: EVFILT_PROC,
};

export type { kevent_t };

/** Fields of a change besides ident and filter. */
export interface KEventOptions {
  /** EV_* flags added to the action (EV_CLEAR, EV_ONESHOT, EV_DISPATCH, EV_DISABLE, EV_RECEIPT...). */
  flags?: number;
  fflags?: number;
  data?: number;
  udata?: number;
}

/** Options of {@link KQueue.wait}: the class layer's timeout and signal (ukern/waitopts.ts) and a batch size. */
export interface KQueueWaitOptions extends WaitOptions {
  /** Most events to return (default 64). */
  max?: number;
}

const ZERO = { tv_sec: 0, tv_nsec: 0 };

/** The wait options, each read once (copy-in) before the kernel is entered. */
function waitOpts(opts: KQueueWaitOptions | undefined, where: string): { max: number; ts: Timespec | null; signal: AbortSignal | undefined } {
  const r = wait_options(opts, where, ['max']);
  // kevent's nevents, an int: checked here as every class-layer count is
  // (Port.getn's max), not left to kevent's EINVAL.
  const max = r.max === undefined ? 64 : int_arg(r.max, 'options.max', where, 0, INT32_MAX);
  return { max, ts: timeout_timespec(r.timeout), signal: r.signal };
}

/** A kqueue descriptor with methods. */
export class KQueue extends Descriptor implements AsyncIterable<kevent_t> {

  /**
   * A new kqueue, or (`fd`) one wrapping an existing kqueue descriptor (e.g.
   * one passed to an LWP; EBADF when it is not an open kqueue);
   * `{ ref: false }`: its waits do not keep the process alive (as unref()).
   */
  constructor(options: { fd?: number; ref?: boolean } = {}) {
    const o = copyin_fields(options, ['fd', 'ref'], 'options', 'kqueue');
    super(o.fd === undefined ? kqueue() : kqueue_wrap(o.fd), bool_opt(o.ref, 'options.ref', 'KQueue') !== false);
  }

  /**
   * The filter parameters (fflags, data) this object last gave each knote
   * it registered (`${filter}:${ident}`). kevent, as the seed's
   * kqueue_register, stores a change's fflags and data in an existing knote
   * whatever else the change asks (EV_ENABLE, EV_DISABLE too), so a C
   * program passes them again with every change; enable() and disable()
   * sent zeros, and the knote came back changed: a 100 ms timer then fired
   * every millisecond, a vnode watch had no notes left (it never fired
   * again), a NOTE_LOWAT was gone. So a change that does not give them
   * passes what this object registered; one it never registered gets zeros,
   * as before. Forgotten at delete() and when this object takes an
   * EV_ONESHOT knote's event (the kernel dropped it), so the map holds at
   * most one entry per live knote this object made (and one per ONESHOT
   * knote whose event went elsewhere, until the same knote is made again).
   */
  readonly #params = new Map<string, { fflags: number; data: number }>();

  /** Applies one change; throws its error as a SysError. `remember`: the change (EV_ADD) sets the knote's parameters. */
  #apply(ident: number, filter: number, action: number, opts: KEventOptions = {}, remember = false): void {
    const o = copyin_fields(opts, ['flags', 'fflags', 'data', 'udata'], 'options', 'kevent');
    const where = 'KQueue';
    const flags = o.flags === undefined ? 0 : int_arg(o.flags, 'options.flags', where, 0, 0xffff);
    const id = int_arg(ident, 'ident', where, 0, Number.MAX_SAFE_INTEGER), fl = int_arg(filter, 'filter', where, -0x8000, 0x7fff);
    const key = `${fl}:${id}`;
    const known = remember ? undefined : this.#params.get(key);
    const ev = {
      ident: id, filter: fl,
      flags: action | flags,
      fflags: o.fflags === undefined ? known?.fflags ?? 0 : int_arg(o.fflags, 'options.fflags', where, INT32_MIN, UINT32_MAX),
      data: o.data === undefined ? known?.data ?? 0 : int_arg(o.data, 'options.data', where, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      udata: o.udata === undefined ? 0 : num_arg(o.udata, 'options.udata', where),
    } as kevent_t;
    // With nevents 0 a failing change fails the call with its errno.
    kevent(this.fd, [ev], 0, ZERO);
    if ((ev.flags & EV_DELETE) !== 0) this.#params.delete(key);
    else if (remember || known !== undefined) this.#params.set(key, { fflags: ev.fflags, data: ev.data });
  }

  /** EV_ADD: registers (or, if it exists, modifies) the knote (ident, filter). */
  register(ident: number, filter: number, o?: KEventOptions): void { this.#apply(ident, filter, EV_ADD, o, filter !== EVFILT_USER); }
  /**
   * Changes an existing knote (ENOENT if absent): `flags` are EV_ENABLE /
   * EV_DISABLE / EV_CLEAR..., without EV_ADD; `fflags` and `data` not given
   * stay what this object registered (see #params).
   */
  modify(ident: number, filter: number, o?: KEventOptions): void { this.#apply(ident, filter, 0, o); }
  /** EV_DELETE (of a path's watch too: the descriptor opened for it is closed, as by unwatch()). */
  delete(ident: number, filter: number): void {
    try {
      this.#apply(ident, filter, EV_DELETE);
    } finally {
      // Else it stayed open until close(): one descriptor per deleted path watch.
      if (this.#opened.size > 0 && typeof ident === 'number') this.#swap_opened(`${filter}:${ident}`, -1);
    }
  }
  /** EV_ENABLE: the knote reports again (ENOENT if absent), with the fflags and data this object registered. */
  enable(ident: number, filter: number): void { this.#apply(ident, filter, EV_ENABLE); }
  /** EV_DISABLE: the knote stays registered but reports nothing until enabled (ENOENT if absent); its fflags and data are kept. */
  disable(ident: number, filter: number): void { this.#apply(ident, filter, EV_DISABLE); }
  /** NOTE_TRIGGER on an EVFILT_USER knote, with optional NOTE_FF* fflags and data. */
  trigger(ident: number, fflags = 0, data = 0): void {
    // Checked before the OR, which would coerce a string or wrap a number past 32 bits unseen.
    this.#apply(ident, EVFILT_USER, 0, { fflags: NOTE_TRIGGER | int_arg(fflags, 'fflags', 'KQueue.trigger', INT32_MIN, UINT32_MAX), data });
  }

  /** Descriptors this kqueue opened for paths it watches (`${filter}:${ident}` → fd). */
  readonly #opened = new Map<string, number>();

  /**
   * Registers (EV_ADD) a knote on what a Node program holds — a descriptor
   * number, a socket, a FileHandle, a ChildProcess ('proc'), a path
   * ('vnode': opened read-only here, closed when the watch ends: at
   * unwatch(), close(), or an EV_ONESHOT watch's event this object takes) — for
   * `kind`; options as {@link register} (NOTE_* in `fflags`, NOTE_LOWAT's
   * amount in `data`). Returns the ident the events will carry. Limits:
   * ukern/ostarget.ts (Node reads the sockets it owns: accept with
   * `pauseOnConnect: true` to read one from an LWP).
   */
  watch(target: OsTarget, kind: WatchKind, o?: KEventOptions): number {
    const filter = watch_filter(kind);
    const t = resolve_target(target, kind, 'KQueue.watch');
    try {
      this.register(t.ident, filter, o);
    } catch (e) {
      if (t.opened >= 0) sys_close(t.opened);
      throw e;
    }
    if (t.opened >= 0) this.#swap_opened(`${filter}:${t.ident}`, t.opened);
    return t.ident;
  }

  /** Ends a watch (EV_DELETE) of `target` (or the ident {@link watch} returned), closing what it opened. */
  unwatch(target: OsTarget, kind: WatchKind): void {
    const filter = watch_filter(kind);
    if (typeof target === 'string' || copyin_instanceof(target, URL, 'target', 'KQueue.unwatch', true)) arg_type('KQueue.unwatch', 'a watched path is named by the ident watch() returned');
    const ident = typeof target === 'number' ? target : resolve_target(target, kind, 'KQueue.unwatch', true).ident;
    this.delete(ident, filter); // closes what the watch opened, whatever the delete says
  }

  #swap_opened(key: string, fd: number): void {
    const old = this.#opened.get(key);
    if (fd >= 0) this.#opened.set(key, fd); else this.#opened.delete(key);
    if (old !== undefined && old !== fd) sys_close(old);
  }

  /**
   * close(2), and the descriptors opened for watched paths. Those go even
   * when the kqueue's own close fails (a wrapped descriptor its other owner
   * closed first: EBADF is still thrown), or they would stay open for ever,
   * nothing else knowing them.
   */
  override close(): void {
    try {
      super.close();
    } finally {
      for (const fd of this.#opened.values()) { try { sys_close(fd); } catch { /* closed by the user */ } }
      this.#opened.clear();
    }
  }

  /**
   * Applies changes in order; returns, per change, null or its error code
   * (a failing change does not stop the others). Every entry is copied in
   * first, as kevent copies its changelist: an entry that is not an object
   * with six numeric fields is an ERR_INVALID_ARG_TYPE before any change
   * is applied.
   */
  apply(changes: readonly kevent_t[]): (string | null)[] {
    const copies = copyin_array(changes, 'changes', 'KQueue.apply').map((c, i) => change_copy(c, i));
    return copies.map((c) => {
      try { kevent(this.fd, [c], 0, ZERO); return null; } catch (e) {
        if (e instanceof SysError) return e.code;
        throw e;
      }
    });
  }

  /**
   * Waits for events, blocking the thread (fine in LWPs; blocks the event
   * loop in the main thread); [] when the timeout passes. A signal is only
   * checked before the wait.
   */
  waitSync(opts?: KQueueWaitOptions): kevent_t[] {
    const o = waitOpts(opts, 'kevent');
    abort_check(o.signal);
    return this.#ended_watches(kevent(this.fd, null, o.max, o.ts));
  }

  /**
   * Waits for events without blocking the event loop; resolves [] when the
   * timeout passes; rejects with an AbortError when the signal aborts first
   * (events already taken are returned instead).
   */
  async wait(opts?: KQueueWaitOptions): Promise<kevent_t[]> {
    const o = waitOpts(opts, 'kevent_async');
    abort_check(o.signal);
    return this.#ended_watches(await this.hold(() => kevent_async(this.fd, null, o.max, o.ts, { signal: o.signal })));
  }

  /**
   * A path's watch registered EV_ONESHOT ends at its event (the kernel
   * deletes the knote as it returns it): the descriptor opened for the path
   * is closed then, as at unwatch(). Before, it stayed open until the
   * kqueue was closed, one more per watch a program re-armed after each
   * event. (An event taken through ukern/sys, not through this object,
   * leaves it to unwatch() or close().)
   */
  #ended_watches(evs: kevent_t[]): kevent_t[] {
    if (this.#params.size !== 0) for (const ev of evs) if ((ev.flags & EV_ONESHOT) !== 0) this.#params.delete(`${ev.filter}:${ev.ident}`);
    if (this.#opened.size === 0) return evs;
    for (const ev of evs) {
      if ((ev.flags & EV_ONESHOT) === 0 || ev.filter !== EVFILT_VNODE) continue;
      const key = `${ev.filter}:${ev.ident}`;
      if (this.#opened.get(key) === ev.ident) this.#swap_opened(key, -1);
    }
    return evs;
  }

  /**
   * Events one at a time until the kqueue is closed (then it ends); the
   * signal's abort rejects the pending step with an AbortError. It takes
   * from the kernel no more than it yields (one event per kevent call), so
   * leaving the loop early leaves every other event queued. Options are
   * checked at the call (ERR_INVALID_ARG_TYPE), as Node's `events.on`
   * checks them; `return()` with a step pending ends that step at once, as
   * `events.on`'s (ukern/iter.ts): it resolves with the event its kevent had
   * taken, or done, the event left pending.
   */
  events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<kevent_t, void, undefined> {
    const signal = signal_opt(copyin_fields(opts, ['signal'], 'options', 'KQueue.events').signal, 'options.signal', 'KQueue.events');
    return step_iterator(async (sig) => {
      for (;;) {
        let evs: kevent_t[];
        try {
          evs = await this.wait({ max: 1, signal: sig });
        } catch (e) {
          if (e instanceof SysError && e.code === 'EBADF') return end();
          throw e;
        }
        if (evs.length > 0) return more(evs[0]!);
      }
    }, signal);
  }

  [Symbol.asyncIterator](): AsyncGenerator<kevent_t, void, undefined> { return this.events(); }

}

/** The six fields of changes[i], each read once (no change is applied before every entry is copied). */
function change_copy(c: unknown, i: number): kevent_t {
  const f = copyin_fields(c, ['ident', 'filter', 'flags', 'fflags', 'data', 'udata'], `changes[${i}]`, 'KQueue.apply');
  if (typeof f.ident !== 'number' || typeof f.filter !== 'number' || typeof f.flags !== 'number' ||
      typeof f.fflags !== 'number' || typeof f.data !== 'number' || typeof f.udata !== 'number') {
    arg_type('KQueue.apply', `changes[${i}] needs numeric ident, filter, flags, fflags, data and udata`);
  }
  return f as unknown as kevent_t;
}

function watch_filter(kind: unknown): number {
  const f = typeof kind === 'string' ? (WATCH_FILTERS as Record<string, number | undefined>)[kind] : undefined;
  if (f === undefined) throw new ArgValueError('KQueue.watch', `kind must be one of ${Object.keys(WATCH_FILTERS).join(', ')}, got ${String(kind)}`);
  return f;
}

/** An existing kqueue descriptor to wrap: EBADF when it is not an open kqueue. */
function kqueue_wrap(fd: unknown): number {
  const n = int_arg(fd, 'options.fd', 'KQueue', 0, Number.MAX_SAFE_INTEGER);
  kevent(n, null, 0, ZERO); // a kqueue? (no change, no event taken)
  return n;
}

