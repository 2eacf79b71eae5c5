/**
 * The event-source interface: how kernel event sources (POSIX timers with
 * SIGEV_PORT, AIO, file descriptors, ...) deliver events through a port.
 * It follows the seed's kernel API (port_alloc_event, port_init_event,
 * port_send_event, port_free_event, port_remove_done_event); slots are
 * handles into kernel memory, so any thread may pass them around.
 *
 * Life of a slot
 *
 *   1. Reserve it when the application asks for notification
 *      (timer_create): `slot = port_alloc_event(portfd, PORT_ALLOC_SCACHED,
 *      PORT_SOURCE_TIMER)`. Reserving is what makes delivery reliable: the
 *      application gets EAGAIN at once, never a lost event later.
 *      EBADF / EBADFD / EAGAIN as port_send would.
 *   2. Fill it in: `port_init_event(slot, object, user, arg, true)`. `arg`
 *      is the source's own word (e.g. the timer id), handed back to its
 *      callbacks; `true` asks for the delivery callback.
 *   3. Queue it when the event happens: `port_send_event(slot)`. A slot is
 *      queued at most once: while it waits to be retrieved, sending it again
 *      returns false and changes nothing (the timer counts an overrun).
 *      It returns true when the slot was queued (or, if its delivery callback
 *      is running right now, re-queued behind that delivery).
 *   4. At retrieval, in the retrieving thread and without any port lock, the
 *      source's `deliver` callback runs (if asked for): it may set
 *      `d.events` (the timer folds its overruns in) and may return false to
 *      deny delivery; a denied event goes back to the head of the queue.
 *      Then a PORT_ALLOC_DEFAULT slot is freed; CACHED / SCACHED slots go
 *      back to the source, reserved, ready for the next port_send_event;
 *      a PORT_ALLOC_PRIVATE slot can never be queued (EINVAL).
 *   5. Withdraw a queued event: `port_remove_done_event(slot)` (timer_delete)
 *      returns true when the event was pending and now will not be delivered,
 *      even if a getter had already taken it off the queue; false when there
 *      was nothing pending.
 *   6. Give the reservation back: `port_free_event(slot)` (withdraws first;
 *      safe in every state, also while a getter is delivering it: the getter
 *      then frees it). Never use the slot afterwards. A source whose deliver
 *      callback reads the object behind `arg` frees with `sync` before it
 *      frees that object (timer_delete): the call then also returns only
 *      once no deliver callback of the slot is running in a getter, so the
 *      object is never freed, and reused, under a callback. Call it holding
 *      no lock that callback takes.
 *
 * Close: when a port is closed, its queued DEFAULT events are discarded,
 * its queued CACHED / SCACHED events return to their sources (reserved),
 * and then every registered source's `closed(portfd)` runs (in the closing
 * thread, no port lock held) so that it can drop its objects bound to that
 * port and free their slots (the seed's timer_close_port). A closed port's
 * struct lives on until its last slot is freed; port_send_event on a slot of
 * a closed port returns false and queues nothing.
 *
 * Callbacks across threads: the code that runs a callback must exist in
 * every thread, so callbacks are registered per source kind at module load
 * (`port_source_register(PORT_SOURCE_TIMER, ops)` at the top level of a
 * module that src/sys/index.ts loads), never stored per slot.
 *
 * Locks: call any of these holding your own object lock (your lock comes
 * before the port lock); the port never calls you holding a port lock, so
 * your callbacks may take your own lock. Do not call port functions from
 * inside a callback on the same slot (the slot is mid-delivery).
 */
