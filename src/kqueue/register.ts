/**
 * kqueue_register (kern_event.c): one change of a changelist applied to a
 * kqueue, under its lock: look the knote up, attach a new one (EV_ADD),
 * drop one (EV_DELETE), modify one (the filter's touch or the saved
 * fflags/data/udata), then enable or disable it. Apart from kern.ts (the
 * kqueue and knote life cycle, whose rules in its header this follows)
 * because this is where a user's kevent_t meets the knote, and nowhere
 * else but scan.ts turns one into the other.
 */
import { I32, f64_set } from '../kern/kmem.js';
import { fd_file } from '../kern/fdtab.js';
import { type Errno } from '../kern/errno.js';
import { kstat_add } from '../kern/kstat.js';
import { knote_unwatch } from './watch.js';
import { knotes, kn_lookup, kn_hash_insert, KO, QO, KNS } from './knote.js';
import * as filter from './filter.js';
import { filter_ops, type kevent_t, type FilterOps } from './filter.js';
import * as consts from './consts.js';
import { kq_lock, kq_unlock, knote_detach_and_drop, knote_event_ops, knote_enqueue, KNLIST, C_ENOMEM, C_KNOTES, C_KN_INUSE } from './kern.js';

// Offsets and status bits as compile-time constants (knote.ts KO says why);
// module-local copies of the rest (see scan.ts).
const EV_ADD = consts.EV_ADD, EV_DELETE = consts.EV_DELETE, EV_ENABLE = consts.EV_ENABLE, EV_DISABLE = consts.EV_DISABLE;
const EV_SYSFLAGS = consts.EV_SYSFLAGS, EVENT_REGISTER = filter.EVENT_REGISTER;

/**
 * kqueue_register: applies one change. Returns 0 or the errno code of
 * the failure. `kev` is the caller's private copy; as in the seed, it is
 * updated the way the EV_RECEIPT / EV_ERROR entry will report it.
 */
export function kqueue_register(kq: number, kev: kevent_t): Errno {
  kq_lock(kq);
  try {
    return kqueue_register_locked(kq, kev);
  } finally {
    kq_unlock(kq);
  }
}

/**
 * kqueue_register with the kqueue lock held (kevent applies a changelist in
 * chunks under one hold). The change to an existing knote (a trigger, a
 * modify) stays in this function; the rarer ones (a new knote, a delete,
 * an unopened descriptor) are calls, so that V8 can inline the filter's
 * touch and event and the activation into this one.
 */
export function kqueue_register_locked(kq: number, kev: kevent_t): Errno {
  const filter = kev.filter;
  const ops = filter_ops(filter);
  if (ops === undefined) return 'EINVAL';
  kev.flags &= ~EV_SYSFLAGS;
  if (I32[kq + QO.closing] !== 0) return 'EBADF';
  // A descriptor filter checks its descriptor first (the seed's holdfp), so
  // a change naming a closed one is EBADF whatever it asks, EV_DELETE too.
  if (ops.isfd === true && !fd_open(ops, kev.ident)) return 'EBADF';
  let kn = kn_lookup(kq, filter, kev.ident);
  // Its object went behind the kernel's back (an OS descriptor's number reused): absent now.
  if (kn !== 0 && ops.gone !== undefined && ops.gone(kn)) { knote_detach_and_drop(kn); kn = 0; }
  if (kn === 0) return register_new(kq, kev, ops);
  if ((kev.flags & (EV_DELETE | EV_ADD)) === EV_DELETE) { knote_detach_and_drop(kn); return 0; }
  // A change to an existing knote never resets what already fired: the
  // filter's touch applies it, else the default (a call of its own, so a
  // filter with a touch pays no inlining budget for it: knote.ts KO).
  if (ops.touch !== undefined) {
    const err = ops.touch(kn, kev, EVENT_REGISTER);
    if (err !== undefined && err !== 0) return err;
  } else {
    modify(kn, kev);
  }
  // knote_event_ops: the filter says whether the event is present now; then
  // knote_activate, written out: in the trigger's path its call was worth
  // more of V8's inlining budget (knote.ts KO) than its three lines.
  const m = I32;
  if ((m[kn + KO.status]! & KNS.DELETING) === 0 && ops.event(kn, 0)) {
    const st = m[kn + KO.status]! | KNS.ACTIVE;
    m[kn + KO.status] = st;
    if ((st & (KNS.QUEUED | KNS.DISABLED | KNS.DELETING)) === 0) knote_enqueue(kq, kn);
  }
  // Disabling keeps the knote active; enabling queues it again if it is.
  const fl = kev.flags;
  if ((fl & (EV_DISABLE | EV_ENABLE)) !== 0) enable_disable(kq, kn, fl);
  return 0;
}

