/**
 * Phase 2 of the general take (take-general.ts) for a source's slot: its
 * deliver callback and the compare-and-swap that settles the slot's fate
 * against a concurrent withdraw, free or re-send (settle_source); the short
 * form for an owned source, whose taken slots nobody else touches
 * (settle_owned: messages); and the end callback an owned source may ask
 * for once per take (take_end: the message arena's blocks go back as one
 * chain). All of it runs in the getter's thread with no port lock held.
 */
import { E, port_id_word, ST_RESERVED, ST_TAKEN, ST_DELIVERING, ST_MASK, SF_CANCEL, SF_FREEPEND, SF_REQUEUE, KF_CALLBACK } from './mem.js';
import { I32, F64 } from '../kern/kmem.js';
import { PORT_ALLOC_CACHED, PORT_ALLOC_SCACHED, PORT_CALLBACK_DEFAULT } from './consts.js';
import { port_source_ops, type PortDelivery, type PortSourceOps } from './source.js';
import { port_event, type port_event_t } from './types.js';

const KEEP = PORT_ALLOC_CACHED | PORT_ALLOC_SCACHED;

/** One reusable delivery record per thread (callbacks must not keep it). */
const dctx: { -readonly [K in keyof PortDelivery]: PortDelivery[K] } = {
  slot: 0, port: 0, source: 0, object: 0, user: 0, arg: 0, flag: PORT_CALLBACK_DEFAULT, events: 0,
};

/** What settle_source decided for a source's slot. */
export const SETTLE_FREE = 1, SETTLE_KEEP = 2, SETTLE_REQUEUE = 3, SETTLE_DENIED = 4, SETTLE_CANCEL_FREE = 5, SETTLE_CANCEL_KEEP = 6;

/**
 * A source's detached slot s (no lock held): runs its deliver callback (a
 * slot marked KF_CALLBACK whose source has one), then one compare-and-swap
 * decides the slot's fate against a concurrent withdraw (SF_CANCEL), free
 * (SF_FREEPEND) or re-send (SF_REQUEUE). Appends the event to `out` when it
 * is delivered. The slot's fields are read before it can be given back.
 */
export function settle_source(h: number, s: number, src: number, out: port_event_t[]): number {
  const m = I32, f = F64;
  let events = m[s + E.events]!;
  const object = f[(s + E.object) >> 1]!, user = f[(s + E.user) >> 1]!;
  const flags = m[s + E.flags]!;
  let ok = true;
  let value = object; // portev_object: a source may give this thread's value for it (ops.object)
  if (flags & KF_CALLBACK) {
    const ops = port_source_ops(src);
    if (ops?.owned === true && (flags & KEEP) === 0) return settle_owned(h, s, src, ops, out);
    if (ops?.object !== undefined) value = ops.object(object) as number;
    if (ops?.deliver !== undefined && Atomics.compareExchange(m, s + E.st, ST_TAKEN, ST_DELIVERING) === ST_TAKEN) {
      const d = dctx;
      d.slot = s; d.port = Atomics.load(m, port_id_word(h)); d.source = src; d.object = object;
      d.user = user; d.arg = m[s + E.arg]!; d.events = events;
      try { ok = ops.deliver(d) !== false; } catch (e) {
        process.emitWarning(`port source ${ops.name}: deliver callback threw: ${String(e)}`);
      }
      events = d.events | 0;
    }
  }
  for (;;) {
    const v = Atomics.load(m, s + E.st);
    if (v & SF_CANCEL) {
      // Withdrawn while we held it: not delivered.
      if (v & SF_FREEPEND) {
        if (Atomics.compareExchange(m, s + E.st, v, 0) !== v) continue;
        freed_wake(m, s, v);
        return SETTLE_CANCEL_FREE;
      }
      if (Atomics.compareExchange(m, s + E.st, v, ST_RESERVED) !== v) continue;
      return SETTLE_CANCEL_KEEP;
    }
    if (!ok) {
      // Denied, and freed by its source meanwhile (port_free_event without
      // cancel): nothing to give back.
      if (v & SF_FREEPEND) {
        if (Atomics.compareExchange(m, s + E.st, v, 0) !== v) continue;
        freed_wake(m, s, v);
        return SETTLE_CANCEL_FREE;
      }
      if (Atomics.compareExchange(m, s + E.st, v, ST_TAKEN) !== v) continue;
      return SETTLE_DENIED;
    }
    let r: number;
    if ((flags & KEEP) === 0 || (v & SF_FREEPEND) !== 0) {
      // (Freed by its source while we delivered it, without withdrawing it:
      // delivered, and the slot is ours to free.)
      if (Atomics.compareExchange(m, s + E.st, v, 0) !== v) continue;
      if (v & SF_FREEPEND) freed_wake(m, s, v);
      r = SETTLE_FREE;
    } else if (v & SF_REQUEUE) {
      // Sent again while its callback ran: queue it again (phase 3, under the lock).
      if (Atomics.compareExchange(m, s + E.st, v, ST_TAKEN) !== v) continue;
      r = SETTLE_REQUEUE;
    } else {
      if (Atomics.compareExchange(m, s + E.st, v, ST_RESERVED) !== v) continue;
      r = SETTLE_KEEP;
    }
    out.push(port_event(events, src, value, user));
    return r;
  }
}