import { I32 } from '../kern/kmem.js';
import { fail, KernelAssertionError } from '../kern/errno.js';
import { copyin_int, copyin_user, type FileObjCopy } from '../kern/copyin.js';
import { kstat_add } from '../kern/kstat.js';
import {
  E, P, kevents, port_id_word, kev_set_object, kev_set_user, kev_object, kev_user,
  ST_RESERVED, ST_QUEUED, ST_TAKEN, ST_DELIVERING, ST_MASK, SF_CANCEL, SF_FREEPEND, SF_REQUEUE,
  KF_CALLBACK, PQ_CLOSE, C_DISCARDED,
} from './mem.js';
import { PORT_ALLOC_PRIVATE, PORT_ALLOC_CACHED, PORT_ALLOC_SCACHED, PORT_SOURCE_USER, PORT_SOURCE_ALERT, PORT_SOURCE_TIMER } from './consts.js';
import {
  port_enter, port_exit, port_exit_release, slot_alloc_locked, slot_free_locked,
  enqueue_locked, unlink_locked, port_readable_notify,
} from './queue.js';
import { port_lock } from './mem.js';
import { mutex_enter } from '../kern/mutex.js';
import { cur } from '../kern/hdr.js';
import { kpanic } from '../kern/panic.js';
import { mono_now } from '../kern/time.js';
import { inflight_wait } from '../kern/inflight.js';

/** What a delivery callback sees; it may change `events`. */
export interface PortDelivery {
  /** The slot being delivered. */
  readonly slot: number;
  /** Descriptor of the port it is delivered from. */
  readonly port: number;
  readonly source: number;
  readonly object: number;
  readonly user: number;
  /** The source's word given to port_init_event. */
  readonly arg: number;
  /** PORT_CALLBACK_DEFAULT: a delivery to the application. */
  readonly flag: number;
  /** portev_events as it will be delivered; the callback may update it. */
  events: number;
}

/** What an event source registers for its kind (PORT_SOURCE_*). */
export interface PortSourceOps {
  /** For messages. */
  readonly name: string;
  /**
   * Runs when an event of a slot initialised with `callback = true` is
   * retrieved, in the retrieving thread, no port lock held. Return false to
   * deny delivery (the event stays queued). Must not throw.
   */
  deliver?(d: PortDelivery): boolean;
  /**
   * The source never withdraws, frees or re-sends a slot once it is queued
   * (messages): retrieval then settles its slots without the
   * compare-and-swap protocol, and `deliver` must return true.
   */
  readonly owned?: boolean;
  /**
   * Runs once at the end of a take that delivered events of this source, in
   * the retrieving thread, no port lock held (e.g. to give back in one batch
   * what the deliveries freed). Must not throw.
   */
  end?(): void;
  /** A port was closed: drop what you bound to it and free its slots (timer_close_port). */
  closed?(port: number): void;
  /** port_associate(port, source, object, events, user) for this source; throw SysErrors as its man page says. */
  associate?(port: number, object: number, events: number, user: number): void;
  /** port_dissociate(port, source, object) for this source. */
  dissociate?(port: number, object: number): void;
  /** associate and dissociate when `object` is a struct (PORT_SOURCE_FILE's file_obj_t), given as its kernel copy. */
  associate_obj?(port: number, object: FileObjCopy, events: number, user: number): void;
  dissociate_obj?(port: number, object: FileObjCopy): void;
  /**
   * Optional, with a deliver callback: the value portev_object takes in the
   * retrieving thread for the slot's object word (PORT_SOURCE_FILE: the
   * file_obj_t when this thread associated it).
   */
  object?(object: number): unknown;
}

const sources = new Map<number, PortSourceOps>();

/** Registers the operations of a source kind. Call at module load, in a module every thread loads. */
export function port_source_register(source: number, ops: PortSourceOps): void {
  if (source === PORT_SOURCE_USER || source === PORT_SOURCE_ALERT) throw new KernelAssertionError(`port source ${source} is the port's own`);
  sources.set(source, ops);
}
/** The operations registered for a source kind. */
export function port_source_ops(source: number): PortSourceOps | undefined { return sources.get(source); }
/** Every registered source (close notifications). */
export function port_sources(): IterableIterator<PortSourceOps> { return sources.values(); }

const MODES = PORT_ALLOC_PRIVATE | PORT_ALLOC_CACHED | PORT_ALLOC_SCACHED;

/**
 * Reserves an event slot on the port of descriptor `port` for `source`.
 * `flags` is PORT_ALLOC_DEFAULT, _PRIVATE, _CACHED or _SCACHED. EBADF,
 * EBADFD, EAGAIN (port-max-events or the kernel-wide slots), EINVAL for bad
 * flags, reported under `syscall` (the application call doing the reserving).
 */
