/**
 * The `ukern/sys` calls of clocks and POSIX timers (timer.c): clock_gettime,
 * clock_settime, clock_getres, timer_create, timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete; plus ukern's clock_advance for the manual
 * clock. Errno paths are the seed's, in the seed's order.
 */
import { warm_first_expiry } from './warm.js';
import { I32, f64_get, f64_set } from '../kern/kmem.js';
import { sysenter } from '../kern/sysent.js';
import { fail } from '../kern/errno.js';
import { copyin_i32, copyin_int, arg_type, copyin_check, copyin_fault, copyin_timespec, copyin_timespec_raw, copyin_timespec_fast, timespec_valid } from '../kern/copyin.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { kstat_add } from '../kern/kstat.js';
import { cur } from '../kern/hdr.js';
import type { Timespec, Itimerspec } from '../kern/time.js';
import { on_proc_exit } from '../kern/proc.js';
import { clock_backend, timeline_now, manual_set, CLOCK_DEFAULT_SIGEV, TL_MANUAL } from './clocks.js';
import { callout_alloc, callout_free, callout_reset, callout_stop, callout_run, CK_ITIMER } from './callout.js';
import { IT, IT_PORT, IT_SIGNAL, IT_THREAD, itimers, itimer_fire_due, C_CREATED, C_DELETED, C_ARMED } from './itimer.js';
import { timer_grab, timer_grab_unhook, timer_release, table_install, timer_unhook, timer_unlock_unhooked, table_lock, timer_ids } from './timertab.js';
import { thread_mbox, thread_register, thread_unregister, thread_changed } from './sigev-thread.js';
import { port_bind, port_unbind, port_hint, timer_port_deadline as port_deadline } from './portnfy.js';
import { SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_PORT, TIMER_ABSTIME, CLOCK_MANUAL } from './consts.js';
import { sig_withdraw_timer } from '../signals/kapi.js';
import { sig_hint } from './signfy.js';
import { copyin_sigevent, type Sigev } from './sigevent.js';
import { clock_start_check, start_check_later } from './clockstats.js'; // and its arm hook: starts the clock thread, bridges until it runs
import { ffi_available } from './ffi.js';
import { ns_up, ts_of_ns, NSEC_PER_SEC, type TimespecCopy } from '../kern/time.js';

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
  /** SIGEV_KEVENT (FreeBSD's; AIO requests only): the kqueue that gets an EVFILT_AIO event, sigev_value its udata. */
  sigev_notify_kqueue?: number;
}

// ---------------------------------------------------------------- clocks

