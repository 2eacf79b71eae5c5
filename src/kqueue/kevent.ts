/**
 * The body of kevent(2), shared by the blocking and the Promise forms:
 * kevent_enter does everything up to the first sleep as a plain function
 * (triggers and polls never pay for a generator); kevent_wait is the
 * generator that sleeps (kern/sleeprun.ts runs it either way). Internal:
 * sys.ts and the idiomatic layer call them.
 */
import { I32 } from '../kern/kmem.js';
import { fail, fail_status, errno_of, type Errno } from '../kern/errno.js';
import { copyin_i32, copyin_length, copyin_struct, copyin_check, copyin_timeout_ns, copyin_fault, arg_type } from '../kern/copyin.js';
import { mono_now, type Timespec } from '../kern/time.js';
import { sq_alloc, sq_enqueue, sq_free, sq_set_orphan, sq_orphan_release_register, SQO_KQ, SQ_INTR, SQ_TIMEDOUT, SQF_INTERRUPTIBLE, SQF_ASYNC } from '../kern/sleepq.js';
import { sq_poll_idle } from '../kern/sleepwait.js';
import type { SleepGen } from '../kern/sleeprun.js';
import { wmesg_register } from '../kern/wmesg.js';
import { kstat_add } from '../kern/kstat.js';
import { Q } from './knote.js';
import { kq_hold, kq_rele, kq_lock, kq_unlock, kq_hostfed, C_SLEEPS } from './kern.js';
import { kqueue_scan } from './scan.js';
import { kqueue_register_locked } from './register.js';
import { spin_poll } from './spin.js';
import type { kevent_t } from './filter.js';
import * as consts from './consts.js';
import { intr_bridge, intr_bridge_needed, intr_hostwait, intr_hostwait_retry_ns, intr_call_forget, intr_lingering, intr_linger_take, intr_nonhost_enter, intr_consumer_enter, intr_consumer_return, intr_host_load, intr_host_loaded, os_loaded, BRIDGE_NS } from '../intr/kapi.js';
import { FD_BASE } from '../kern/fdtab.js';

const WMESG_KQREAD = wmesg_register('kqread');
// Local copies for apply_changes' loop (an imported binding is a cell load and a hole check per use; see scan.ts).
const EV_ERROR = consts.EV_ERROR, EV_RECEIPT = consts.EV_RECEIPT;
/** Changes applied per hold of the kqueue lock. */
const CHUNK = 64;

const copyin_kevent = copyin_struct('a changelist entry', ['ident', 'filter', 'flags', 'fflags', 'data', 'udata']);

/**
 * The kernel's copy of one change. A class of its own, not an object
 * literal: literals with kevent_t's six keys share V8's hidden classes with
 * every kevent_t user code makes (EV_SET's, the events kevent returns), and
 * the kernel writes into its copies (flags, fflags, data), which changed
 * the field representations of those shared classes; objects of a
 * deprecated class are migrated one by one on access, and a trigger then
 * cost several times its due, at random from one run to the next.
 */
class Change implements kevent_t {
  constructor(public ident: number, public filter: number, public flags: number,
    public fflags: number, public data: number, public udata: number,
    /** The values fit C's types (bad_value, judged at copy-in): else the change is EINVAL. */
    public valid: boolean) {}
}

/**
 * The kernel's copy of a changelist: its first `n` records. A thread keeps
 * one set of records and reuses it from call to call (a 10 000-change
 * trigger then allocates nothing per change, and the records live in the
 * old generation, out of the scavenger's way), and one array for the
 * list's elements, the copy-in's first pass (copyin_array made a fresh one
 * per call: 80 KB for a 10 000-change trigger). kevent does not nest, but a
 * getter the copy-in runs may call it: such a call, finding the set taken,
 * copies into fresh records, as does a list longer than POOL_MAX.
 */
