/**
 * EVFILT_TIMER: a periodic (or EV_ONESHOT) timer per knote, driven by a
 * callout that fires in the clock thread (src/timers/callout.ts). `data`
 * is the period in milliseconds, or in the unit a NOTE_SECONDS /
 * NOTE_MSECONDS / NOTE_USECONDS / NOTE_NSECONDS fflag names; NOTE_ABSTIME
 * makes it an absolute CLOCK_REALTIME deadline that fires once. The knote
 * is EV_CLEAR automatically and reports in `data` the expirations since it
 * was last retrieved, counted from elapsed time (a late clock thread makes
 * data larger, never loses expirations). Timer knotes are bounded by
 * kq_calloutmax (ENOMEM beyond), as the seed's kern.kq_calloutmax.
 *
 * A modify stores the new period, which takes effect when the timer next
 * fires (the seed re-arms from kn_sdata at each expiry); one with two units
 * or a negative data is EINVAL, as an add is, and changes nothing.
 */
import { I32, f64_set } from '../../kern/kmem.js';
import { kregion_create } from '../../kern/kmem.js';
import { mono_now, real_now } from '../../kern/time.js';
import { tunables } from '../../kern/boot.js';
import {
  CK_KNOTE, callout_alloc, callout_free, callout_reset, callout_register_kind, callout_demand,
} from '../../timers/kapi.js'; // (which installs the hook that starts the clock thread on first arm)
import { K, kn_aux, kn_setaux, kn_data, kn_setdata, kn_sdata } from '../knote.js';
import { filter_register, EVENT_REGISTER } from '../filter.js';
import { knote_activate, kq_tryref, kq_lock, kq_unlock, kq_rele, defer_after_unlock } from '../kern.js';
import {
  EVFILT_TIMER, EV_CLEAR, EV_ONESHOT, NOTE_SECONDS, NOTE_MSECONDS, NOTE_USECONDS, NOTE_NSECONDS, NOTE_ABSTIME,
} from '../consts.js';

callout_demand((t) => t.kq_calloutmax!);
/** Word 0: timer knotes in existence (the seed's kq_ncallouts). */
const counter = kregion_create('kqtimer', () => 2);

/** A periodic timer never re-arms sooner than this after it fired (its count still covers every period). */
const MIN_REARM_NS = 20_000;

const UNITS = NOTE_SECONDS | NOTE_MSECONDS | NOTE_USECONDS | NOTE_NSECONDS;

/** ns per unit of `data` for these fflags; 0 when more than one unit is named. */
function unit_ns(sf: number): number {
  switch (sf & UNITS) {
    case 0: case NOTE_MSECONDS: return 1e6;
    case NOTE_SECONDS: return 1e9;
    case NOTE_USECONDS: return 1e3;
    case NOTE_NSECONDS: return 1;
    default: return 0;
  }
}

/** Period (ns, 0 for none) and first deadline (kernel monotonic ns) for data/fflags; null when invalid. */
function schedule(data: number, sf: number, oneshot: boolean): { period: number; when: number } | null {
  const u = unit_ns(sf);
  if (u === 0 || !(data >= 0)) return null;
  if ((sf & NOTE_ABSTIME) !== 0) return { period: 0, when: data * u - (real_now() - mono_now()) };
  let period = data * u;
  if (period === 0 && !oneshot) period = u; // a zero period means one unit, as FreeBSD
  return { period: oneshot ? 0 : period, when: mono_now() + period };
}

/** The clock thread's handler: count the expirations, activate, say when to fire next. */
function expire(c: number, kn: number, now: number): number {
  const kq = I32[kn + K.kq];
  if (kq === 0 || !kq_tryref(kq)) return -1;
  kq_lock(kq);
  try {
    // The knote may have been dropped (and its memory reused) while we
    // waited: it still owns this callout only if its hook names it, since
    // a detached timer's callout is freed only after this handler returns.
    if (I32[kn + K.kq] !== kq || I32[kn + K.hook] !== c) return -1;
    const period = kn_aux(kn, 0), due = kn_aux(kn, 1);
    let n = 1, next = -1;
    if (period > 0) {
      n = Math.floor((now - due) / period) + 1;
      const nominal = due + n * period;
      kn_setaux(kn, 1, nominal);
      next = Math.max(nominal, now + MIN_REARM_NS);
    }
    kn_setdata(kn, kn_data(kn) + n);
    knote_activate(kn);
    return next;
  } finally {
    kq_unlock(kq);
    kq_rele(kq);
  }
}
callout_register_kind(CK_KNOTE, expire);

filter_register(EVFILT_TIMER, {
  name: 'timer',
  attach(kn) {
    const sf = I32[kn + K.sfflags] >>> 0;
    const s = schedule(kn_sdata(kn), sf, (I32[kn + K.flags] & EV_ONESHOT) !== 0);
    if (s === null) return 'EINVAL';
    if (Atomics.add(I32, counter.base, 1) >= tunables().kq_calloutmax!) {
      Atomics.sub(I32, counter.base, 1);
      return 'ENOMEM';
    }
    const c = callout_alloc(CK_KNOTE, kn);
    if (c === 0) { Atomics.sub(I32, counter.base, 1); return 'ENOMEM'; }
    I32[kn + K.flags] |= EV_CLEAR;
    I32[kn + K.hook] = c;
    kn_setaux(kn, 0, s.period);
    kn_setaux(kn, 1, s.when);
    callout_reset(c, s.when);
    return 0;
  },
  detach(kn) {
    const c = I32[kn + K.hook];
    if (c === 0) return;
    I32[kn + K.hook] = 0;
    Atomics.sub(I32, counter.base, 1);
    // Freeing waits for a running handler, which may be waiting for the
    // kqueue lock we hold: free once the lock is dropped.
    defer_after_unlock(() => callout_free(c));
  },
  event(kn) { return kn_data(kn) !== 0; },
  touch(kn, kev, type) {
    if (type !== EVENT_REGISTER) return;
    // A modify's data and units are judged as an add's (EINVAL for two
    // units or a negative data, docs/sys.md): refused, it changes nothing.
    const s = schedule(kev.data, kev.fflags >>> 0, (I32[kn + K.flags] & EV_ONESHOT) !== 0);
    if (s === null) return 'EINVAL';
    I32[kn + K.sfflags] = kev.fflags | 0;
    f64_set(kn, K.sdata, kev.data);
    f64_set(kn, K.udata, kev.udata);
    if (s.period > 0) kn_setaux(kn, 0, s.period);
  },
});

/** Timer knotes in existence (for tests and kstat). */
export function timer_knotes(): number { return Atomics.load(I32, counter.base); }
