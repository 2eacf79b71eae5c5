/**
 * The `ukern/sys` calls of clocks and POSIX timers (timer.c): clock_gettime,
 * clock_settime, clock_getres, timer_create, timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete; plus ukern's clock_advance for the manual
 * clock. Errno paths are the seed's, in the seed's order.
 */
import { I32 } from '../kern/kmem.js';
import { sysenter } from '../kern/sysent.js';
import { fail } from '../kern/errno.js';
import { intArg, userArg } from '../kern/copyin.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { kstat_add } from '../kern/kstat.js';
import { cur } from '../kern/hdr.js';
import { NSEC_PER_SEC, type Timespec, type Itimerspec } from '../kern/time.js';
import { onProcExit } from '../lwp/proc.js';
import {
  clock_backend, timelineNow, timespecShape, checkTimespec, manualNow, setManualNow, CLOCK_DEFAULT_SIGEV,
  TL_MANUAL,
} from './clocks.js';
import { callout_alloc, callout_free, callout_reset, callout_stop, callout_run, CK_ITIMER } from './callout.js';
import {
  IT, IT_PORT, IT_SIGNAL, IT_THREAD, itimers, timer_grab, timer_release, table_install, timer_unhook,
  tableLock, timer_unlock, timer_ids, f64get, f64set, C_CREATED, C_DELETED, C_ARMED,
} from './itimer.js';
import { thread_mbox, thread_register, thread_unregister, reeval } from './thread.js';
import { port_bind, port_unbind, port_hint } from './portnfy.js';
export { timer_port_deadline } from './portnfy.js';
import { SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_PORT, TIMER_ABSTIME, CLOCK_MANUAL } from './consts.js';
import { NSIG } from '../lwp/sys.js'; // one signal range for the whole kernel
import { clock_thread_start } from './clockstats.js';

export * from './consts.js';
export type { Timespec, Itimerspec };

/** port_notify_t: where SIGEV_PORT delivers. */
export interface port_notify_t { portnfy_port: number; portnfy_user: number }
/** struct sigevent. */
export interface sigevent {
  sigev_notify: number;
  sigev_signo?: number;
  sigev_value?: number;
  /** SIGEV_PORT: the port and the portev_user of the timer's events. */
  sigev_notify_port?: port_notify_t;
  /** SIGEV_THREAD: called with sigev_value on the event loop of the thread that created the timer. */
  sigev_notify_function?: (value: number) => void;
}

// ---------------------------------------------------------------- clocks

/** clock_gettime(3C): EINVAL for an unknown clock. */
export function clock_gettime(clock_id: number): Timespec {
  sysenter();
  return clock_backend(clock_id, 'clock_gettime').gettime();
}

/** clock_getres(3C): the honest resolution of the clock as ukern reads it. */
export function clock_getres(clock_id: number): Timespec {
  sysenter();
  const r = clock_backend(clock_id, 'clock_getres').resNs();
  return { tv_sec: Math.floor(r / NSEC_PER_SEC), tv_nsec: r % NSEC_PER_SEC };
}

/**
 * clock_settime(3C): EINVAL for an unknown clock; EPERM for every host clock
 * (a userland process may not set them: the seed checks privilege first);
 * EINVAL for a bad timespec, or for moving CLOCK_MANUAL backwards.
 */
export function clock_settime(clock_id: number, tp: Timespec): void {
  sysenter();
  const b = clock_backend(clock_id, 'clock_settime');
  timespecShape(tp, 'clock_settime');
  if (!b.settable) fail('EPERM', 'clock_settime', `${b.name} cannot be set by a user process`);
  const t = checkTimespec(tp, 'clock_settime');
  manualSet(t.tv_sec * NSEC_PER_SEC + t.tv_nsec, 'clock_settime');
}

/**
 * ukern: moves CLOCK_MANUAL forward by `delta` and fires, in the calling
 * thread, every timer due up to the new time (EINVAL for another clock or a
 * bad timespec).
 */
