/**
 * Retrieval: taking events off a port's queue and turning them into
 * port_event_t objects.
 *
 * The seed moves the port queue to a temporary queue before it copies the
 * events out, because the queue mutex is taken by every event source that
 * delivers an event, and the copy-out runs the sources' callbacks, which may
 * take long: holding the queue mutex across them would block every sender.
 * We keep that reason and a simpler shape: under the port lock a getter
 * detaches just the events it may return (up to `max`) as its own private
 * list, drops the lock, runs callbacks and builds the result objects with
 * no lock held, then takes the lock once more to give back what it could
 * not deliver (denied events, at the head, in order) and to return slots.
 * Several getters can thus deliver at once, each from its own list; an
 * event is on at most one list, so it is delivered once.
 */
import { I32 } from '../kern/kmem.js';
import { kstat_add } from '../kern/kstat.js';
import { mutex_enter } from '../kern/mutex.js';
import {
  P, E, kevents, portLock, portIdWord, kevObject, kevUser,
  ST_RESERVED, ST_QUEUED, ST_TAKEN, ST_DELIVERING, SF_CANCEL, SF_FREEPEND, SF_REQUEUE,
  KF_CALLBACK, C_DELIVERED,
} from './mem.js';
import { PORT_ALLOC_CACHED, PORT_ALLOC_SCACHED, PORT_CALLBACK_DEFAULT } from './consts.js';
import { enqueue_locked, wake_check_locked, port_exit, port_readable_notify } from './queue.js';
import { port_source_ops, type PortDelivery } from './source.js';
import type { port_event_t } from './types.js';

const KEEP = PORT_ALLOC_CACHED | PORT_ALLOC_SCACHED;

/** One reusable delivery record per thread (callbacks must not keep it). */
const dctx: { -readonly [K in keyof PortDelivery]: PortDelivery[K] } = {
  slot: 0, port: 0, source: 0, object: 0, user: 0, arg: 0, flag: PORT_CALLBACK_DEFAULT, events: 0,
};

/** Result of {@link take_locked}: events appended to `out`, and how many were denied by their sources. */
export interface TakeResult { taken: number; denied: number }

/**
 * Takes up to `max` events from port h into `out`. Called and returns with
 * the port lock held; drops it in between. The caller counts itself in
 * thrcnt, which keeps the port struct alive meanwhile.
 */