class ChangeList {
  constructor(readonly list: readonly Change[], readonly n: number, readonly pooled: boolean) {}
}
const POOL_MAX = 16384;
const pool: Change[] = [];
/** The elements of the list being copied (each slot emptied once read: no user object is kept past its call). */
const elems: unknown[] = [];
let pool_busy = false;
/** The copy of an absent or empty changelist (only ever read). */
const NO_CHANGES = new ChangeList([], 0, false);

/** Gives the thread's records back, if this copy holds them. */
function changes_done(c: ChangeList): void {
  if (c.pooled) pool_busy = false;
}

/**
 * The array a call returns its events in, fresh for each call. For one
 * event (a blocking kevent(kq, null, 1, ...) loop) it is made with room for
 * exactly one: an empty literal's first push gives it room for seventeen,
 * ~70 bytes of garbage per call.
 */
function results(max: number): kevent_t[] {
  if (max !== 1) return [];
  const a: kevent_t[] = [ROOM_PRIMER];
  a.pop();
  return a;
}
// A placeholder popped at once (it only sets the array's elements kind): not
// a kevent_t literal, whose hidden class user code's kevent_t objects share.
const ROOM_PRIMER = Object.freeze({}) as unknown as kevent_t;

/**
 * Copies in the changelist (C's copyin of the struct kevent array): the
 * array's length and each element once, then each element's six fields
 * once, into kernel-owned records that nothing else references. A wrong
 * JS type anywhere is a TypeError before any change is applied. Values are
 * judged later, per change (EINVAL entries), on these copies. The caller
 * hands the copy to changes_done once applied (or on a throw).
 */
function copyin_changes(changelist: unknown, syscall: string): ChangeList {
  if (changelist === null || changelist === undefined) { copyin_check(syscall); return NO_CHANGES; }
  const n = copyin_length(changelist, 'changelist', syscall);
  if (n === 0) return NO_CHANGES;
  // Taken before the elements are read: a getter or Proxy trap the reads
  // run may call kevent, which then copies into fresh arrays of its own.
  const pooled = !pool_busy && n <= POOL_MAX;
  if (pooled) pool_busy = true;
  const src = changelist as readonly unknown[];
  // Unpooled, the arrays grow as entries are copied: made at length n,
  // 10^7 holes cost ~0.3 s of allocation before the first entry was read.
  const list: unknown[] = pooled ? elems : [];
  const out: Change[] = pooled ? pool : [];
  let i = 0;
  // Copied up to the first entry that is no object (a hole of a sparse
  // array reads as undefined): the loop below fails there, in order, and
  // nothing after it is read. Copying all n first let a sparse array of a
  // huge length keep the caller in this loop for seconds (length 10^8:
  // 7.8 s) or minutes (2^31 - 1) before the same error; C's copyin fails
  // at the first page it cannot read (EFAULT).
  let m = n;
  // The element whose fields are being read (undefined while the list's own elements are).
  let at: unknown;
  try {
    for (; i < n; i++) {
      const v = src[i];
      if (i < list.length) list[i] = v; else list.push(v);
      if (v === null || typeof v !== 'object') { m = i + 1; break; }
    }
    for (i = 0; i < m; i++) {
      const v = list[i];
      at = v;
      if (pooled) list[i] = undefined;
      // copyin_kevent's checks and messages, without its intermediate record:
      // the six fields go straight into the kernel's copy.
      if (v === null || typeof v !== 'object') copyin_kevent(v, syscall);
      const r = v as Record<string, unknown>;
      const ident0 = r.ident, filter0 = r.filter, flags0 = r.flags, fflags = r.fflags, data0 = r.data, udata = r.udata;
      if (typeof ident0 !== 'number' || typeof filter0 !== 'number' || typeof flags0 !== 'number' ||
          typeof fflags !== 'number' || typeof data0 !== 'number' || typeof udata !== 'number') {
        arg_type(syscall, `changelist[${i}] needs numeric ident, filter, flags, fflags, data and udata`);
      }
      // The integer fields as C holds them: -0 is 0 (+ 0 changes nothing
      // else). Kept as -0, an ident came back as -0 in the knote's events,
      // also to a change that named it 0. udata is a user word, bit-exact.
      const ident = ident0 + 0, filter = filter0 + 0, flags = flags0 + 0, data = data0 + 0;
      // Values are judged here, once, on the copies (C's types: bad_value);
      // the verdict travels with the record and apply_changes reports it in
      // order (an EINVAL entry or error, as before). Judged here rather than
      // in apply_changes' loop: V8 inlines callees into a function only up to
      // a total of bytecode (knote.ts hi32), and that loop's budget is better
      // spent on the knote lookup and activation each change runs.
      const valid = !bad_value(ident, filter, flags, fflags, data);
      const ff = valid ? fflags >>> 0 : fflags;
      if (!pooled) {
        out.push(new Change(ident, filter, flags, ff, data, udata, valid));
      } else if (i < out.length) {
        const c = out[i]!;
        c.ident = ident; c.filter = filter; c.flags = flags; c.fflags = ff; c.data = data; c.udata = udata; c.valid = valid;
      } else {
        out.push(new Change(ident, filter, flags, ff, data, udata, valid));
      }
    }
  } catch (e) {
    if (pooled) { list.fill(undefined, 0, Math.min(n, list.length)); pool_busy = false; }
    // A revoked Proxy (the list, or an entry) is EFAULT; anything else as thrown.
    if (at === undefined) copyin_fault(e, changelist, 'changelist', syscall);
    copyin_fault(e, at, `changelist[${i}]`, syscall);
  }
  return new ChangeList(out, n, pooled);
}