export function clock_advance(clock_id: number, delta: Timespec): void {
  sysenter();
  const b = clock_backend(clock_id, 'clock_advance');
  if (!b.settable) fail('EINVAL', 'clock_advance', `${b.name} is not the manual clock`);
  const d = checkTimespec(delta, 'clock_advance');
  manualSet(manualNow() + d.tv_sec * NSEC_PER_SEC + d.tv_nsec, 'clock_advance');
}

function manualSet(ns: number, syscall: string): void {
  // Moves forward under the manual heap's firing: callout_run reads the clock each round.
  if (ns < manualNow()) fail('EINVAL', syscall, 'CLOCK_MANUAL never goes back');
  setManualNow(ns);
  callout_run(TL_MANUAL);
}

// ---------------------------------------------------------------- timers

interface Ev { notify: number; signo: number; value: number; port: number; user: number; fn?: (v: number) => void }

function readSigevent(evp: unknown): Ev | null {
  if (evp === null || evp === undefined) return null;
  if (typeof evp !== 'object') throw new TypeError('timer_create: evp must be a sigevent or null');
  const e = evp as Partial<sigevent>;
  const notify = intArg(e.sigev_notify, 'sigev_notify', 'timer_create');
  const value = e.sigev_value === undefined ? 0 : userArg(e.sigev_value, 'sigev_value', 'timer_create');
  const ev: Ev = { notify, signo: 0, value, port: 0, user: 0 };
  switch (notify) {
    case SIGEV_NONE: break;
    case SIGEV_SIGNAL: {
      const s = intArg(e.sigev_signo, 'sigev_signo', 'timer_create');
      if (s < 1 || s >= NSIG) fail('EINVAL', 'timer_create', `signal ${s}`);
      ev.signo = s;
      break;
    }
    case SIGEV_THREAD:
      if (typeof e.sigev_notify_function !== 'function') throw new TypeError('timer_create: SIGEV_THREAD needs sigev_notify_function');
      ev.fn = e.sigev_notify_function;
      break;
    case SIGEV_PORT: {
      const pn = e.sigev_notify_port;
      if (pn === null || typeof pn !== 'object') throw new TypeError('timer_create: SIGEV_PORT needs sigev_notify_port');
      ev.port = intArg(pn.portnfy_port, 'portnfy_port', 'timer_create', 'EBADF');
      ev.user = userArg(pn.portnfy_user, 'portnfy_user', 'timer_create');
      break;
    }
    default: fail('EINVAL', 'timer_create', `sigev_notify ${notify}`);
  }
  return ev;
}

/**
 * timer_create(3C). EINVAL: unknown clock, bad sigev_notify or signal, or a
 * clock that carries no timers (the CPU-time clocks); EAGAIN: timer_max
 * timers exist (or kernel memory for them is exhausted); SIGEV_PORT: the
 * port's errors (EBADF, EBADFD, EAGAIN for its event limit).
 */
