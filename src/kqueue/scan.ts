/**
 * kqueue_scan (kern_event.c): a kevent call's harvest of its kqueue's
 * pending queue, under the kqueue lock, and the one place the kernel turns
 * a knote into a kevent_t for user code. How many entries one call looks at
 * and why a knote re-queued by the scan is not returned twice in that call
 * is in kern.ts's header (Concurrency).
 */
import { I32, F64 } from '../kern/kmem.js';
import { kstat_add } from '../kern/kstat.js';
import { kn_setdata, KO, QO, KNS } from './knote.js';
import * as filter from './filter.js';
import { filter_ops, type kevent_t } from './filter.js';
import * as consts from './consts.js';
import * as kern from './kern.js';
import { queue_append, knote_detach_and_drop } from './kern.js';

// Offsets and status bits as compile-time constants (knote.ts KO: number
// literals, which V8's inlining budget counts least); module-local copies of
// the other bits and the queue the scan loop uses: optimised code reads an
// imported binding through its module cell, with a hole check, on every use
// (and an imported object's fields with it), and a local const is folded in.
const PENDQ = kern.PENDQ, C_EVENTS = kern.C_EVENTS;
const EV_ONESHOT = consts.EV_ONESHOT, EV_CLEAR = consts.EV_CLEAR, EV_DISPATCH = consts.EV_DISPATCH;
const EVENT_PROCESS = filter.EVENT_PROCESS;

/**
 * kqueue_scan: takes up to `max` events off the pending queue into `out`
 * (kqueue lock held). Returns how many it added.
 *
 * The common knote (reported, then re-armed by EV_CLEAR / EV_DISPATCH or
 * left queued) costs a few loads and stores of its own struct and one
 * object for the caller; the rare ones (disabled, drained, oneshot) take
 * the general path below.
 */
export function kqueue_scan(kq: number, max: number, out: kevent_t[]): number {
  const m = I32, f = F64; // the live bindings, read once (each read reloads them and their bounds)
  let total = 0;
  // The entries queued now; re-queued knotes go behind them and wait for the next call.
  let left = m[kq + QO.count]!;
  while (total < max && left-- > 0) {
    const kn = PENDQ.remove_head(kq);
    if (kn === 0) break;
    m[kq + QO.count] = m[kq + QO.count]! - 1;
    const st = m[kn + KO.status]!;
    if ((st & KNS.DISABLED) !== 0) {
      // Disabled: off the queue but still active, so enabling re-queues it.
      m[kn + KO.status] = st & ~KNS.QUEUED;
      continue;
    }
    const ops = filter_ops(m[kn + KO.filter]!)!;
    if ((m[kn + KO.flags]! & EV_ONESHOT) === 0 && !ops.event(kn, 0)) {
      // The event went away (level-triggered source drained): not reported.
      m[kn + KO.status] = st & ~(KNS.QUEUED | KNS.ACTIVE);
      continue;
    }
    // The knote as a kevent (kn_kevent), read after the filter's event():
    // the one place the kernel makes a kevent_t for user code.
    const ev: kevent_t = {
      ident: num(f[(kn + KO.ident) >> 1]!), filter: m[kn + KO.filter]!, flags: m[kn + KO.flags]! & 0xffff,
      fflags: m[kn + KO.fflags]! >>> 0, data: num(f[(kn + KO.data) >> 1]!), udata: num(f[(kn + KO.udata) >> 1]!),
    };
    if (ops.touch !== undefined) ops.touch(kn, ev, EVENT_PROCESS);
    out.push(ev);
    total++;
    // What it becomes: the EV_CLEAR knote (the common edge-triggered one) here, the rest in scan_rearm.
    const fl = m[kn + KO.flags]!;
    if ((fl & (EV_ONESHOT | EV_CLEAR | EV_DISPATCH)) === EV_CLEAR) {
      f[(kn + KO.data) >> 1] = 0;
      m[kn + KO.fflags] = 0;
      m[kn + KO.status] = m[kn + KO.status]! & ~(KNS.QUEUED | KNS.ACTIVE);
    } else {
      scan_rearm(kq, kn);
    }
  }
  if (total !== 0) kstat_add(C_EVENTS, total);
  return total;
}

/** What a reported knote becomes (kqueue_scan; kqueue lock held, knote off the queue). */
function scan_rearm(kq: number, kn: number): void {
  const m = I32;
  const st = m[kn + KO.status]!;
  const fl = m[kn + KO.flags]!;
  if ((fl & EV_ONESHOT) !== 0) {
    m[kn + KO.status] = st & ~KNS.QUEUED;
    knote_detach_and_drop(kn);
  } else if ((fl & (EV_CLEAR | EV_DISPATCH)) !== 0) {
    if ((fl & EV_CLEAR) !== 0) { kn_setdata(kn, 0); m[kn + KO.fflags] = 0; }
    m[kn + KO.status] = (fl & EV_DISPATCH) !== 0 ? (st | KNS.DISABLED) & ~(KNS.QUEUED | KNS.ACTIVE) : st & ~(KNS.QUEUED | KNS.ACTIVE);
  } else {
    queue_append(kq, kn);
  }
}

/**
 * A double from kernel memory as user code should get it: a small integer
 * as an int32 value. A Float64Array load is a heap-allocated number in V8,
 * and storing one into an object makes that field a boxed double for every
 * object of the same shape, the caller's own kevent_t objects included.
 */
function num(x: number): number {
  const i = x | 0;
  return i === x && (i !== 0 || 1 / x > 0) ? i : x;
}