export function port_alloc_event(port: number, flags: number, source: number, syscall = 'port_alloc_event'): number {
  copyin_int(flags, 'flags', syscall);
  if ((flags & ~MODES) !== 0 || (flags !== 0 && (flags & (flags - 1)) !== 0)) fail('EINVAL', syscall, `alloc flags ${flags}`);
  const h = port_enter(port, syscall);
  const s = slot_alloc_locked(h, flags, source, syscall);
  if (source === PORT_SOURCE_TIMER) I32[h + P.ntimers]!++; // the deadline-aware wait looks at it (dwait.ts)
  port_exit(h);
  return s;
}

function slot_arg(slot: number, fn: string): number {
  if (typeof slot !== 'number' || kevents.index(slot) < 0 || (Atomics.load(I32, slot + E.st) & ST_MASK) === 0) {
    throw new KernelAssertionError(`${fn}: ${String(slot)} is not a reserved port event slot`);
  }
  return slot;
}

/** Sets the event data of a reserved slot (port_init_event). */
export function port_init_event(slot: number, object: number, user: number, arg = 0, callback = false): void {
  slot_arg(slot, 'port_init_event');
  kev_set_object(slot, copyin_user(object, 'object', 'port_init_event'));
  kev_set_user(slot, copyin_user(user, 'user', 'port_init_event'));
  I32[slot + E.arg] = arg | 0;
  I32[slot + E.flags] = (I32[slot + E.flags]! & ~KF_CALLBACK) | (callback ? KF_CALLBACK : 0);
}

/** Sets portev_events of a slot (port_set_event); a callback may still change it at delivery. */
export function port_set_event(slot: number, events: number): void {
  slot_arg(slot, 'port_set_event');
  I32[slot + E.events] = events | 0;
}

/** Reads back a slot's fields (for sources and tests). */
export function port_event_info(slot: number): { events: number; object: number; user: number; arg: number; source: number; queued: boolean } {
  slot_arg(slot, 'port_event_info');
  const st = Atomics.load(I32, slot + E.st) & ST_MASK;
  return {
    events: I32[slot + E.events]!, object: kev_object(slot), user: kev_user(slot), arg: I32[slot + E.arg]!,
    source: I32[slot + E.source]!, queued: st === ST_QUEUED || st === ST_TAKEN,
  };
}

/** Descriptor of the port a slot belongs to; 0 once that port is closed. */
export function port_event_fd(slot: number): number {
  slot_arg(slot, 'port_event_fd');
  return Atomics.load(I32, port_id_word(I32[slot + E.port]!));
}

/**
 * Queues a reserved slot on its port (port_send_event). At most once: false
 * when the event is already pending (queued, or taken by a getter whose
 * delivery has not reached its callback) or the port is closed; true when
 * it was queued. EINVAL for a PORT_ALLOC_PRIVATE slot.
 */
export function port_send_event(slot: number): boolean {
  slot_arg(slot, 'port_send_event');
  if (I32[slot + E.flags]! & PORT_ALLOC_PRIVATE) fail('EINVAL', 'port_send_event', 'a PORT_ALLOC_PRIVATE slot is never queued');
  const h = I32[slot + E.port]!;
  mutex_enter(port_lock(h));
  if (I32[h + P.flags]! & PQ_CLOSE) { port_exit(h); return false; }
  for (;;) {
    const v = Atomics.load(I32, slot + E.st);
    const st = v & ST_MASK;
    if (st === ST_RESERVED) {
      const tell = enqueue_locked(h, slot); // counts it in events_sent
      port_exit(h);
      if (tell) port_readable_notify(h);
      return true;
    }
    if (st === ST_DELIVERING && (v & (SF_CANCEL | SF_REQUEUE | SF_FREEPEND)) === 0) {
      // Its callback is running or done: queue it again behind this delivery.
      if (Atomics.compareExchange(I32, slot + E.st, v, v | SF_REQUEUE) !== v) continue;
      port_exit(h);
      return true;
    }
    port_exit(h);
    return false;
  }
}

/**
 * Withdraws a pending event (port_remove_done_event; timer_delete). True
 * when it was pending and will now not be delivered; false if nothing was
 * pending. The slot stays reserved.
 */