export function timer_create(clock_id: number, evp: sigevent | null): number {
  sysenter();
  const b = clock_backend(clock_id, 'timer_create');
  const ev0 = readSigevent(evp);
  const it = itimers.alloc();
  if (it === 0) fail('EAGAIN', 'timer_create', 'no timer memory');
  const L = tableLock();
  mutex_enter(L);
  const tid = table_install(it);
  if (tid < 0) { mutex_exit(L); itimers.free(it); fail('EAGAIN', 'timer_create', 'timer_max reached'); }
  // A null evp is the clock's default: SIGALRM with the timer id as value.
  const ev: Ev = ev0 ?? { notify: CLOCK_DEFAULT_SIGEV.sigev_notify, signo: CLOCK_DEFAULT_SIGEV.sigev_signo, value: tid, port: 0, user: 0 };
  I32[it + IT.clock] = clock_id;
  I32[it + IT.notify] = ev.notify;
  I32[it + IT.signo] = ev.signo;
  I32[it + IT.lid] = cur.lid;
  f64set(it, IT.sigval, ev.value);
  mutex_exit(L);
  try {
    if (ev.notify === SIGEV_PORT) {
      port_bind(it, tid, ev.port, ev.user);  // throws the port's errno
    } else if (ev.notify === SIGEV_SIGNAL) {
      I32[it + IT.flags] = IT_SIGNAL;
    } else if (ev.notify === SIGEV_THREAD) {
      const m = thread_mbox();
      if (m === 0) fail('EAGAIN', 'timer_create', 'no notification mailbox');
      I32[it + IT.mbox] = m;
      I32[it + IT.flags] = IT_THREAD;
    }
    if (b.timeline === undefined) fail('EINVAL', 'timer_create', `${b.name} carries no timers`);
    I32[it + IT.line] = b.timeline;
    const c = callout_alloc(CK_ITIMER, it, b.timeline);
    if (c === 0) fail('EAGAIN', 'timer_create', 'no callout memory');
    I32[it + IT.callout] = c;
  } catch (e) {
    destroy(it);
    throw e;
  }
  if (ev.fn !== undefined) thread_register(it, ev.fn);
  timer_release(it);
  if (clock_id !== CLOCK_MANUAL) clock_thread_start(); // up before the first expiry, usually
  kstat_add(C_CREATED);
  return tid;
}

function isZero(t: Timespec): boolean { return t.tv_sec === 0 && t.tv_nsec === 0; }
// itimerspecfix: negative seconds or nanoseconds outside [0, 1e9) are EINVAL.
function bad(t: Timespec): boolean {
  return !Number.isInteger(t.tv_sec) || !Number.isInteger(t.tv_nsec) || t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= NSEC_PER_SEC;
}
function nsOf(t: Timespec): number { return t.tv_sec * NSEC_PER_SEC + t.tv_nsec; }
function tsOf(ns: number): Timespec {
  const s = Math.floor(ns / NSEC_PER_SEC);
  return { tv_sec: s, tv_nsec: ns - s * NSEC_PER_SEC };
}
const INT64_MAX = 9.223372036854776e18;

/** The current setting of a grabbed timer, as timer_gettime reports it. */
function current(it: number): Itimerspec {
  mutex_enter(it + IT.mutex);
  const armed = I32[it + IT.armed] !== 0;
  const next = f64get(it, IT.value), iv = f64get(it, IT.interval);
  mutex_exit(it + IT.mutex);
  const out: Itimerspec = { it_interval: tsOf(iv), it_value: { tv_sec: 0, tv_nsec: 0 } };
  if (!armed) return out;
  const now = timelineNow(I32[it + IT.line]!);
  let left = next - now;
  if (left <= 0) {
    // Due but not yet processed: a one-shot reads as expired; a periodic
    // timer reports the time to the next period boundary.
    if (iv === 0) return out;
    left = iv - ((now - next) % iv);
  }
  out.it_value = tsOf(left);
  return out;
}

/** Grabs timer `timerid` (held until timer_release); EINVAL for an unknown or deleted one. */
function grab(timerid: number, syscall: string): number {
  const it = timer_grab(timerid);
  if (it === 0) fail('EINVAL', syscall, `timer ${timerid}`);
  return it;
}

/** timer_gettime(3C): EINVAL for an unknown or deleted timer. */
export function timer_gettime(timerid: number): Itimerspec {
  sysenter();
  intArg(timerid, 'timerid', 'timer_gettime');
  const it = grab(timerid, 'timer_gettime');
  try { return current(it); } finally { timer_release(it); }
}

/**
 * timer_settime(3C): arms (relative, or TIMER_ABSTIME: a time already past
 * fires at once), re-arms, or disarms (zero it_value) the timer; returns
 * the previous setting. EINVAL for a bad it_value, a bad it_interval when
 * it_value arms, or an unknown timer; EOVERFLOW when the expiry would pass
 * 2^63 ns.
 */