/**
 * Values C's types could not hold: EINVAL for that change. ident uintptr_t
 * (a safe integer >= 0), filter short, flags u_short, fflags u_int (a
 * negative int is taken as its bit pattern, so NOTE_* masks built with JS's
 * signed bitwise operators work), data intptr_t (a safe integer).
 */
function bad_value(ident: number, filter: number, flags: number, fflags: number, data: number): boolean {
  // Each test is true exactly for an integer in its range (NaN, infinities
  // and fractions fail the integer conversion's round trip; -0 passes, as
  // it did Number.isInteger). The two 64-bit fields fall back to isSafeInteger.
  return (filter << 16 >> 16) !== filter || (flags & 0xffff) !== flags ||
    ((fflags | 0) !== fflags && (fflags >>> 0) !== fflags) ||
    ((ident >>> 0) !== ident && !(Number.isSafeInteger(ident) && ident > 0)) ||
    ((data | 0) !== data && !Number.isSafeInteger(data));
}

/** Whether a change names an OS descriptor or a process (filters whose attach or detach makes host calls). */
function os_changes(changes: ChangeList): boolean {
  const list = changes.list;
  for (let i = 0; i < changes.n; i++) {
    const c = list[i]!, f = c.filter;
    if (f === EVFILT_PROC || (c.ident < FD_BASE && (f === EVFILT_READ || f === EVFILT_WRITE || f === EVFILT_EXCEPT || f === EVFILT_VNODE))) return true;
  }
  return false;
}
const EVFILT_READ = consts.EVFILT_READ, EVFILT_WRITE = consts.EVFILT_WRITE, EVFILT_EXCEPT = consts.EVFILT_EXCEPT;
const EVFILT_VNODE = consts.EVFILT_VNODE, EVFILT_PROC = consts.EVFILT_PROC;

/**
 * Applies the changelist in order (kqueue_register on a private copy of each
 * change, as C copies in). Returns the EV_ERROR / EV_RECEIPT entries; fails
 * with a change's errno when no room is left for its entry. Kept out of the
 * generator below, which V8 optimises less well.
 */