export function port_remove_done_event(slot: number): boolean {
  slot_arg(slot, 'port_remove_done_event');
  const h = I32[slot + E.port]!;
  mutex_enter(port_lock(h));
  const r = withdraw_locked(h, slot);
  port_exit(h);
  return r;
}

function withdraw_locked(h: number, slot: number): boolean {
  for (;;) {
    const v = Atomics.load(I32, slot + E.st);
    const st = v & ST_MASK;
    if (st === ST_QUEUED) { unlink_locked(h, slot); kstat_add(C_DISCARDED); return true; }
    if ((st === ST_TAKEN || st === ST_DELIVERING) && (v & SF_CANCEL) === 0) {
      if (Atomics.compareExchange(I32, slot + E.st, v, (v | SF_CANCEL) & ~SF_REQUEUE) !== v) continue;
      kstat_add(C_DISCARDED);
      return true;
    }
    return false;
  }
}

/**
 * Gives a slot back (port_free_event): withdraws it if pending, then frees it.
 * `cancel` false: a delivery a getter has under way is not withdrawn but
 * completes, and the getter frees the slot after it (a re-send pending
 * behind it is dropped). For a source whose delivery callback commits
 * something of its own (PORT_SOURCE_FD: the one-shot association ends
 * there), whose slot the getter holds past that callback: withdrawing then
 * would lose an event the source has already counted as retrieved.
 * `sync`: also wait, with no lock held, until a deliver callback of the
 * slot that a getter has started has returned (await_delivery); the caller
 * may then free what the callback reads. No lock may be held.
 */
export function port_free_event(slot: number, cancel = true, sync = false): void {
  slot_arg(slot, 'port_free_event');
  const h = I32[slot + E.port]!;
  mutex_enter(port_lock(h));
  if (I32[slot + E.source] === PORT_SOURCE_TIMER) I32[h + P.ntimers]!--;
  if (cancel || (Atomics.load(I32, slot + E.st) & ST_MASK) === ST_QUEUED) withdraw_locked(h, slot);
  let inflight = 0;
  for (;;) {
    const v = Atomics.load(I32, slot + E.st);
    const st = v & ST_MASK;
    if (st === ST_TAKEN || st === ST_DELIVERING) {
      // A getter holds it: it frees it when it is done.
      const nv = cancel ? v | SF_CANCEL | SF_FREEPEND : (v | SF_FREEPEND) & ~SF_REQUEUE;
      if (Atomics.compareExchange(I32, slot + E.st, v, nv) !== v) continue;
      // ST_TAKEN: its getter's callback can no longer start (settle_source
      // enters ST_DELIVERING only from a bare ST_TAKEN). ST_DELIVERING: it
      // may be running now, and it ends when its getter settles the slot,
      // the only write to the word after ours (nv carries SF_FREEPEND, so
      // no send or withdraw moves it).
      if (sync && st === ST_DELIVERING) inflight = nv;
      break;
    }
    slot_free_locked(h, slot);
    break;
  }
  port_exit_release(h);
  if (inflight !== 0) await_delivery(slot, inflight);
}

/**
 * A delivery this long is not a slow callback (deliver callbacks are short
 * kernel code) but one that will never end: its getter's thread died in it.
 * Waiting on would hang the freeing thread for good.
 */
const DELIVERY_MAX_NS = 5e9;

/**
 * Waits, no lock held, while slot's state word still reads `v` (ST_DELIVERING
 * with SF_FREEPEND, as port_free_event left it): its getter leaves that
 * state by one compare-and-swap after the callback has returned, and wakes
 * us (settle_source). Should the slot be freed and come round to the very
 * same word again before we look, we only wait for that delivery too.
 */
function await_delivery(slot: number, v: number): void {
  if (cur.lwp !== 0 && I32[cur.nlocksw]! !== 0) {
    kpanic(`port_free_event: LWP ${cur.lid} would wait for a delivery of slot ${slot} holding a kernel lock`, 'port_free_event');
  }
  const until = mono_now() + DELIVERY_MAX_NS;
  while (Atomics.load(I32, slot + E.st) === v) {
    inflight_wait(slot + E.st, v, until, 'port_free_event', () => `port_free_event: the delivery of slot ${slot} has not ended in ${DELIVERY_MAX_NS / 1e9} s`);
  }
}