export function take_locked(h: number, max: number, out: port_event_t[]): TakeResult {
  // 1. Detach the first `max` events as a private list.
  const first = I32[h + P.head]!;
  if (first === 0) return { taken: 0, denied: 0 };
  let last = first, n = 1;
  Atomics.store(I32, first + E.st, ST_TAKEN);
  while (n < max) {
    const nx = I32[last + E.next]!;
    if (nx === 0) break;
    Atomics.store(I32, nx + E.st, ST_TAKEN);
    last = nx; n++;
  }
  const rest = I32[last + E.next]!;
  I32[h + P.head] = rest;
  if (rest === 0) I32[h + P.tail] = 0; else I32[rest + E.prev] = 0;
  I32[last + E.next] = 0;
  Atomics.store(I32, h + P.nent, I32[h + P.nent]! - n);
  port_exit(h);

  // 2. Deliver with no lock held.
  const fd = Atomics.load(I32, portIdWord(h));
  let taken = 0, freed = 0;
  let denyHead = 0, denyTail = 0, denied = 0;
  let requeue = 0, cancelled = 0;
  let s = first;
  while (s !== 0) {
    const next = I32[s + E.next]!;
    const flags = I32[s + E.flags]!;
    const src = I32[s + E.source]!;
    let events = I32[s + E.events]!;
    // Read everything before the slot can be freed (and reused by another thread).
    const object = kevObject(s), user = kevUser(s);
    let ok = true;
    if (flags & KF_CALLBACK) {
      const ops = port_source_ops(src);
      if (ops?.deliver !== undefined) {
        const v = Atomics.compareExchange(I32, s + E.st, ST_TAKEN, ST_DELIVERING);
        if (v === ST_TAKEN) {
          dctx.slot = s; dctx.port = fd; dctx.source = src; dctx.object = object;
          dctx.user = user; dctx.arg = I32[s + E.arg]!; dctx.events = events;
          try { ok = ops.deliver(dctx) !== false; } catch (e) {
            process.emitWarning(`port source ${ops.name}: deliver callback threw: ${String(e)}`);
          }
          events = dctx.events | 0;
        }
      }
    }
    // Finish: one compare-and-swap decides against a concurrent withdraw / free / re-send.
    for (;;) {
      const v = Atomics.load(I32, s + E.st);
      if (v & SF_CANCEL) {
        // Withdrawn while we held it: not delivered.
        if (v & SF_FREEPEND) {
          if (Atomics.compareExchange(I32, s + E.st, v, 0) !== v) continue;
          kevents.free(s); freed++;
        } else {
          if (Atomics.compareExchange(I32, s + E.st, v, ST_RESERVED) !== v) continue;
        }
        cancelled++;
        break;
      }
      if (!ok) {
        if (Atomics.compareExchange(I32, s + E.st, v, ST_TAKEN) !== v) continue;
        I32[s + E.next] = 0;
        if (denyTail === 0) denyHead = s; else I32[denyTail + E.next] = s;
        denyTail = s; denied++;
        break;
      }
      if ((flags & KEEP) === 0) {
        if (Atomics.compareExchange(I32, s + E.st, v, 0) !== v) continue;
        kevents.free(s); freed++;
      } else if (v & SF_REQUEUE) {
        // Sent again while its callback ran: queue it again (below, under the lock).
        if (Atomics.compareExchange(I32, s + E.st, v, ST_TAKEN) !== v) continue;
        I32[s + E.next] = requeue; requeue = s;
      } else {
        if (Atomics.compareExchange(I32, s + E.st, v, ST_RESERVED) !== v) continue;
      }
      out.push({ portev_events: events, portev_source: src, portev_object: object, portev_user: user });
      taken++;
      break;
    }
    s = next;
  }
  void cancelled;

  // 3. Give back what was not delivered; wake the next waiter if events remain.
  mutex_enter(portLock(h));
  I32[h + P.curr] = I32[h + P.curr]! - freed;
  let becameReadable = false;
  if (denyHead !== 0) {
    // Denied events go back to the head, in order. A withdraw may have come
    // while they were off the queue: only live ones are linked again.
    let chainHead = 0, chainTail = 0, live = 0;
    for (let d = denyHead; d !== 0;) {
      const nx = I32[d + E.next]!;
      const v = Atomics.load(I32, d + E.st);
      if (v & SF_CANCEL) {
        if (v & SF_FREEPEND) { Atomics.store(I32, d + E.st, 0); kevents.free(d); I32[h + P.curr]!--; }
        else Atomics.store(I32, d + E.st, ST_RESERVED);
      } else {
        Atomics.store(I32, d + E.st, ST_QUEUED);
        I32[d + E.prev] = chainTail; I32[d + E.next] = 0;
        if (chainTail === 0) chainHead = d; else I32[chainTail + E.next] = d;
        chainTail = d; live++;
      }
      d = nx;
    }
    if (live > 0) {
      const head = I32[h + P.head]!;
      I32[chainTail + E.next] = head;
      if (head === 0) I32[h + P.tail] = chainTail; else I32[head + E.prev] = chainTail;
      I32[h + P.head] = chainHead;
      const was = I32[h + P.nent]!;
      Atomics.store(I32, h + P.nent, was + live);
      becameReadable = was === 0;
    }
  }
  while (requeue !== 0) {
    const r = requeue;
    requeue = I32[r + E.next]!;
    const v = Atomics.load(I32, r + E.st);
    if (v & SF_CANCEL) {
      if (v & SF_FREEPEND) { Atomics.store(I32, r + E.st, 0); kevents.free(r); I32[h + P.curr]!--; }
      else Atomics.store(I32, r + E.st, ST_RESERVED);
      continue;
    }
    if (enqueue_locked(h, r)) becameReadable = true;
  }
  if (I32[h + P.nent]! > 0 && I32[h + P.wqh] !== 0) wake_check_locked(h);
  if (taken > 0) kstat_add(C_DELIVERED, taken);
  if (becameReadable) {
    // Notify without the port lock, then take it back for the caller.
    port_exit(h);
    port_readable_notify(h);
    mutex_enter(portLock(h));
  }
  return { taken, denied };
}
