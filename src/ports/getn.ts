/**
 * port_get / port_getn, written once as a generator that yields whenever it
 * must sleep (kern/sleeprun.ts runs it blocking or as a Promise).
 *
 * Semantics are the seed's port_getn:
 *  - max 0: takes nothing, reports the number of queued events as nget;
 *  - nget 0: returns at once, taking nothing;
 *  - nget > max (max > 0): EINVAL;
 *  - alert mode: one alert event, at once, whatever is queued;
 *  - enough events queued: takes up to max of them, FIFO, without waiting;
 *  - otherwise the timeout decides: none waits, zero polls (takes what is
 *    there), a positive one waits and then takes what has arrived (fewer
 *    than nget is C's ETIME; port_get throws ETIME); an invalid timeout is
 *    EINVAL, checked only then, when the call would wait.
 * Waiters sleep on the port's list ordered by nget, so that the one wanting
 * fewest events is woken first (port_queue_thread); a close wakes them all
 * with EBADFD; an alert wakes them all with the alert event.
 */
import { I32 } from '../kern/kmem.js';
import { fail, fail_status } from '../kern/errno.js';
import { copyin_int, copyin_timeout_ns } from '../kern/copyin.js';
import { mono_now } from '../kern/time.js';
import { kstat_add } from '../kern/kstat.js';
import {
  sq_alloc, sq_free, sq_enqueue, sq_unlink, sq_setarg, sq_allow_handoff, sq_flags, sq_arg, sq_hand, sq_set_orphan, sq_orphan_release_register, SQO_PORT,
  SQ_WOKEN, SQ_INTR, SQ_TIMEDOUT, SQF_INTERRUPTIBLE, SQF_ASYNC, SQF_HANDED, SQF_STAMPED,
} from '../kern/sleepq.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { sq_poll_idle } from '../kern/sleepwait.js';
import type { SleepGen } from '../kern/sleeprun.js';
import { wmesg_register } from '../kern/wmesg.js';
import { P, port_lock, port_alert_user, PQ_ALERT, PQ_CLOSE, C_WAITERS, C_WAITS } from './mem.js';
import { PORT_SOURCE_ALERT, PORT_SOURCE_USER } from './consts.js';
import { port_enter, port_enter_code, port_exit, port_exit_release, port_nent, port_gen } from './queue.js';
import { lane_ctl_sync_locked, lane_owner } from './lane-locked.js';
import { take_drops_lock, take_and_unlock, take_reserve, takeResult, take_out, take_warm, getter_hold, getter_held, getter_unhold } from './take.js';
import { spin_begin, spin_end, prespin } from './spin.js';
import { dwait_begin, dwait_end } from './dwait.js';
import { event_list, port_event, type port_event_t, type port_event_list } from './types.js';
import { room_notify } from './queue.js';
import { fd_bridge_locked } from './src-fd.js';
import { port_hostwait } from './hostwait.js';
import { intr_hostwait, intr_hostwait_retry_ns, intr_call_forget, intr_nonhost_enter, intr_lingering, intr_linger_take, intr_host_load, os_loaded } from '../intr/kapi.js';
import { fd_get, DTYPE_PORT } from '../kern/fdtab.js';

// An async getter whose LWP exited (or whose worker died) with the wait
// pending is orphaned (kern/sleepq.ts sq_orphan): its continuation never
// runs, so what the wait's finally below gives back is given back here, in
// the thread that orphans it: the call's thrcnt (the port could never be
// freed after its close), the lane owner's view of the waiters, the gauge.
sq_orphan_release_register(SQO_PORT, (h) => {
  mutex_enter(port_lock(h));
  I32[h + P.thrcnt]!--;
  lane_ctl_sync_locked(h);
  kstat_add(C_WAITERS, -1);
  port_exit_release(h);
});

export const WMESG_PORTGET = wmesg_register('portget');

/** The most events a sleeping getter's words say it wants (int32); more is never satisfied anyway. */
const NGET_SLEEP_MAX = 0x7fffffff;