function apply_changes(kq: number, changes: ChangeList, max: number, syscall: string): kevent_t[] {
  const out = results(max);
  const list = changes.list, n = changes.n;
  // The lock is held for up to CHUNK changes at a time: cheaper than once
  // per change, and short enough not to starve other users of the kqueue.
  let held = 0;
  try {
    for (let i = 0; i < n; i++) {
      // The kernel's own copy (copyin_changes): register may update it, as
      // the seed updates its copy for the EV_RECEIPT / EV_ERROR entry.
      const kev = list[i]!;
      let err: Errno = 'EINVAL';
      if (kev.valid) {
        if (held === 0) kq_lock(kq);
        err = kqueue_register_locked(kq, kev);
        if (++held === CHUNK) { held = 0; kq_unlock(kq); }
      }
      if (err === 0 && (kev.flags & EV_RECEIPT) === 0) continue;
      if (out.length === max) {
        // Release first: nothing throws with the kqueue lock held.
        if (held !== 0) { held = 0; kq_unlock(kq); }
        if (err !== 0) fail(err, syscall, `change {ident ${kev.ident}, filter ${kev.filter}}`);
        return out; // a receipt with no room left: the rest is not applied (FreeBSD)
      }
      out.push({ ident: kev.ident, filter: kev.filter, flags: EV_ERROR, fflags: kev.fflags >>> 0,
        data: err === 0 ? 0 : errno_of(err), udata: kev.udata });
    }
  } finally {
    if (held !== 0) kq_unlock(kq);
  }
  return out;
}

// An async kevent whose LWP exited (or whose worker died) with it pending is
// orphaned (kern/sleepq.ts sq_orphan): its continuation never runs, so the
// kqueue reference kevent_wait's finally gives back is given back here (the
// kqueue was never freed after its close).
sq_orphan_release_register(SQO_KQ, (kq) => { kq_rele(kq); });

/** A kevent call that must sleep: the state kevent_enter hands to kevent_wait (kqueue lock held). */
export interface KeventWait {
  kq: number; max: number; deadline: number; out: kevent_t[]; syscall: string;
  /** A blocking call on OS knotes: its return is a consumer's (intr_consumer_return). */
  consumer: boolean;
  /** The lock was dropped before the wait started (kevent_wait_unlock): kevent_wait takes it again. */
  unlocked?: boolean;
  /** kevent_wait has started: its finally gives back the lock and the reference. */
  started?: boolean;
}

/**
 * Everything kevent does before it may sleep, outside the generator (calls
 * that never sleep, such as triggers and polls, never pay for one): checks,
 * the changelist, then one scan. Returns the result, or, when the caller
 * must wait, a KeventWait with the kqueue lock and a reference held.
 */
