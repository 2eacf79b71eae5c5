/**
 * EVFILT_SIGNAL (DragonFly's filt_sig*): ident is a signal number; `data`
 * reports how many times the signal was generated for the process since
 * the knote last reported, counted also while the signal is ignored,
 * blocked or coalesced; EV_CLEAR is always set. The knote watches; it
 * takes nothing (the signal is delivered, waited for or discarded as it
 * would be without it).
 *
 * Counting: the signals subsystem keeps one generation counter per signal
 * (signals/kapi.ts sig_generations); a knote keeps in kn_hook the counter's
 * value when it last reported (or was attached), so its data is the
 * difference, and nothing is lost or doubled between a generation and a
 * scan (the scan's touch reads the counter once and moves kn_hook to it).
 *
 * The knotes of signal s are on list s (linked through kn_wnext/kn_wprev:
 * a signal knote is on no descriptor's watch list), guarded by the
 * `sigknote` lock, which comes after the kqueue lock. A generation (called
 * with no lock held) notes each knote on the list with a reference on its
 * kqueue, then runs it under that kqueue's lock alone (below). A watched
 * signal is routed from the host (signals/route.ts).
 */
import { I32, kregion_create, f64_set } from '../../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../../kern/mutex.js';
import { mutex_class } from '../../kern/lockdebug.js';
import { TailQ } from '../../kern/queue.js';
import { K, KNS, kn_setdata, kn_ident } from '../knote.js';
import { filter_register, EVENT_REGISTER, type kevent_t } from '../filter.js';
import { kq_tryref, kq_lock, kq_unlock, kq_rele, knote_activate } from '../kern.js';
import { EVFILT_SIGNAL, EV_CLEAR } from '../consts.js';
import { NSIG } from '../../signals/consts.js';
import { sig_on_generate, sig_generations, sig_watch } from '../../signals/kapi.js';

/** The lock word, then a (head, tail) pair per signal number. */
const sigklists = kregion_create('sigklist', () => 2 + 2 * NSIG);
mutex_class('sigknote', sigklists, { words: 1 });
const lockw = (): number => sigklists.base;
const list = (s: number): number => sigklists.base + 2 + 2 * s;
const SIGQ = new TailQ(0, 1, K.wnext, K.wprev);

const signo_of = (kn: number): number => kn_ident(kn);

/** Generations of s since kn last reported, as its data: true when there are some (kqueue lock held). */
function owed(kn: number, s: number): boolean {
  const d = (sig_generations(s) - I32[kn + K.hook]!) | 0;
  if (d <= 0) return false;
  kn_setdata(kn, d);
  return true;
}

filter_register(EVFILT_SIGNAL, {
  name: 'signal',
  attach(kn) {
    const s = signo_of(kn);
    if (!Number.isInteger(s) || s < 1 || s >= NSIG) return 'EINVAL';
    I32[kn + K.flags] |= EV_CLEAR;
    I32[kn + K.hook] = sig_generations(s);
    mutex_enter(lockw());
    SIGQ.insert_tail(list(s), kn);
    mutex_exit(lockw());
    sig_watch(s, 1);
    return 0;
  },
  detach(kn) {
    const s = signo_of(kn);
    mutex_enter(lockw());
    SIGQ.remove(list(s), kn);
    mutex_exit(lockw());
    sig_watch(s, -1);
  },
  event(kn) { return owed(kn, signo_of(kn)); },
  touch(kn, kev: kevent_t, type) {
    // A modify is the default one (the seed's kqueue_register stores these
    // for every filter but EVFILT_USER): having a touch, this filter is
    // not given it by register.ts, and a re-add's udata was lost. What was
    // counted (kn_hook) stays, as a modify resets nothing that fired.
    if (type === EVENT_REGISTER) {
      I32[kn + K.sfflags] = kev.fflags | 0;
      f64_set(kn, K.sdata, kev.data);
      f64_set(kn, K.udata, kev.udata);
      return;
    }
    const g = sig_generations(signo_of(kn));
    kev.data = (g - I32[kn + K.hook]!) | 0;
    I32[kn + K.hook] = g;
  },
});

/**
 * A generation of s: runs the knotes on list s, each under its kqueue's
 * lock (no lock held on entry). One pass under the list's lock notes each
 * knote with a reference on its kqueue; under that kqueue's lock the knote
 * is run if it is still the one noted (the same kqueue, filter and signal:
 * a knote of s is unique on its kqueue, so a reused one is the same watch),
 * without a second look at the list. A knote attached meanwhile missed
 * nothing: attach reads its baseline before it is listed, and register.ts
 * runs its event once attached, which sees this generation (counted before
 * the hooks run) if the baseline did not.
 */
sig_on_generate((s) => {
  const L = list(s);
  if (SIGQ.empty(L)) return; // a peek: a knote attached after it missed nothing (above)
  const seen: number[] = [];
  mutex_enter(lockw());
  for (let kn = SIGQ.head(L); kn !== 0; kn = SIGQ.after(kn)) {
    const kq = I32[kn + K.kq]!;
    if (kq_tryref(kq)) seen.push(kq, kn);
  }
  mutex_exit(lockw());
  for (let i = 0; i < seen.length; i += 2) {
    const kq = seen[i]!, kn = seen[i + 1]!;
    kq_lock(kq);
    try {
      if (I32[kn + K.kq] === kq && I32[kn + K.filter] === EVFILT_SIGNAL && signo_of(kn) === s &&
          (I32[kn + K.status]! & KNS.DELETING) === 0 && owed(kn, s)) knote_activate(kn);
    } finally {
      kq_unlock(kq);
      kq_rele(kq);
    }
  }
});
