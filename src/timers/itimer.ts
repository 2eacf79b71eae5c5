/**
 * struct itimer and its firing, after timer.c; with the timer subsystem's
 * theory: its locks, who writes each field, the life cycle of a timer,
 * what the clock thread touches. The per-process table and the timer lock
 * protocol are in timertab.ts; timers/sys.ts (the calls), portnfy.ts and
 * sigev-thread.ts (notifications) follow these rules.
 *
 * ---- Locks (kern/lockorder.ts; taken in this order) -------------------------
 *
 *   table lock (T, class timertab)  the seed's p_lock for timers: the table
 *       of timer ids, the free-id heap, and every timer's it_lock bits
 *       (ITLK_*), blocker count, owner and condition variable.
 *   timer lock (g, ITLK_LOCKED in it_lock)  the seed's long-term lock, a
 *       sleep lock rather than a mutex: a syscall "grabs" a timer
 *       (timer_grab) and holds it across the whole call, holding no mutex;
 *       waiters count themselves in it_blockers and sleep on it_cv under T.
 *       Its holder alone changes the timer's configuration (callout arming,
 *       the notification binding). A timer being deleted has ITLK_REMOVE
 *       set: it can no longer be grabbed, and the deleter waits until every
 *       blocker has seen the flag and left before the id is freed.
 *   it_mutex (i, class timer)  what firing touches: the armed value and
 *       period, the pending count, the overrun, the notification target.
 *       The clock thread takes only this; so does a port delivery.
 *
 * A port notification is sent under it_mutex (port_send_event takes the
 * port lock after it, as the lock order allows); the callout heap lock is
 * never taken under it_mutex: a timer arms and stops its callout holding
 * only g, and callout_stop / callout_free wait for a handler in progress.
 *
 * ---- Life cycle -------------------------------------------------------------
 *
 *   from            to              by (locks)
 *   (free)          born locked     timer_create: itimers.alloc, then table_install
 *                                   takes an id and sets ITLK_LOCKED (T); clock,
 *                                   notify, sigval, lid (T); the notification is
 *                                   bound and the callout allocated holding g
 *   born locked     idle            timer_release (T); a failure on the way is a
 *                                   delete (destroy) instead
 *   idle            grabbed         timer_grab: waits (T, it_cv) while another
 *                                   holder has it; fails on ITLK_REMOVE
 *   grabbed         idle            timer_release (T)
 *   grabbed: disarmed -> armed      timer_settime: callout_stop (waits for a firing in
 *                                   progress), value, interval, armed = 1 (i), then
 *                                   callout_reset (g)
 *   grabbed: armed -> disarmed      timer_settime with a zero it_value: armed = 0 (i)
 *   (either, when already due)      timer_settime first fires, under the same hold of
 *                                   it_mutex that installs the new setting, what of
 *                                   the old one is due and not fired yet (a late
 *                                   clock thread, or one whose handler is on its way
 *                                   to it_mutex): itimer_fire_due (i); none is lost
 *   armed           armed / idle    itimer_fire, the clock thread (i): n periods
 *                                   elapsed; a periodic timer's value moves past now,
 *                                   a one-shot is disarmed; itimer_expire adds n to
 *                                   it_pending, and when it was 0 hands the
 *                                   notification its one event (port, thread
 *                                   mailbox, or queued for signals)
 *   pending n       pending 0       a delivery: itimer_take (i) returns n and sets
 *                                   it_overrun = n - 1 (DELAYTIMER_MAX saturates)
 *   grabbed         removing        timer_unhook: ITLK_REMOVE (T); waits until
 *                                   it_blockers is 0; frees the id (T)
 *   removing        (free)          destroy: callout_free (waits for a firing), the
 *                                   port slot given back (port_unbind, i; waits for
 *                                   a port delivery callback in progress, which
 *                                   takes i), flags, armed, pending cleared (i),
 *                                   unlocked (T),
 *                                   itimers.free. Also at process exit, and
 *                                   timer_close_port unbinds timers of a closing port
 *
 * Expirations: a firing computes how many periods have elapsed since the
 * expiry it was due for (never counting wake-ups), folds them into
 * it_pending, and hands the timer's notification at most one event; the
 * delivery then takes the whole count (events = pending, overrun =
 * pending - 1, pending = 0).
 *
 * The clock thread touches, under it_mutex only: it_armed, it_value,
 * it_interval, it_pending (itimer_expire), and reads it_flags,
 * it_line, it_portfd (the deadline hint), it_portev (the port post) and
 * it_mbox (the thread post). It never touches T, g or the table.
 */
