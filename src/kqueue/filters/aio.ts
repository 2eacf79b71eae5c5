/**
 * EVFILT_AIO (kern_event.c's aio_filtops; FreeBSD's SIGEV_KEVENT): the
 * knote of an AIO request, ident = its aio_id, udata = sigev_value. Only
 * the kernel makes one, at submission (a user EV_ADD is EINVAL: there is no
 * request behind an ident the user picks), so a kqueue that cannot take it
 * fails the submission (EBADF, ENOMEM), never the completion. It is
 * EV_ONESHOT: the completion (under the aio lock, then this kqueue's) marks
 * it triggered and it is reported once, then dropped; it does not depend
 * on the request afterwards, so aio_return may come before or after the
 * kevent that reports it. A kqueue closed first drops it; the request then
 * completes without an event. A user EV_DELETE before the completion is
 * allowed (the completion then finds no knote). An id whose knote of a
 * collected request is still unread on the kqueue is not reused there: the
 * new request takes another (reserve).
 */
import { I32 } from '../../kern/kmem.js';
import { fail, type ErrnoCode } from '../../kern/errno.js';
import { K, kn_ident } from '../knote.js';
import { filter_register } from '../filter.js';
import { kq_hold, kq_rele, kq_tryref, kq_lock, kq_unlock, knote_fire, knote_detach_and_drop } from '../kern.js';
import { kqueue_register_locked } from '../register.js';
import { kn_lookup } from '../knote.js';
import { EVFILT_AIO, EV_ADD, EV_ENABLE, EV_ONESHOT } from '../consts.js';
import { aio_notify_register, aio_set_notifier, aio_renew_id, aio_req_id, aio_req_knote, aio_req_set_knote } from '../../aio/kapi.js';
import { SIGEV_KEVENT } from '../../aio/consts.js';

let kernelAdd = false;
let attached = 0;

filter_register(EVFILT_AIO, {
  name: 'aio',
  attach(kn) {
    if (!kernelAdd) return 'EINVAL';
    I32[kn + K.hook] = 0;
    attached = kn;
    return 0;
  },
  detach() {},
  event(kn, hint) {
    if (hint === 1) I32[kn + K.hook] = 1;
    return I32[kn + K.hook] !== 0;
  },
});

/** Whether kn is still request id's knote on kq. */
const ours = (kq: number, id: number) => (kn: number): boolean =>
  I32[kn + K.kq] === kq && I32[kn + K.filter] === EVFILT_AIO && kn_ident(kn) === id;

aio_notify_register(SIGEV_KEVENT, {
  reserve(h, _id, c, S) {
    const kq = kq_hold(c.ev.kq, S);
    let err: ErrnoCode | 0 = 'EAGAIN';
    kernelAdd = true;
    attached = 0;
    kq_lock(kq);
    try {
      // An aio_id comes back after 32767 generations of its slot, and the
      // knote of a collected request stays until its event is read: EV_ADD
      // then met that knote and modified it (its udata overwritten, the
      // new request without a knote, two completions reported as one). The
      // request, not published yet, takes its slot's next id instead.
      let id = aio_req_id(h);
      for (let n = 0; n < 32767 && kn_lookup(kq, EVFILT_AIO, id) !== 0; n++) id = aio_renew_id(h);
      if (kn_lookup(kq, EVFILT_AIO, id) === 0) {
        err = kqueue_register_locked(kq, { ident: id, filter: EVFILT_AIO, flags: EV_ADD | EV_ENABLE | EV_ONESHOT, fflags: 0, data: 0, udata: c.ev.value });
      }
    } finally {
      kernelAdd = false;
      kq_unlock(kq);
      kq_rele(kq);
    }
    if (err !== 0) fail(err, S, `sigev_notify_kqueue ${c.ev.kq}`);
    aio_req_set_knote(h, kq, attached);
  },
  unreserve(h) {
    const { kq, kn } = aio_req_knote(h);
    if (kn === 0 || !kq_tryref(kq)) return;
    kq_lock(kq);
    try {
      if (ours(kq, aio_req_id(h))(kn)) knote_detach_and_drop(kn);
    } finally {
      kq_unlock(kq);
      kq_rele(kq);
    }
  },
});

aio_set_notifier(SIGEV_KEVENT, (h) => {
  const { kq, kn } = aio_req_knote(h);
  if (kn !== 0) knote_fire(kn, 1, ours(kq, aio_req_id(h)));
});