/** What a port_get / port_getn asks of getn_gen (its arguments copied in and checked for type). */
export interface GetnReq {
  max: number;
  nget: number;
  /** timeout_copyin's value: -1 for ever, 0 poll, ns, or TIMEOUT_INVALID. */
  tns: number;
  /**
   * The call's entry (mono_now(), read after the copy-in) when tns > 0, else
   * -1: a timeout runs from there, whatever the call did before its first
   * wait (a thread's first wait warms its take: take_warm, ~2-3 ms).
   */
  t0: number;
  /** port_get: max 1, nget 1, ETIME thrown when none came. */
  one: boolean;
  /** The Promise form (its sleeps are async; no spinning). */
  async: boolean;
  syscall: string;
  /** getn_fast's port_gen to move past (sources denied every event it took), or -1. */
  needNew: number;
  /**
   * getn_fast looked the port up and found it open (getn_fast_entered): the
   * call is under way, so a close before getn_gen finds the port again is a
   * close while getting, EBADFD, as a sleeper's, not the EBADF of a new call.
   */
  entered: boolean;
}

/** A copied-in timeout that was malformed: EINVAL, but only when the call would wait (the seed's port_get_timeout). */
export const TIMEOUT_INVALID = -2;

/**
 * Copies in a port_get / port_getn timeout (each field read once, before any
 * lock) and converts it: -1 waits for ever (null or undefined), 0 polls,
 * otherwise the relative timeout in ns (tv_sec clamped to TIME_SEC_MAX, as
 * copyin_timeout_ns does). A wrong shape is a TypeError at once; malformed
 * values give TIMEOUT_INVALID, which getn_gen turns into EINVAL only when
 * it would wait, as the seed judges the timeout only then.
 */
export function timeout_copyin(v: unknown, syscall: string): number {
  return copyin_timeout_ns(v, syscall, TIMEOUT_INVALID);
}

function alert_event(h: number): port_event_t {
  return port_event(I32[h + P.alertEvents]!, PORT_SOURCE_ALERT, 0, port_alert_user(h));
}

/** Unsigned count argument, as C's uint_t. */
export function count_arg(v: unknown, name: string, syscall: string): number {
  return copyin_int(v, name, syscall) >>> 0;
}

/**
 * port_get / port_getn when enough events are queued already (the common
 * case of a busy consumer), or when the call polls (a zero timeout: what is
 * there, maybe nothing): no generator, no thrcnt, the port lock taken once
 * (take_and_unlock). Undefined when the call must wait, is in alert mode,
 * or has an unusual shape (max 0, nget 0, nget > max): the general path
 * (getn_gen) then decides, with the same semantics as ever.
 */
export function getn_fast(fd: unknown, max: number, nget: number, syscall: string, tns = -1, t0 = -1): port_event_list | number | undefined {
  const r = fast_take(fd, max, nget, syscall, tns, t0, undefined);
  return typeof r === 'object' ? event_list(r, r.length) : r;
}

/** port_get's takes: one event at a time, into this thread's array (empty between calls). */
const oneOut: port_event_t[] = take_out();
/**
 * getn_fast for port_get: the one event itself, taken through a scratch
 * array of this thread rather than a list of one (an array, and the list's
 * `nget` property, were ~90 of the ~160 bytes each port_get left behind);
 * null when a poll found nothing (port_get's ETIME, raised by its entry).
 */
export function get_fast(fd: unknown, syscall: string, tns = -1, t0 = -1): port_event_t | number | undefined | null {
  // A take runs no user code; should one ever reach port_get again, it gets
  // an array of its own rather than this one.
  const out = oneBusy ? take_out() : oneOut;
  oneBusy = true;
  try {
    // Emptied by pop, not by a length store: V8 gives an array whose length
    // is set to 0 an empty backing store, and the next push a new one.
    while (out.length !== 0) out.pop();
    const r = fast_take(fd, 1, 1, syscall, tns, t0, out);
    return typeof r === 'object' ? out.pop() ?? null : r;
  } finally {
    if (out === oneOut) oneBusy = false;
  }
}
let oneBusy = false;