/** clock_gettime(3C): EINVAL for an unknown clock. */
export function clock_gettime(clock_id: number): Timespec {
  sysenter();
  start_check_later(); // a read: no Worker start in it (clockstats.ts)
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
 * EINVAL for a bad timespec (tv_sec beyond what a 64-bit nanosecond time
 * holds included), or for moving CLOCK_MANUAL backwards.
 */
export function clock_settime(clock_id: number, tp: Timespec): void {
  sysenter();
  const b = clock_backend(clock_id, 'clock_settime');
  const t = copyin_timespec_raw(tp, 'tp', 'clock_settime');
  if (!b.settable) fail('EPERM', 'clock_settime', `${b.name} cannot be set by a user process`);
  if (!timespec_valid(t)) fail('EINVAL', 'clock_settime', `tp {${t.tv_sec}, ${t.tv_nsec}}`);
  manual_set(t, false, 'clock_settime');
  callout_run(TL_MANUAL);
}

/**
 * ukern: moves CLOCK_MANUAL forward by `delta` and fires, in the calling
 * thread, every timer due up to the new time. EINVAL for another clock or a
 * bad timespec; EOVERFLOW when the clock would pass the largest 64-bit time.
 */
export function clock_advance(clock_id: number, delta: Timespec): void {
  sysenter();
  const b = clock_backend(clock_id, 'clock_advance');
  const d = copyin_timespec(delta, 'delta', 'clock_advance');
  if (!b.settable) fail('EINVAL', 'clock_advance', `${b.name} is not the manual clock`);
  manual_set(d, true, 'clock_advance');
  callout_run(TL_MANUAL);
}

/**
 * The earliest upcoming expiry (kernel monotonic ns) of a POSIX timer that
 * notifies `port`, Infinity when none is known (ukern's, for the classes'
 * tuning). The port is copied in as every descriptor is: TypeError for a
 * non-number, EBADF for a number no C int holds; the kernel's own callers
 * use portnfy's, on numbers of its own. Unchecked, a string or NaN read the
 * hint of the table's first descriptor, and a BigInt or Symbol threw a
 * TypeError of the engine's.
 */
export function timer_port_deadline(port: number): number {
  sysenter();
  return port_deadline(copyin_int(port, 'port', 'timer_port_deadline', 'EBADF'));
}

// ---------------------------------------------------------------- timers

type Ev = Sigev;

/**
 * timer_create(3C). EINVAL: unknown clock, bad sigev_notify or signal, or a
 * clock that carries no timers (the CPU-time clocks); EAGAIN: timer_max
 * timers exist (or kernel memory for them is exhausted); SIGEV_PORT: the
 * port's errors (EBADF, EBADFD, EAGAIN for its event limit).
 */
export function timer_create(clock_id: number, evp: sigevent | null): number {
  sysenter();
  clock_start_check();
  const b = clock_backend(clock_id, 'timer_create');
  const ev0 = copyin_sigevent(evp, 'evp', 'timer_create', false);
  const it = itimers.alloc();
  if (it === 0) fail('EAGAIN', 'timer_create', 'no timer memory');
  const L = table_lock();
  mutex_enter(L);
  const tid = table_install(it);
  if (tid < 0) { mutex_exit(L); itimers.free(it); fail('EAGAIN', 'timer_create', 'timer_max reached'); }
  // A null evp is the clock's default: SIGALRM with the timer id as value.
  const ev: Ev = ev0 ?? { notify: CLOCK_DEFAULT_SIGEV.sigev_notify, signo: CLOCK_DEFAULT_SIGEV.sigev_signo, value: tid, port: 0, user: 0, kq: 0 };
  I32[it + IT.clock] = clock_id;
  I32[it + IT.notify] = ev.notify;
  I32[it + IT.signo] = ev.signo;
  I32[it + IT.lid] = cur.lid;
  f64_set(it, IT.sigval, ev.value);
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
  if (clock_id !== CLOCK_MANUAL) {
    // The clock thread starts at the first arm (clockstats.ts). A port fed
    // by this timer gets deadline-aware waits, whose first one loads the FFI (to lower the thread's timer slack) before its port_get
    // returns: ~10 ms late on the first event. Load it now instead, once per
    // thread, outside every lock, before the timer can be armed.
    if (ev.notify === SIGEV_PORT) { ffi_available(); warm_first_expiry(ev.port); }
  }
  kstat_add(C_CREATED);
  return tid;
}

function is_zero(t: TimespecCopy): boolean { return t.tv_sec === 0 && t.tv_nsec === 0; }

/** The current setting of a grabbed timer, as timer_gettime reports it. */
function current(it: number): Itimerspec {
  mutex_enter(it + IT.mutex);
  const armed = I32[it + IT.armed] !== 0;
  const next = f64_get(it, IT.value), iv = f64_get(it, IT.interval);
  mutex_exit(it + IT.mutex);
  return setting(it, armed, next, iv);
}

/** The setting of a timer from its armed flag, next expiry and period (read under it_mutex; no lock held now). */
function setting(it: number, armed: boolean, next: number, iv: number): Itimerspec {
  const out: Itimerspec = { it_interval: ts_of_ns(iv), it_value: { tv_sec: 0, tv_nsec: 0 } };
  if (!armed) return out;
  const now = timeline_now(I32[it + IT.line]!);
  let left = next - now;
  if (left <= 0) {
    // Due but not yet processed: a one-shot reads as expired; a periodic
    // timer reports the time to the next period boundary.
    if (iv === 0) return out;
    left = iv - ((now - next) % iv);
  }
  out.it_value = ts_of_ns(left);
  return out;
}

/** A timer id (a C int) and its grabbed timer; EINVAL for an unknown or deleted one. */
function grab(timerid: unknown, syscall: string): number {
  const id = copyin_i32(timerid, 'timerid', syscall);
  const it = timer_grab(id);
  if (it === 0) fail('EINVAL', syscall, `timer ${id}`);
  return it;
}

/** timer_gettime(3C): EINVAL for an unknown or deleted timer. */
export function timer_gettime(timerid: number): Itimerspec {
  sysenter();
  start_check_later(); // a read: no Worker start in it (clockstats.ts)
  const it = grab(timerid, 'timer_gettime');
  try { return current(it); } finally { timer_release(it); }
}

/**
 * Copies in an itimerspec (each field read once, no lock held) and checks it
 * as itimerspecfix does: a bad it_value is EINVAL, a bad it_interval only
 * when it_value arms the timer. Both must be timespecs (TypeError). Fields
 * are read by name (not through copyin_fields): this is timer_settime's hot
 * path, and named reads are what V8 makes fast.
 */
function copyin_itimerspec(value: unknown, syscall: string): { v: TimespecCopy; iv: TimespecCopy } {
  copyin_check(syscall);
  if (value === null || typeof value !== 'object') arg_type(syscall, 'value must be an itimerspec object');
  const src = value as { readonly it_interval?: unknown; readonly it_value?: unknown };
  let iv0: unknown, v0: unknown;
  try { iv0 = src.it_interval; v0 = src.it_value; } catch (e) { copyin_fault(e, value, 'value', syscall); }
  const iv = copyin_timespec_fast(iv0, 'it_interval', syscall);
  const v = copyin_timespec_fast(v0, 'it_value', syscall);
  if (!timespec_valid(v) || (!is_zero(v) && !timespec_valid(iv))) {
    fail('EINVAL', syscall, `itimerspec {{${v.tv_sec}, ${v.tv_nsec}}, {${iv.tv_sec}, ${iv.tv_nsec}}}`);
  }
  return { v, iv };
}

/**
 * timer_settime(3C): arms (relative, or TIMER_ABSTIME: a time already past
 * fires at once), re-arms, or disarms (zero it_value) the timer; returns
 * the previous setting. EINVAL for a bad it_value (tv_sec beyond what a
 * 64-bit nanosecond time holds included), a bad it_interval when it_value
 * arms, or an unknown timer; EOVERFLOW when a relative expiry would pass
 * the largest time the clock holds (the timer is then left disarmed).
 */
export function timer_settime(timerid: number, flags: number, value: Itimerspec): Itimerspec {
  sysenter();
  clock_start_check();
  const S = 'timer_settime';
  const id = copyin_i32(timerid, 'timerid', S);
  const fl = copyin_int(flags, 'flags', S) | 0; // int-or-uint flags: [-2^31, 2^32), the low 32 bits (docs/sys.md)
  const { v, iv } = copyin_itimerspec(value, S);
  // Everything the user passed is a kernel copy now; no user code runs below.
  const it = grab(id, S);
  const line = I32[it + IT.line]!;
  const arm = !is_zero(v);
  let old: Itimerspec;
  let mbox = -1; // SIGEV_THREAD: its binding, read under it_mutex (-1: not one)
  try {
    const c = I32[it + IT.callout]!;
    let deadline: number | undefined = 0;
    if (arm) deadline = clock_backend(I32[it + IT.clock], S).deadline!(v, (fl & TIMER_ABSTIME) !== 0);
    const ivNs = arm ? ns_up(iv.tv_sec, iv.tv_nsec) : 0; // computed before the lock: only stores under it
    // Disarming waits for a firing in progress (callout_stop): none runs
    // after this. Arming needs no stop: callout_reset re-keys a pending
    // callout in place, and one firing now is re-armed at the new deadline
    // when its handler returns (its own next expiry loses).
    if (!arm || deadline === undefined) callout_stop(c);
    mutex_enter(it + IT.mutex);
    // An expiry of the old setting that is due but that nobody has fired
    // yet fires first, here, in this hold: a kernel's clock interrupt would
    // have fired it on time, and re-setting the timer must not lose the
    // expirations that came due before it was re-set (they reach the
    // notification, counted as pending and overruns as usual). Whoever
    // fires the callout (the clock thread late or still starting, a bridge
    // behind a busy event loop, or a handler that already took the callout
    // out of the heap and is on its way to it_mutex: it then meets the new
    // setting, and fires only what of that is due) fires nothing twice:
    // each firing moves the setting past what it fired, under it_mutex. A
    // look before taking it_mutex (a callout_run of the line) missed that
    // handler, and the expiry it had taken was lost while the old value
    // read as due (test/timers-settime-firing).
    if (I32[it + IT.armed] !== 0) itimer_fire_due(it, timeline_now(line), false);
    // The old setting and the new one under one hold: nothing fires between.
    const wasArmed = I32[it + IT.armed] !== 0;
    if ((I32[it + IT.flags]! & IT_THREAD) !== 0) mbox = I32[it + IT.mbox]!;
    const oldNext = f64_get(it, IT.value), oldIv = f64_get(it, IT.interval);
    // A call that fails EOVERFLOW leaves the timer disarmed as a zero
    // it_value does: with no interval (the rejected one is not its setting).
    f64_set(it, IT.interval, deadline === undefined ? 0 : ivNs);
    if (deadline === undefined || !arm) {
      I32[it + IT.armed] = 0;
    } else {
      f64_set(it, IT.value, deadline);
      I32[it + IT.armed] = 1;
    }
    mutex_exit(it + IT.mutex);
    old = setting(it, wasArmed, oldNext, oldIv);
    if (deadline === undefined) fail('EOVERFLOW', S, 'expiry beyond the largest 64-bit time');
    if (arm) {
      callout_reset(c, deadline);
      kstat_add(C_ARMED);
      if (line !== TL_MANUAL && (I32[it + IT.flags]! & IT_PORT) !== 0) port_hint(I32[it + IT.portfd]!, deadline);
      if (line !== TL_MANUAL && (I32[it + IT.flags]! & IT_SIGNAL) !== 0) sig_hint(I32[it + IT.signo]!, deadline);
    }
  } finally {
    timer_release(it);
    if (mbox >= 0) thread_changed(mbox); // an EOVERFLOW disarmed it too
  }
  if (line === TL_MANUAL && arm) callout_run(TL_MANUAL); // a past time fires at once
  return old;
}

/**
 * timer_getoverrun(3C): the extra expirations of the last delivery, at most
 * DELAYTIMER_MAX. EINVAL for an unknown timer.
 */
export function timer_getoverrun(timerid: number): number {
  sysenter();
  start_check_later(); // a read: no Worker start in it (clockstats.ts)
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
  clock_start_check();
  const id = copyin_i32(timerid, 'timerid', 'timer_delete');
  const it = timer_grab_unhook(id); // grab and unhook in one hold of the table lock
  if (it === 0) fail('EINVAL', 'timer_delete', `timer ${id}`);
  teardown(it);
  kstat_add(C_DELETED);
}

/** Deletes a grabbed timer (timer_delete_locked + the backend's delete). */
function destroy(it: number): void {
  timer_unhook(it);
  teardown(it);
}

/** Tears down a grabbed timer already out of the table (timer_unhook). */
function teardown(it: number): void {
  const c = I32[it + IT.callout]!;
  if (c !== 0) callout_free(c); // waits for a firing in progress
  if ((I32[it + IT.flags]! & IT_PORT) !== 0) port_unbind(it);
  if ((I32[it + IT.flags]! & IT_SIGNAL) !== 0) sig_withdraw_timer(it, I32[it + IT.gen]!);
  mutex_enter(it + IT.mutex);
  const wasThread = (I32[it + IT.flags]! & IT_THREAD) !== 0;
  const mbox = I32[it + IT.mbox]!;
  I32[it + IT.flags] = 0;
  I32[it + IT.armed] = 0;
  I32[it + IT.pending] = 0;
  mutex_exit(it + IT.mutex);
  if (wasThread) thread_unregister(it, mbox);
  timer_unlock_unhooked(it);
  itimers.free(it);
}

/** Process exit deletes every timer (timer_exit). */
on_proc_exit(() => {
  for (const tid of timer_ids()) {
    const it = timer_grab(tid);
    if (it !== 0) destroy(it);
  }
});