import { I32, define_struct, kcache_create, f64_get, f64_set } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { define_tunable } from '../kern/options.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { callout_demand, callout_register_kind, CK_ITIMER } from './callout.js';
import { DELAYTIMER_MAX, _TIMER_MAX } from './consts.js';
import { line_after } from '../kern/time.js';
import { mutex_class } from '../kern/lockdebug.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** POSIX timers per process, timer_max (default 32, illumos _TIMER_MAX). timer_create is EAGAIN beyond it. */
    timer_max?: number;
  }
}
define_tunable('timer_max', _TIMER_MAX, 1, 1 << 20);

/**
 * struct itimer. `[key]`: what guards the field (legend in kern/lockorder.ts;
 * `g` is the timer lock, ITLK_LOCKED). Fields keyed `c` are written by
 * timer_create while the timer is born locked, before its callout exists.
 */
const ITIMER = define_struct('itimer', {
  value: 'f64',     // [i] next expiry on the time line (valid while armed)
  interval: 'f64',  // [i] period ns, 0 for a one-shot
  sigval: 'f64',    // [c] sigev_value
  mutex: 'i32',     // it_mutex (class timer); a stable word of the cache: a signal's late taker may hold it
                    //   after the timer was deleted and its struct handed out again (signfy.ts)
  lock: 'i32',      // [T] ITLK_*; a poller without a sleeper waits on this word: timer_unlock notifies it
  pollers: 'i32',   // [T] threads polling the lock word (cv_wait without a sleep-queue entry)
  blockers: 'i32',  // [T] threads waiting for ITLK_LOCKED
  cv: 'i32', cvTail: 'i32', // [T] it_cv: waiters for the timer lock
  tid: 'i32',       // [c] (table_install, T)
  gen: 'i32',       // [c] creation generation (table_install, T): its signals carry it, not tid (signfy.ts)
  clock: 'i32',     // [c]
  line: 'i32',      // [c] TL_* of its clock
  notify: 'i32',    // [c] SIGEV_*
  signo: 'i32',     // [c] SIGEV_SIGNAL's signal (signfy.ts)
  flags: 'i32',     // [g+i] IT_*; timer_create stores IT_SIGNAL / IT_THREAD holding g only (no callout
                    //   yet), and sigev-thread.ts peeks at it without either before re-checking under i
  armed: 'i32',     // [i] (sigev-thread.ts's keepalive reads it with Atomics.load, without i)
  pending: 'i32',   // [i] it_pending: expirations not yet delivered (same lock-free reader)
  overrun: 'i32',   // [i] it_overrun: extra expirations of the last delivery
  callout: 'i32',   // [c]
  portfd: 'i32',    // [g+i] the port notified
  portev: 'i32',    // [g+i] the pre-reserved port event slot (0: none)
  mbox: 'i32',      // [i] SIGEV_THREAD: the creating thread's mailbox binding (kern/mailbox.ts: slot and
                    //   generation); set at create holding g only, cleared under i when that thread's
                    //   mailbox is given back (sigev-thread.ts)
  lid: 'i32',       // [c] creating LWP (it_lwp; not read yet)
  owner: 'i32',     // [T] lid of the thread holding ITLK_LOCKED
});
export const IT = ITIMER.F;
export const ITIMER_BYTES = ITIMER.words * 4;

export const ITLK_LOCKED = 0x1, ITLK_REMOVE = 0x4;
export const IT_SIGNAL = 0x2, IT_PORT = 0x4, IT_THREAD = 0x8;

export const itimers = kcache_create('itimer', ITIMER, (t) => t.timer_max!, { stable: [IT.mutex] });
callout_demand((t) => t.timer_max!);
mutex_class('timer', itimers, { field: IT.mutex });


export const C_CREATED = kstat_counter('timer', 'created');
export const C_DELETED = kstat_counter('timer', 'deleted');
export const C_ARMED = kstat_counter('timer', 'armed');
const C_FIRED = kstat_counter('timer', 'fired');
const C_EXPIRATIONS = kstat_counter('timer', 'expirations');
export const C_DELIVERED = kstat_counter('timer', 'delivered');
const C_OVERRUNS = kstat_counter('timer', 'overruns');