/**
 * A poll of a port with OS sources (a PORT_SOURCE_FD or PORT_SOURCE_FILE
 * association) while a host waiter's linger lasts: the intr thread leaves
 * the kernel's epoll set alone then (intr/handover.ts), so the poll takes
 * and dispatches what it holds itself, as a poll of a kqueue's OS knotes
 * does (kevent.ts), and sees what arrived meanwhile now rather than at the
 * linger's end. One atomic load when no linger lasts; no lock held.
 */
function poll_linger_take(fd: unknown): void {
  if (!intr_lingering()) return;
  let h: number;
  try { h = fd_get(fd, DTYPE_PORT, 'port_get', 'EBADFD'); } catch { return; } // (port_enter says what is wrong with it)
  if (Atomics.load(I32, h + P.fdset) !== 0 || Atomics.load(I32, h + P.hostset) !== 0) intr_linger_take();
}

/**
 * Whether this thread must load the host calls before it takes from port h
 * or sleeps on it (lock held): the port has OS sources (a take confirms
 * their identity with statx, a sleep may wait in the host on them) and the
 * thread has not loaded them, nor tried. The caller then drops the lock,
 * loads (intr_host_load: milliseconds, once; never under a kernel lock)
 * and takes the lock again. One module load once loaded.
 */
function host_unready(h: number): boolean {
  if (hostTried) return false;
  if (Atomics.load(I32, h + P.fdset) === 0 && Atomics.load(I32, h + P.hostset) === 0) return false;
  hostTried = true;
  return !os_loaded();
}
let hostTried = false;

/** Whether the last getn_fast / get_fast of this thread found its port open (GetnReq.entered). */
let fastEntered = false;
export function getn_fast_entered(): boolean { return fastEntered; }

/** The body of both: the events taken (into `into`, else a fresh array), or what the callers return instead. */
function fast_take(fd: unknown, max: number, nget: number, syscall: string, tns: number, t0: number, into: port_event_t[] | undefined): port_event_t[] | number | undefined {
  fastEntered = false;
  if (tns === 0) { sq_poll_idle(); poll_linger_take(fd); } // a poll fires due callouts itself until the clock thread runs
  if (max === 0 || nget === 0 || nget > max) return undefined;
  take_reserve();
  let h = port_enter(fd, syscall);
  if (host_unready(h)) { port_exit(h); intr_host_load(); h = port_enter(fd, syscall); }
  fastEntered = true;
  if ((I32[h + P.flags]! & PQ_ALERT) !== 0) { port_exit(h); return undefined; }
  if (port_nent(h) < nget && tns !== 0) { // (a poll takes what there is)
    const r = tns === -1 ? prespin(h, nget, Infinity) : 0;
    // Closed while it spun (lock dropped, struct released): a close while
    // waiting, EBADFD as for a sleeper, not the EBADF a new look would find.
    if (r === -1) fail('EBADFD', syscall, 'port closed while waiting');
    // An alert set while the spin had the lock dropped: the general path returns it.
    if (r === 1 && (I32[h + P.flags]! & PQ_ALERT) !== 0) { port_exit(h); return undefined; }
    if (r !== 1) {
      if (r === 0) {
        // About to wait: a thread's first wait warms its take (not on a
        // timer-fed port, whose first expiry has a warm-up of its own).
        const warm = tns !== 0 && I32[h + P.ntimers]! <= 0;
        port_exit(h);
        // (Not past a timeout's deadline, which runs from the call's entry: GetnReq.t0.)
        if (warm) take_warm(h, nget, tns > 0 && t0 >= 0 ? t0 + tns : Infinity);
      }
      return undefined;
    }
  }
  const out = into ?? take_out();
  take_and_unlock(h, max, out);
  if (out.length > 0) { room_notify(h); return out; }
  // All denied by their sources: the general path goes on as it would after
  // such a take, waiting for an event queued after it (a number: the sendGen
  // to move past). A poll that found nothing has its answer: none.
  return takeResult.denied > 0 ? takeResult.sendGen : tns === 0 ? out : undefined;
}

/**
 * port_enter for getn_gen after getn_fast found the port open (lock held on
 * return): a descriptor closed since is EBADFD, a close while getting, as
 * the seed's port_getn returns to a getter whose port is closed under it
 * (it holds the file, so it never sees the EBADF of a new lookup).
 */