export function timer_settime(timerid: number, flags: number, value: Itimerspec): Itimerspec {
  sysenter();
  intArg(timerid, 'timerid', 'timer_settime');
  const fl = intArg(flags, 'flags', 'timer_settime');
  if (value === null || typeof value !== 'object') throw new TypeError('timer_settime: value must be an itimerspec');
  timespecShape(value.it_value, 'timer_settime');
  timespecShape(value.it_interval, 'timer_settime');
  const v = value.it_value, iv = value.it_interval;
  if (bad(v) || (!isZero(v) && bad(iv))) fail('EINVAL', 'timer_settime', 'bad itimerspec');
  const it = grab(timerid, 'timer_settime');
  const line = I32[it + IT.line]!;
  let old: Itimerspec;
  try {
    old = current(it);
    const c = I32[it + IT.callout]!;
    callout_stop(c); // waits for a firing in progress: none runs after this
    let deadline = 0;
    const ivNs = isZero(v) ? 0 : nsOf(iv);
    if (!isZero(v)) {
      const b = clock_backend(I32[it + IT.clock], 'timer_settime');
      deadline = (fl & TIMER_ABSTIME) !== 0 ? b.absToLine!(v) : timelineNow(line) + nsOf(v);
      if (deadline > INT64_MAX - ivNs) {
        mutex_enter(it + IT.mutex); I32[it + IT.armed] = 0; mutex_exit(it + IT.mutex);
        fail('EOVERFLOW', 'timer_settime', 'expiry beyond 2^63 ns');
      }
    }
    mutex_enter(it + IT.mutex);
    f64set(it, IT.interval, ivNs);
    if (isZero(v)) {
      I32[it + IT.armed] = 0;
    } else {
      f64set(it, IT.value, deadline);
      I32[it + IT.armed] = 1;
    }
    mutex_exit(it + IT.mutex);
    if (!isZero(v)) {
      callout_reset(c, deadline);
      kstat_add(C_ARMED);
      if (line !== TL_MANUAL && (I32[it + IT.flags]! & IT_PORT) !== 0) port_hint(I32[it + IT.portfd]!, deadline);
    }
  } finally {
    timer_release(it);
  }
  if ((I32[it + IT.flags]! & IT_THREAD) !== 0) reeval();
  if (line === TL_MANUAL && !isZero(v)) callout_run(TL_MANUAL); // a past time fires at once
  return old;
}

/** timer_getoverrun(3C): the extra expirations of the last delivery. EINVAL for an unknown timer. */
export function timer_getoverrun(timerid: number): number {
  sysenter();
  intArg(timerid, 'timerid', 'timer_getoverrun');
  const it = grab(timerid, 'timer_getoverrun');
  mutex_enter(it + IT.mutex);
  const o = I32[it + IT.overrun]!;
  mutex_exit(it + IT.mutex);
  timer_release(it);
  return o;
}

/** timer_delete(3C): EINVAL for an unknown or already deleted timer; withdraws a queued port event. */
export function timer_delete(timerid: number): void {
  sysenter();
  intArg(timerid, 'timerid', 'timer_delete');
  const it = grab(timerid, 'timer_delete');
  destroy(it);
  kstat_add(C_DELETED);
}

/** Deletes a grabbed timer (timer_delete_locked + the backend's delete). */
function destroy(it: number): void {
  timer_unhook(it);
  const c = I32[it + IT.callout]!;
  if (c !== 0) callout_free(c); // waits for a firing in progress
  if ((I32[it + IT.flags]! & IT_PORT) !== 0) port_unbind(it);
  mutex_enter(it + IT.mutex);
  const wasThread = (I32[it + IT.flags]! & IT_THREAD) !== 0;
  I32[it + IT.flags] = 0;
  I32[it + IT.armed] = 0;
  I32[it + IT.pending] = 0;
  mutex_exit(it + IT.mutex);
  if (wasThread) thread_unregister(it);
  const L = tableLock();
  mutex_enter(L);
  timer_unlock(it);
  mutex_exit(L);
  itimers.free(it);
}

/** Process exit deletes every timer (timer_exit). */
onProcExit(() => {
  for (const tid of timer_ids()) {
    const it = timer_grab(tid);
    if (it !== 0) destroy(it);
  }
});