export function kevent_enter(fd: number, changelist: readonly kevent_t[] | null, nevents: number,
  timeout: Timespec | null | undefined, syscall: string, blocking = false): kevent_t[] | KeventWait {
  // Copy in every argument once, before any lock and before anything
  // changes (C's copyin faults first): the rest sees only the copies.
  const kfd = copyin_i32(fd, 'kq', syscall, 'EBADF');
  const changes = copyin_changes(changelist, syscall);
  let max: number, wait: number, kq: number;
  try {
    max = copyin_i32(nevents, 'nevents', syscall);
    if (max < 0) fail('EINVAL', syscall, `nevents ${max}`);
    const tns = copyin_timeout_ns(timeout, syscall);
    wait = tns < 0 ? Infinity : tns;
    intr_call_forget(); // no statx confirmation from before this call answers in it
    // A poll fires due callouts itself until the clock thread runs, and any
    // call takes OS events itself until the intr thread runs: both for the
    // events this call may return, so a call that wants none (a trigger,
    // nevents 0) leaves them to the threads that collect.
    if (max !== 0) {
      if (wait === 0) sq_poll_idle();
      intr_bridge();
    }
    kq = kq_hold(kfd, syscall);
    // The host calls, loaded now in a thread that has not loaded them
    // (milliseconds, once) when this call may make one under the kqueue
    // lock: a change on an OS descriptor or process (its attach, detach
    // or evaluation); for a scan or a sleep on OS knotes, host_ready below.
    // A load under the lock stalled everyone who needed it, and one that
    // failed had nothing to call there (intr_host_load). Once loaded, the
    // changelist is not looked through for it (a trigger's hot path).
    if (!intr_host_loaded() && os_changes(changes)) intr_host_load();
  } catch (e) {
    changes_done(changes);
    throw e;
  }
  let handed = false;
  // A blocking call that collects OS knotes: a consumer that comes back,
  // whose absence since its last return the linger's window measures and
  // whose return lingers (intr/handover.ts). No lock held for either.
  const consumer = blocking && max !== 0 && wait !== 0 && I32[kq + Q.nos]! > 0;
  if (consumer) intr_consumer_enter();
  let got = false;
  try {
    // While a host waiter's linger lasts, the intr thread does not take the
    // set's events: a poll of OS knotes takes them itself (intr.ts), and so
    // does a poll of a kqueue that watches kernel objects (whose OS
    // sources may feed it: kern.ts kq_hostfed; a hint, no lock held).
    if (max !== 0 && wait === 0 && (I32[kq + Q.nos]! > 0 || I32[kq + Q.nkd]! > 0)) intr_linger_take();
    let out: kevent_t[];
    if (changes.n === 0) out = results(max);
    else try { out = apply_changes(kq, changes, max, syscall); } finally { changes_done(changes); }
    // Entries for changes end the call at once, as in both kernels.
    if (out.length !== 0 || max === 0) { got = out.length !== 0; return out; }
    kq_lock(kq);
    try {
      host_ready(kq);
      if (I32[kq + Q.closing] !== 0) fail('EBADF', syscall, 'kqueue closed');
      if (I32[kq + Q.count] !== 0) kqueue_scan(kq, max, out);
      if (out.length !== 0 || wait === 0) { got = out.length !== 0; return out; }
      handed = true;
      return { kq, max, deadline: wait === Infinity ? Infinity : mono_now() + wait, out, syscall, consumer };
    } finally {
      if (!handed) kq_unlock(kq);
    }
  } finally {
    if (!handed) {
      kq_rele(kq);
      intr_call_forget(); // (kevent_wait's end forgets otherwise)
      if (consumer) intr_consumer_return(got);
    }
  }
}

/**
 * Gives back what kevent_enter handed over (the kqueue lock and reference)
 * for a wait that will not run: kevent_wait's own finally, for a generator
 * that is never started (its try, and so its finally, is entered only by
 * its first step).
 */
export function kevent_wait_abandon(w: KeventWait): void {
  intr_call_forget();
  if (w.unlocked !== true) kq_unlock(w.kq);
  kq_rele(w.kq);
  if (w.consumer) intr_consumer_return(false);
}

/**
 * Drops the kqueue lock of a wait that has not started, so that user code
 * may run before it does (an AbortSignal's `aborted`, which may be a getter:
 * run under the lock, a syscall made from it was a kernel panic).
 * kevent_wait takes the lock again and looks at the queue before it sleeps
 * (as after a bridge), so nothing that came meanwhile is missed. The
 * reference stays held.
 */
export function kevent_wait_unlock(w: KeventWait): void {
  w.unlocked = true;
  kq_unlock(w.kq);
}

/**
 * A scan or sleep on a kqueue with OS knotes makes host calls (their
 * evaluation, the host wait): in a thread that has not loaded them, they
 * are loaded with the lock dropped first (kqueue lock and a reference
 * held; the caller looks at the kqueue again after). One test once loaded.
 */
function host_ready(kq: number): void {
  if (I32[kq + Q.nos]! === 0 || os_loaded()) return;
  kq_unlock(kq);
  try { intr_host_load(); } finally { kq_lock(kq); }
}