function port_reenter(fd: unknown, syscall: string): number {
  const h = port_enter_code(fd, syscall);
  if (typeof h !== 'number') fail('EBADFD', syscall, 'port closed while waiting');
  return h;
}

/**
 * getn_gen's answers that need no take and no sleep (port h entered): EINVAL
 * for nget > max, the count for max 0, nothing for nget 0, the alert of an
 * alerted port. Exits the port when it answers; undefined: go on, still entered.
 */
function getn_at_once(h: number, max: number, nget: number, syscall: string): port_event_list | undefined {
  if (nget > max && max > 0) { port_exit(h); fail('EINVAL', syscall, `nget ${nget} > max ${max}`); }
  if (max === 0) {
    const n = port_nent(h);
    port_exit(h);
    return event_list([], n);
  }
  if (nget === 0) { port_exit(h); return event_list([], 0); }
  if (I32[h + P.flags]! & PQ_ALERT) {
    const a = alert_event(h);
    port_exit(h);
    return event_list([a], 1);
  }
  return undefined;
}

/**
 * take_drops_lock for getn_gen (lock held): an async call names its thrcnt
 * in its record across the take (getter_hold), as a blocking one does for
 * its whole length. False when the word no longer named the port after it:
 * a reaping in this thread gave the thrcnt back (an LWP exit in the take,
 * the call now unwinding), not the call's to give back again.
 */
function take_held(h: number, max: number, out: port_event_t[], async: boolean): boolean {
  if (!async) { take_drops_lock(h, max, out); return true; }
  const prev = getter_hold(h);
  let held = false;
  try {
    take_drops_lock(h, max, out);
  } finally {
    held = getter_held(h);
    getter_unhold(0, prev);
  }
  return held;
}

/**
 * The body of port_get (one = true: max 1, nget 1, ETIME thrown) and
 * port_getn. Arguments are already checked for type; fd is checked here.
 */