// ---- firing

/** Notification hooks per kind, installed by the port and thread notification modules. */
export interface Notifier {
  /** it_pending went from 0 to n (it_mutex held): hand the timer's one event over. */
  post(it: number): void;
}
const notifiers = new Map<number, Notifier>();
export function itimer_register_notifier(flag: number, n: Notifier): void { notifiers.set(flag, n); }

/** Told the next expiry of a port- or signal-notifying timer (the deadline hints of portnfy.ts, signfy.ts). */
let nextHook: ((it: number, next: number) => void) | undefined;
export function itimer_set_next_hook(fn: (it: number, next: number) => void): void { nextHook = fn; }

/**
 * Adds `n` expirations (it_mutex held): folded into the pending count when a
 * notification is already outstanding, else handed to the notification.
 */
function itimer_expire(it: number, n: number): void {
  kstat_add(C_EXPIRATIONS, Math.min(n, DELAYTIMER_MAX)); // one carry per add at most

  const p = I32[it + IT.pending]!;
  if (p > 0) {
    I32[it + IT.pending] = Math.min(DELAYTIMER_MAX, p + n);
    return;
  }
  const fl = I32[it + IT.flags]!;
  if ((fl & IT_PORT) !== 0) {
    I32[it + IT.pending] = Math.min(DELAYTIMER_MAX, n);
    notifiers.get(IT_PORT)?.post(it);
  } else if ((fl & IT_THREAD) !== 0) {
    I32[it + IT.pending] = Math.min(DELAYTIMER_MAX, n);
    notifiers.get(IT_THREAD)?.post(it);
  } else if ((fl & IT_SIGNAL) !== 0) {
    // The signal stands for the count until it is taken (signfy.ts).
    I32[it + IT.pending] = Math.min(DELAYTIMER_MAX, n);
    notifiers.get(IT_SIGNAL)?.post(it);
  }
}

/**
 * A delivery takes the pending expirations (it_mutex held): returns the
 * count (0 when none) and records the overrun of this delivery.
 */
export function itimer_take(it: number): number {
  const p = I32[it + IT.pending]!;
  if (p === 0) return 0;
  I32[it + IT.pending] = 0;
  // it_pending saturates at DELAYTIMER_MAX: from there on the overrun is
  // DELAYTIMER_MAX, as POSIX asks of a count that reaches it.
  I32[it + IT.overrun] = p >= DELAYTIMER_MAX ? DELAYTIMER_MAX : p - 1;
  kstat_add(C_DELIVERED);
  if (p > 1) kstat_add(C_OVERRUNS, p - 1);
  return p;
}

/**
 * Fires what of the timer's current setting is due at `now` (it_mutex held):
 * the expirations from elapsed time, the k-th period boundary at or before
 * now, never before its due time. Returns the deadline to re-arm at: the
 * next expiry, the same one when not yet due, or -1 for none (disarmed, or
 * a one-shot just fired). `hint`: tell the deadline hints of the next
 * expiry (the callout handler; timer_settime's catch-up installs a new
 * setting at once and hints that instead).
 */
export function itimer_fire_due(it: number, now: number, hint: boolean): number {
  if (I32[it + IT.armed] === 0) return -1;
  const due = f64_get(it, IT.value);
  if (now < due) return due; // never early
  const iv = f64_get(it, IT.interval);
  let n = 1, next = -1;
  if (iv > 0) {
    n = Math.floor((now - due) / iv) + 1;
    next = due + n * iv;
    // Beyond 2^53 ns the sum rounds: never re-arm at or before now (that
    // would fire again at once, for ever).
    if (!(next > now)) next = line_after(now);
    f64_set(it, IT.value, next);
  } else {
    I32[it + IT.armed] = 0;
  }
  kstat_add(C_FIRED);
  itimer_expire(it, n);
  if (hint && next >= 0 && (I32[it + IT.flags]! & (IT_PORT | IT_SIGNAL)) !== 0) nextHook?.(it, next);
  return next;
}

/**
 * The callout handler: runs in the clock thread (or in the thread moving the
 * manual clock) with no lock held.
 */
function itimer_fire(_c: number, it: number, now: number): number {
  mutex_enter(it + IT.mutex);
  const next = itimer_fire_due(it, now, true);
  mutex_exit(it + IT.mutex);
  return next;
}
callout_register_kind(CK_ITIMER, itimer_fire);
