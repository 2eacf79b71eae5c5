/**
 * The descriptor table's notify hook (installed at load): readiness changes
 * of watched descriptors run the watching knotes' filters, and closing a
 * descriptor drops them. Called with no lock held, so it can take each
 * watching kqueue's lock before the file's, as the lock order wants.
 */
import { I32 } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { FF, file_set_notify_hook } from '../kern/fdtab.js';
import { K } from './knote.js';
import { WATCHQ } from './watch.js';
import { kq_tryref, kq_lock, kq_unlock, kq_rele, knote_event, knote_detach_and_drop } from './kern.js';

/**
 * Runs kq's knotes on `file` (their filters, or drops them when it is being
 * closed). Takes kq's lock, then the file's; releases both in finally: the
 * filters are kernel code and do not throw, but a lock must never leak.
 */
function visit(kq: number, file: number, closing: boolean): void {
  const drop: number[] = [];
  kq_lock(kq);
  try {
    mutex_enter(file + FF.lock);
    try {
      for (let kn = WATCHQ.head(file); kn !== 0; kn = WATCHQ.after(kn)) {
        if (I32[kn + K.kq] !== kq) continue;
        if (closing) drop.push(kn); else knote_event(kn, 0);
      }
    } finally {
      mutex_exit(file + FF.lock);
    }
    for (const kn of drop) knote_detach_and_drop(kn);
  } finally {
    kq_unlock(kq);
    kq_rele(kq);
  }
}

/**
 * The descriptor table's notify hook: a watched descriptor's readiness
 * changed (run the watching knotes' filters) or it is being closed (drop
 * them, as the seed's knote_fdclose). Called with no lock held.
 */
function on_file_notify(file: number, _fd: number): void {
  const closing = I32[file + FF.closing] !== 0;
  for (let pass = 0; ; pass++) {
    // Which kqueues watch it: take a reference on each under the file lock,
    // then visit each with its own lock first, as the lock order wants.
    const kqs: number[] = [];
    mutex_enter(file + FF.lock);
    for (let kn = WATCHQ.head(file); kn !== 0; kn = WATCHQ.after(kn)) {
      const kq = I32[kn + K.kq];
      if (!kqs.includes(kq) && kq_tryref(kq)) kqs.push(kq);
    }
    mutex_exit(file + FF.lock);
    if (kqs.length === 0) return;
    for (const kq of kqs) visit(kq, file, closing);
    if (!closing) return;
    // Closing: loop until the list is empty (a knote added by a kqueue we
    // had not listed yet is impossible once `closing` is set, but a kqueue
    // whose reference we could not take may still be dropping its own).
    if (pass > 1000) return;
  }
}
file_set_notify_hook(on_file_notify);