export function* getn_gen(fd: unknown, req: GetnReq): SleepGen<port_event_list> {
  const { max, nget, tns, one, async, syscall } = req;
  // An async poll takes the set during a linger as the synchronous one
  // does in fast_take (which the async forms never go through).
  if (async && tns === 0) poll_linger_take(fd);
  take_reserve();
  const h = req.entered ? port_reenter(fd, syscall) : port_enter(fd, syscall);
  const quick = getn_at_once(h, max, nget, syscall);
  if (quick !== undefined) return quick;
  I32[h + P.thrcnt]!++;
  // A blocking call's thrcnt is named in its LWP's record for the whole call
  // (an async one's only across its takes: its sleeps have their orphan
  // release), for the reaping should its thread end in the middle of it.
  const thrPrev = async ? 0 : getter_hold(h);
  let thrHeld = true;
  const out = take_out();
  let deadline = -1;      // -1: not computed yet (no need to wait so far)
  let needNew = req.needNew; // port_gen to move past, after sources denied every event we took
  // The event a waker handed us (queue.ts wake_first_locked): we were woken
  // without the port lock and have left the port (the waker dropped our thrcnt).
  let handed: port_event_t | undefined;
  try {
    for (;;) {
      // The host calls before a take or a sleep that may need them (the
      // port's thrcnt, held, keeps it: the loop looks at it again).
      if (host_unready(h)) { mutex_exit(port_lock(h)); intr_host_load(); mutex_enter(port_lock(h)); }
      // Alert mode returns at once, also when it was set while this call had
      // the lock dropped (a take whose events its sources all denied, the
      // bridge) and so never saw it change alertGen: the seed's port_getn
      // looks at the flag on every pass. (Nothing is in `out` here.)
      if ((I32[h + P.flags]! & PQ_ALERT) !== 0) { out.push(alert_event(h)); break; }
      // Closed while a take had the lock dropped and its sources denied all
      // it took: a close while getting (a closed port's wait list is woken
      // by nobody).
      if ((I32[h + P.flags]! & PQ_CLOSE) !== 0) fail('EBADFD', syscall, 'port closed while waiting');
      if (port_nent(h) >= nget && (needNew === -1 || port_gen(h) !== needNew)) {
        if (!take_held(h, max, out, async)) thrHeld = false;
        if (out.length > 0) break;
        // Nothing delivered: its sources denied what it took (wait for an
        // event queued after this take), or withdrew it while it was being
        // delivered (look again): either way the call waits on, as the
        // seed's port_getn loops when it retrieved nothing.
        if (takeResult.denied > 0) needNew = port_gen(h);
        continue;
      }
      if (deadline === -1) {
        if (tns === TIMEOUT_INVALID) fail('EINVAL', syscall, 'invalid timeout');
        const ns = tns;
        if (ns === 0) { if (needNew === -1 && !take_held(h, max, out, async)) thrHeld = false; break; }   // poll: what is there
        deadline = ns < 0 ? Infinity : (req.t0 >= 0 ? req.t0 : mono_now()) + ns;
      }
      // Until the intr thread runs, OS events (PORT_SOURCE_FD) wait in its
      // epoll set: take them here, then sleep briefly (src-fd.ts).
      const until = fd_bridge_locked(h, deadline);
      // A bridge had the lock dropped, also one that returns the deadline
      // itself (less than a bridge period away): what came meanwhile woke
      // nobody (we were on no wait list). An alert set then is returned now,
      // not after a bridge period's sleep, nor lost to the timeout (ETIME).
      // (With no bridge the lock was held since the loop's top: the same
      // answers as there, none of them true.)
      if (I32[h + P.flags]! & PQ_CLOSE) fail('EBADFD', syscall, 'port closed while waiting');
      if (I32[h + P.flags]! & PQ_ALERT) continue;
      if (port_nent(h) >= nget && (needNew === -1 || port_gen(h) !== needNew)) continue;
      // Sleep until enough events, an alert, a close, a signal or the deadline.
      const alertGen = I32[h + P.alertGen]!;
      const sl = sq_alloc(SQF_INTERRUPTIBLE | (async ? SQF_ASYNC : 0), WMESG_PORTGET, syscall);
      if (async) sq_set_orphan(sl, SQO_PORT, h); // this call's thrcnt, should its LWP exit with it pending (below)
      // The sleeper's words are int32: an nget of 2^31 or more (a C uint_t,
      // never satisfied: port_max_events is at most 2^30) is kept as the
      // largest, not wrapped negative, which sorted it first and made it
      // take every wake-up meant for the waiters behind it.
      const want = nget > NGET_SLEEP_MAX ? NGET_SLEEP_MAX : nget;
      sq_setarg(sl, want);
      sq_enqueue(h + P.wqh, sl, want);
      if (I32[h + P.lane] !== 0) {
        // Tell the owner of the port's send lane what we wait for, then look
        // once more: it reads that after publishing (lane.ts), so either it
        // sees us and wakes us, or this look sees its event (a new one, when
        // sources denied all we took: the queue they denied is no reason).
        lane_ctl_sync_locked(h);
        if (port_nent(h) >= nget && (needNew === -1 || port_gen(h) !== needNew)) { sq_unlink(sl); sq_free(sl); lane_ctl_sync_locked(h); continue; }
      }
      kstat_add(C_WAITERS); kstat_add(C_WAITS);
      // Blocking forms only (the async ones must not hold their event loop):
      // a deadline-aware wait when one more event would do and a timer
      // feeding this port is due before our timeout, else the adaptive spin.
      const dw = async || until !== deadline || nget - port_nent(h) > 1 ? undefined : dwait_begin(h, deadline);
      // On a port fed through a send lane, a wait without timeout had its
      // spin before it registered (getn_fast's prespin): not a second one.
      // Otherwise, a blocking getter of a port with a PORT_SOURCE_FD
      // association waits on its descriptor in the host (hostwait.ts), one
      // with PORT_SOURCE_FILE ones on the kernel's epoll set (intr/hostwait.ts):
      // one hop from the host, and no CPU spent on a spin for an event the
      // host brings. Else the adaptive spin.
      const plain = !async && until === deadline && dw === undefined;
      const hostset = plain && Atomics.load(I32, h + P.hostset) !== 0;
      const fdwait = plain ? port_hostwait(h) : undefined;
      const host = fdwait ?? (hostset ? intr_hostwait() : undefined);
      // The intr thread still setting up: sleep a bridge period, then look again.
      const sleepUntil = host === undefined && hostset ? Math.min(until, mono_now() + intr_hostwait_retry_ns()) : until;
      const sp = !plain || host !== undefined || (tns === -1 && lane_owner(h) !== 0) ? undefined : spin_begin(h, deadline);
      // A blocking get of one event, with no spin or deadline-aware wait to
      // settle on the port afterwards, may be handed its event by a lane
      // push (queue.ts wake_first_locked): it then wakes without the lock.
      const hand = !async && max === 1 && nget === 1 && sp === undefined && dw === undefined;
      if (hand) sq_allow_handoff(sl);
      // With OS sources and no host wait on the kernel's set (the async
      // form, a deadline-aware wait, a descriptor's own wait: the intr
      // thread dispatches the others), no linger while it sleeps (intr/handover.ts).
      // (Not the descriptor hint: a getter's missed host wait drops it while
      // the port's other PORT_SOURCE_FD associations stay armed.)
      if ((host === undefined || host === fdwait) && (Atomics.load(I32, h + P.fdset) !== 0 || Atomics.load(I32, h + P.hostset) !== 0)) intr_nonhost_enter(sl);
      let r: number;
      // The alert that woke this getter, as port_alert gave it (sq_wake_all_stamped): a later one does not change it.
      let alerted: port_event_t | undefined;
      try {
        r = yield { sl, lock: port_lock(h), deadline: sleepUntil, spin: dw?.policy ?? sp?.policy, host, norelock: hand };
        if (r === SQ_WOKEN && (sq_flags(sl) & SQF_STAMPED) !== 0) alerted = port_event(sq_arg(sl), PORT_SOURCE_ALERT, 0, sq_hand(sl));
        if (hand && r === SQ_WOKEN) {
          // Read before the sleeper is freed (the free list link overwrites it).
          if ((sq_flags(sl) & SQF_HANDED) !== 0) handed = port_event(sq_arg(sl), PORT_SOURCE_USER, 0, sq_hand(sl));
          else mutex_enter(port_lock(h)); // a plain wake-up (an alert, a close, another event): back under the lock
        }
      } finally {
        sq_free(sl);
        if (handed === undefined) lane_ctl_sync_locked(h);
        kstat_add(C_WAITERS, -1);
      }
      if (handed !== undefined) { out.push(handed); break; }
      if (sp !== undefined) spin_end(sp, r === SQ_WOKEN);
      if (dw !== undefined) dwait_end(dw, r === SQ_WOKEN);
      if (I32[h + P.alertGen] !== alertGen) { out.length = 0; out.push(alerted ?? alert_event(h)); break; }
      if (I32[h + P.flags]! & PQ_CLOSE) fail('EBADFD', syscall, 'port closed while waiting');
      if (port_nent(h) >= nget && (needNew === -1 || port_gen(h) !== needNew)) continue;
      if (r === SQ_INTR) fail_status('EINTR', syscall);
      if (r === SQ_TIMEDOUT && sleepUntil < deadline && mono_now() < deadline) continue; // a bridge period
      if (r === SQ_TIMEDOUT || mono_now() >= deadline) {
        if (!one && (needNew === -1 || port_gen(h) !== needNew) && !take_held(h, max, out, async)) thrHeld = false;
        break;
      }
    }
  } finally {
    // A claim's statx confirmation (src-fd.ts) serves this call's delivery
    // only: a claimed event left queued is checked afresh by a later call.
    intr_call_forget();
    if (handed === undefined) {
      if (!async) getter_unhold(h, thrPrev);
      else if (thrHeld) I32[h + P.thrcnt]!--;
      port_exit_release(h);
    } else getter_unhold(0, thrPrev); // (its waker gave the thrcnt back and cleared the word)
  }
  if (one && out.length === 0) fail_status('ETIME', syscall, 'timeout expired');
  if (out.length > 0 && handed === undefined) room_notify(h); // (the hand-off did its own)
  return event_list(out, out.length);
}