/**
 * The slot's source freed it while its deliver callback ran (state `v`,
 * just left for 0): a port_free_event with `sync` may be waiting for the
 * callback to end before it frees what the callback read (source.ts,
 * await_delivery). Only on that rare path: a notify of nobody still takes
 * V8's process-wide futex-table mutex.
 */
function freed_wake(m: Int32Array, s: number, v: number): void {
  if ((v & ST_MASK) === ST_DELIVERING) Atomics.notify(m, s + E.st);
}

/**
 * settle_source for a slot of an owned source (PortSourceOps.owned: nobody
 * but this getter touches a taken slot of it, so no compare-and-swap): its
 * deliver callback, the event, the slot freed. The source's end callback is
 * due at the end of the take (take_end).
 */
function settle_owned(h: number, s: number, src: number, ops: PortSourceOps, out: port_event_t[]): number {
  const m = I32, f = F64;
  const d = dctx;
  d.slot = s; d.port = Atomics.load(m, port_id_word(h)); d.source = src; d.object = f[(s + E.object) >> 1]!;
  d.user = f[(s + E.user) >> 1]!; d.arg = m[s + E.arg]!; d.events = m[s + E.events]!;
  try { ops.deliver!(d); } catch (e) {
    process.emitWarning(`port source ${ops.name}: deliver callback threw: ${String(e)}`);
  }
  if (ops !== endOps) { take_end(); endOps = ops.end !== undefined ? ops : undefined; }
  m[s + E.st] = 0;
  out.push(port_event(d.events | 0, src, d.object, d.user));
  return SETTLE_FREE;
}

/**
 * Delivers `ev`, an event taken from a lane entry of an owned source
 * (lane-locked.ts: a message), in the retrieving thread with no port lock
 * held, `port` the descriptor it was taken through: its deliver callback
 * (slot 0: the entry had none), as settle_owned does for a slot. The
 * source's end callback is due at the end of the take (take_end). Never
 * throws.
 */
export function settle_lane_source(port: number, ev: port_event_t): void {
  const src = ev.portev_source, ops = port_source_ops(src);
  if (ops?.deliver === undefined) return;
  const d = dctx;
  d.slot = 0; d.port = port; d.source = src; d.object = ev.portev_object;
  d.user = ev.portev_user; d.arg = 0; d.events = ev.portev_events;
  try { ops.deliver(d); } catch (e) {
    process.emitWarning(`port source ${ops.name}: deliver callback threw: ${String(e)}`);
  }
  if (ops !== endOps) { take_end(); endOps = ops.end !== undefined ? ops : undefined; }
  ev.portev_events = d.events | 0;
}

/** The owned source whose end callback is due at the end of this take. */
let endOps: PortSourceOps | undefined;
export function take_end(): void {
  const ops = endOps;
  if (ops === undefined) return;
  endOps = undefined;
  try { ops.end!(); } catch (e) { process.emitWarning(`port source ${ops.name}: end callback threw: ${String(e)}`); }
}