/** Whether the descriptor a descriptor filter's change names is open. */
function fd_open(ops: FilterOps, ident: number): boolean {
  return ops.isopen !== undefined ? ops.isopen(ident) : fd_file(ident) !== 0;
}

/** EV_ADD of an absent knote (kqueue_register's other half; ENOENT without EV_ADD). */
function register_new(kq: number, kev: kevent_t, ops: FilterOps): Errno {
  if ((kev.flags & EV_ADD) === 0) return 'ENOENT';
  const kn = knotes.alloc();
  if (kn === 0) { kstat_add(C_ENOMEM); return 'ENOMEM'; }
  const err = knote_attach(kq, kn, kev, ops);
  if (err !== 0) return err;
  knote_event_ops(kn, 0, ops);
  const fl = kev.flags;
  if ((fl & (EV_DISABLE | EV_ENABLE)) !== 0) enable_disable(kq, kn, fl);
  return 0;
}

/**
 * Sets up the fresh knote kn for `kev` (EV_ADD of an absent one) and links
 * it in; or frees it and returns the errno that refused it (kqueue lock held).
 */
function knote_attach(kq: number, kn: number, kev: kevent_t, ops: FilterOps): Errno {
  I32[kn + KO.kq] = kq;
  I32[kn + KO.filter] = kev.filter;
  f64_set(kn, KO.ident, kev.ident);
  I32[kn + KO.sfflags] = kev.fflags | 0;
  f64_set(kn, KO.sdata, kev.data);
  kev.fflags = 0; kev.data = 0;
  I32[kn + KO.flags] = kev.flags;
  f64_set(kn, KO.udata, kev.udata);
  const err = ops.attach(kn);
  if (err !== 0) { knote_unwatch(kn); I32[kn + KO.kq] = 0; knotes.free(kn); return err; }
  kn_hash_insert(kn);
  KNLIST.insert_tail(kq, kn);
  I32[kq + QO.nknotes]++;
  kstat_add(C_KNOTES);
  kstat_add(C_KN_INUSE);
  return 0;
}

/** EV_DISABLE / EV_ENABLE of a change (kqueue lock held). */
function enable_disable(kq: number, kn: number, fl: number): void {
  if ((fl & EV_DISABLE) !== 0) I32[kn + KO.status] |= KNS.DISABLED;
  if ((fl & EV_ENABLE) !== 0 && (I32[kn + KO.status]! & KNS.DISABLED) !== 0) {
    const st = I32[kn + KO.status]! & ~KNS.DISABLED;
    I32[kn + KO.status] = st;
    if ((st & KNS.ACTIVE) !== 0 && (st & KNS.QUEUED) === 0) knote_enqueue(kq, kn);
  }
}

/** The default change to an existing knote (a filter without touch): the saved fflags, data and udata. */
function modify(kn: number, kev: kevent_t): void {
  I32[kn + KO.sfflags] = kev.fflags | 0;
  f64_set(kn, KO.sdata, kev.data);
  f64_set(kn, KO.udata, kev.udata);
}
