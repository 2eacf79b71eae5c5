/**
 * kqueue(2) and kevent(2) under their C names (docs/sys.md), with the
 * constants of sys/event.h. kevent applies the changelist, then collects up
 * to `nevents` events: a change that fails (or carries EV_RECEIPT) is
 * reported at once as an EV_ERROR entry with the positive errno in data, and
 * when no room is left for that entry the call fails with the errno
 * (FreeBSD). An expired timeout returns what is there (possibly nothing).
 */
import { sysenter } from '../kern/sysent.js';
import { fail, AbortError } from '../kern/errno.js';
import { copyin_async_options, type AsyncOptions } from '../kern/copyin.js';
import type { Timespec } from '../kern/time.js';
import { fd_alloc, fd_list, fd_close, fileops_register, DTYPE_KQUEUE } from '../kern/fdtab.js';
import { run_sync, run_async } from '../kern/sleeprun.js';
import { on_proc_exit } from '../kern/proc.js';
import { kqueues, knotes, bytes_per_knote } from './knote.js';
import { kq_alloc, kq_setfd, kq_rele, kq_close, kq_pending, kq_hostfed_hint } from './kern.js';
import { kevent_enter, kevent_wait, kevent_wait_abandon, kevent_wait_unlock } from './kevent.js';
import type { kevent_t } from './filter.js';
import './notify.js';
import './filters/user.js';
import './filters/timer.js';
import './filters/read.js';
import './filters/oswrite.js';
import './filters/sig.js';
import './filters/vnode.js';
import './filters/proc.js';
import { kstat_gauge } from '../kern/kstat.js';
import { timer_knotes } from './filters/timer.js';

export * from './consts.js';
export type { kevent_t } from './filter.js';

fileops_register(DTYPE_KQUEUE, { name: 'kqueue', close: (kq) => kq_close(kq), readable: kq_pending, hostfed: kq_hostfed_hint });

// exit(2) closes every descriptor: kqueues drop their knotes and timers.
on_proc_exit(() => {
  for (const f of fd_list()) if (f.type === DTYPE_KQUEUE) { try { fd_close(f.fd); } catch { /* closed meanwhile */ } }
});

/** EV_SET: a kevent with these fields. */
export function EV_SET(ident: number, filter: number, flags: number, fflags: number, data: number, udata: number): kevent_t {
  return { ident, filter, flags, fflags, data, udata };
}

/** kqueue(2): a new kqueue descriptor (ENOMEM when kq_max kqueues exist, EMFILE when the table is full). */
export function kqueue(): number {
  sysenter();
  const kq = kq_alloc();
  if (kq === 0) fail('ENOMEM', 'kqueue', `kq_max (${kqueues.count}) kqueues open`);
  let fd: number;
  // Bound to its descriptor before the descriptor is published (fd_alloc's
  // init): a close by another LWP in between must find it complete.
  try { fd = fd_alloc(DTYPE_KQUEUE, kq, 'kqueue', (n, file) => kq_setfd(kq, n, file)); } catch (e) { kq_rele(kq); throw e; }
  return fd;
}

/** kevent(2): applies `changelist`, then returns up to `nevents` events, waiting until `timeout` (null: forever). */
export function kevent(kq: number, changelist: readonly kevent_t[] | null, nevents: number, timeout?: Timespec | null): kevent_t[] {
  sysenter();
  const r = kevent_enter(kq, changelist, nevents, timeout, 'kevent', true);
  return Array.isArray(r) ? r : run_sync(kevent_wait(r, false));
}

/** The Promise form of {@link kevent}: never blocks the event loop. */
export function kevent_async(kq: number, changelist: readonly kevent_t[] | null, nevents: number, timeout?: Timespec | null, opts?: AsyncOptions): Promise<kevent_t[]> {
  try {
    sysenter();
    const signal = copyin_async_options(opts, 'kevent');
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    const r = kevent_enter(kq, changelist, nevents, timeout, 'kevent');
    if (Array.isArray(r)) return Promise.resolve(r);
    if (signal === undefined) return run_async(kevent_wait(r, true));
    // The signal is the user's, and its `aborted` may be a getter: read
    // with the kqueue lock dropped (kevent_wait takes it again), never
    // under it (a syscall from the getter was a kernel panic).
    kevent_wait_unlock(r);
    // A getter the copy-in ran (a timeout's or a change's field) may have
    // aborted the signal: run_async then rejects before the wait's first
    // step, and only that step enters the try whose finally gives back the
    // kqueue reference kevent_enter holds for it; so does a getter that
    // answers differently there, or throws. Given back here then.
    let aborted: boolean;
    try { aborted = signal.aborted; } catch (e) { kevent_wait_abandon(r); throw e; }
    if (aborted) { kevent_wait_abandon(r); return Promise.reject(new AbortError(signal.reason)); }
    return run_async(kevent_wait(r, true), signal).catch((e: unknown) => {
      if (r.started !== true) kevent_wait_abandon(r);
      throw e;
    });
  } catch (e) {
    return Promise.reject(e);
  }
}

// The kqueue gauges, in kstat('kqueue') beside its counters.
kstat_gauge('kqueue', 'kqueues_max', () => kqueues.count);
kstat_gauge('kqueue', 'knotes_max', () => knotes.count);
kstat_gauge('kqueue', 'knotes_hiwat', () => knotes.hiwat);
kstat_gauge('kqueue', 'timer_knotes', () => timer_knotes());
kstat_gauge('kqueue', 'bytes_per_knote', () => bytes_per_knote());