/** Runs the intr bridge with the kqueue lock dropped (it activates knotes, taking kqueue locks). */
function bridging(kq: number): void {
  kq_unlock(kq);
  try { intr_bridge(); } finally { kq_lock(kq); }
}

/** The sleeping part of kevent: owns the lock and reference kevent_enter handed over. */
export function* kevent_wait(w: KeventWait, async: boolean): SleepGen<kevent_t[]> {
  const { kq, max, deadline, out, syscall, consumer } = w;
  let polled = false;
  w.started = true;
  if (w.unlocked === true) { w.unlocked = false; kq_lock(kq); }
  try {
    for (;;) {
      host_ready(kq);
      if (I32[kq + Q.closing] !== 0) fail('EBADF', syscall, 'kqueue closed');
      if (I32[kq + Q.count] !== 0 && kqueue_scan(kq, max, out) !== 0) break;
      if (I32[kq + Q.count] !== 0) continue;
      if (deadline !== Infinity && mono_now() >= deadline) break;
      // Blocking form: first spin without queueing (a trigger then has
      // nobody to wake), once per call; the async form never spins.
      // Not while a host waiter's linger lasts on a kqueue with OS knotes:
      // nobody dispatches their events until a host waiter takes them, and
      // the host wait below finds the set readable at once (intr/handover.ts);
      // nor on one fed by OS sources it watches, whose sleep ends the linger.
      if (!async && !polled && !((I32[kq + Q.nos]! > 0 || I32[kq + Q.nkd]! > 0) && intr_lingering() && kq_hostfed(kq))) {
        polled = true;
        // Look again under the lock whatever the poll saw: a trigger after
        // its last look found nobody to wake.
        spin_poll(kq, deadline);
        continue;
      }
      // Until the intr thread runs, OS events wait in the epoll set: sleep
      // briefly and take them here (intr_bridge), as often as needed.
      let until = deadline;
      if (intr_bridge_needed()) {
        bridging(kq);
        if (I32[kq + Q.count] !== 0) continue;
        until = Math.min(deadline, mono_now() + BRIDGE_NS);
      }
      const sl = sq_alloc(SQF_INTERRUPTIBLE | (async ? SQF_ASYNC : 0), WMESG_KQREAD, syscall);
      if (async) sq_set_orphan(sl, SQO_KQ, kq); // the reference this call holds, should its LWP exit with it pending
      sq_enqueue(kq + Q.sq, sl, 0);
      kstat_add(C_SLEEPS);
      // With OS knotes, a blocking kevent waits in the host on the kernel's
      // epoll set and dispatches what wakes it itself (intr/hostwait.ts).
      // The intr thread still setting up: sleep a bridge period, then look again.
      const os = !async && I32[kq + Q.nos]! > 0;
      const host = os ? intr_hostwait() : undefined;
      if (os && host === undefined) until = Math.min(until, mono_now() + intr_hostwait_retry_ns());
      // With OS knotes and no host wait (the async form, or none to be had),
      // the intr thread dispatches for this sleeper: no linger while it
      // sleeps (intr/handover.ts: nobody else waits on it). The same for a
      // kqueue that watches a kqueue or port with OS sources (kq_hostfed):
      // the intr thread's dispatch of theirs is what wakes this sleeper.
      if (host === undefined && kq_hostfed(kq)) intr_nonhost_enter(sl);
      const r = yield { sl, lock: kq + Q.lock, deadline: until, host };
      sq_free(sl);
      if (r === SQ_INTR) fail_status('EINTR', syscall);
      if (r === SQ_TIMEDOUT && until < deadline) continue;
      if (r === SQ_TIMEDOUT) {
        if (I32[kq + Q.closing] === 0 && I32[kq + Q.count] !== 0) kqueue_scan(kq, max, out);
        break;
      }
    }
    return out;
  } finally {
    intr_call_forget(); // what this call confirmed ends with it
    kq_unlock(kq);
    kq_rele(kq);
    if (consumer) intr_consumer_return(out.length !== 0);
  }
}
