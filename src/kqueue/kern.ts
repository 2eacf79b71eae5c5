/**
 * The kqueue core (kern_event.c's kqueue life cycle, the knote life cycle
 * and pending queue), on structs in kernel memory; a kevent call's two
 * halves built on it are register.ts (kqueue_register) and scan.ts
 * (kqueue_scan). The knote states and their
 * transitions, and the guard of every field, are in knote.ts's header.
 *
 * Concurrency. Every change to a kqueue or its knotes happens under the
 * kqueue's lock (the few fields keyed otherwise in knote.ts: the reference
 * count, hash and watch-list links, the notify flag's lock-free clear), and
 * no filter operation sleeps, so registering, scanning and activating a
 * knote are each atomic. That gives the guarantees of the seed's
 * KN_PROCESSING / KN_REPROCESS protocol by construction: an activation
 * that arrives while a knote is being processed waits for the lock and is
 * then applied to the knote's new state, so it is never lost, and no knote
 * is seen half-processed. The seed needs a marker in the
 * pending queue because its scan may block and let others move the queue;
 * ours scans exactly the entries queued when it started (the count plays
 * the marker), so knotes re-queued by the scan (level-triggered ones) are
 * not returned twice in one call, and several LWPs scanning one kqueue take
 * disjoint events.
 *
 * Wake-ups. Each newly queued knote wakes one sleeper: one is enough since
 * the event it queued can be taken only once; a sleeper that finds nothing
 * (another LWP took the event first) goes back to sleep. Closing wakes all.
 *
 * Watch lists (watch.ts, notify.ts). A knote on a kernel descriptor sits
 * on that descriptor's watch list. Readiness changes are reported through
 * file_notify() with no lock held; the hook takes each watching kqueue's
 * lock, then the file's, and runs the filters. A kqueue reports its own
 * readiness changes only after dropping its lock (kq_unlock), so chains of
 * kqueues watching kqueues never hold two kqueue locks.
 *
 * Locks taken under a kqueue lock, all later in kern/lockorder.ts: a knote
 * hash stripe (knote.ts, a leaf), a file's watch-list lock, the callout
 * heap lock (EVFILT_TIMER arming), cache free-list spin locks. Callers
 * of kevent and the clock thread's handler hold no kernel lock.
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { TailQ } from '../kern/queue.js';
import { sq_wake, sq_wake_all, sq_first, sq_next, sq_flags, SQF_ASYNC } from '../kern/sleepq.js';
import * as fdtab from '../kern/fdtab.js';
import { file_notify, fd_get_file, fd_still, DTYPE_KQUEUE } from '../kern/fdtab.js';
import { knote_unwatch } from './watch.js';
import { fail } from '../kern/errno.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { kqueues, knotes, kn_hash_remove, KO, QO, KNS } from './knote.js';
import { filter_ops, type FilterOps } from './filter.js';
import { intr_host_load } from '../intr/kapi.js';

// The hot paths use the compile-time offsets and bits (knote.ts KO, QO,
// KNS: number literals, which V8's inlining budget counts least), and a
// module-local copy of the rest: optimised code reads an imported binding
// through its module cell, with a hole check, on every use.
const FF = fdtab.FF;

/** A kqueue's pending (active, enabled, not yet collected) knotes, in activation order. */
export const PENDQ = new TailQ(QO.qhead, QO.qtail, KO.qnext, KO.qprev);
/** Every knote registered on a kqueue (what close detaches). */
export const KNLIST = new TailQ(QO.lhead, QO.ltail, KO.lnext, KO.lprev);

const C_KQUEUES = kstat_counter('kqueue', 'kqueues_created');
export const C_KNOTES = kstat_counter('kqueue', 'knotes_added');
const C_DROPPED = kstat_counter('kqueue', 'knotes_dropped');
/** Gauges (up and down): kqueues allocated (open or still referenced), knotes registered. */
const C_KQ_INUSE = kstat_counter('kqueue', 'kqueues_in_use');
export const C_KN_INUSE = kstat_counter('kqueue', 'knotes_in_use');
export const C_EVENTS = kstat_counter('kqueue', 'events_returned');
export const C_SLEEPS = kstat_counter('kqueue', 'sleeps');
export const C_WAKEUPS = kstat_counter('kqueue', 'wakeups');
export const C_ENOMEM = kstat_counter('kqueue', 'knote_enomem');
const C_REHOST = kstat_counter('kqueue', 'host_rewaits');

// ---------------------------------------------------------------- kqueues

/** Allocates a kqueue with the descriptor's reference; 0 when the table is full. */
export function kq_alloc(): number {
  const kq = kqueues.alloc();
  if (kq !== 0) { I32[kq + QO.refs] = 1; kstat_add(C_KQUEUES); kstat_add(C_KQ_INUSE); }
  return kq;
}

/**
 * Binds the kqueue to its descriptor: fd_alloc's init, before the
 * descriptor is published (the fdtab lock held, no other), so whoever can
 * reach the kqueue through its descriptor sees both fields.
 */
export function kq_setfd(kq: number, fd: number, file: number): void {
  I32[kq + QO.fd] = fd;
  I32[kq + QO.file] = file;
}

/**
 * Looks up a kqueue descriptor and takes a reference, so the kqueue stays
 * in memory while the call uses it even if another LWP closes it (EBADF for
 * anything but an open kqueue).
 */
export function kq_hold(fd: unknown, syscall: string): number {
  // One lookup: the entry a descriptor number names is fixed, so the check
  // after taking the reference looks at that entry again (fd_still) rather
  // than looking the number up a second time.
  const file = fd_get_file(fd, DTYPE_KQUEUE, syscall, 'EBADF');
  const kq = I32[file + FF.obj]!;
  if (!kq_tryref(kq)) fail('EBADF', syscall, `fd ${String(fd)} closed`);
  if (!fd_still(fd as number, file) || I32[file + FF.obj] !== kq || Atomics.load(I32, file + FF.type) !== DTYPE_KQUEUE) {
    kq_rele(kq);
    fail('EBADF', syscall, `fd ${String(fd)} closed`);
  }
  return kq;
}

/** Takes a reference unless the kqueue is already freed. */
export function kq_tryref(kq: number): boolean {
  for (;;) {
    const r = Atomics.load(I32, kq + QO.refs);
    if (r <= 0) return false;
    if (Atomics.compareExchange(I32, kq + QO.refs, r, r + 1) === r) return true;
  }
}

/** Drops a reference; the last one frees the kqueue. */
export function kq_rele(kq: number): void {
  if (Atomics.sub(I32, kq + QO.refs, 1) === 1) { kqueues.free(kq); kstat_add(C_KQ_INUSE, -1); }
}

export function kq_lock(kq: number): void { mutex_enter(kq + QO.lock); }

// Work a filter must do without the kqueue lock (freeing a timer's callout
// waits for its handler, which may be waiting for that lock). Per thread.
const deferred: (() => void)[] = [];
/** Runs fn once the calling thread drops the kqueue lock it holds. */
export function defer_after_unlock(fn: () => void): void { deferred.push(fn); }
function run_deferred(): void {
  while (deferred.length !== 0) deferred.shift()!();
}

/**
 * Drops the kqueue lock, then tells the kqueue's watchers if it gained
 * events meanwhile.
 *
 * Why the watch list is looked at here, after the release, and not by
 * knote_enqueue: an enqueue stores the count and a watcher joining the list
 * (watch.ts, under the file lock) reads it next, so each side writes one
 * word and then reads the other's, and with plain accesses both can miss
 * (a store may still sit in its CPU's store buffer while the next load
 * runs: the watcher would hear of the event only at the next one). Here
 * the count was stored before the lock's release and the notify word's
 * exchange, both atomic read-modify-writes, which drain it; the watcher's
 * insert is released with the file lock before its filter reads the count.
 * So either this look finds the watcher or the watcher's read finds the
 * count. Whoever exchanges the word (this thread, or another unlocker that
 * saw this thread's mark) looks after it; the mark costs the enqueue one
 * plain store, the look one exchange per critical section that queued.
 */
export function kq_unlock(kq: number): void {
  mutex_exit(kq + QO.lock);
  if (deferred.length !== 0) run_deferred();
  if (Atomics.load(I32, kq + QO.notify) !== 0 && Atomics.exchange(I32, kq + QO.notify, 0) !== 0) {
    const file = I32[kq + QO.file]!;
    if (file !== 0 && Atomics.load(I32, file + FF.watch) !== 0) file_notify(file, I32[kq + QO.fd]!);
  }
}

/** Pending events (kq_count): what EVFILT_READ on a kqueue reports. A lock-free read. */
export function kq_pending(kq: number): number { return Atomics.load(I32, kq + QO.count); }

/**
 * close(2) of a kqueue: drops every knote, fails the LWPs sleeping in
 * kevent on it (they return EBADF) and releases the descriptor's reference.
 */
export function kq_close(kq: number): void {
  // Detaching OS knotes makes host calls: loaded first in a thread that has not (kevent.ts kevent_enter).
  if (I32[kq + QO.nos]! > 0) intr_host_load();
  kq_lock(kq);
  try {
    I32[kq + QO.closing] = 1;
    // Filter detach operations run here (kernel code, none throws); the
    // finally is the backstop that keeps the lock from leaking if one did.
    for (let kn = KNLIST.head(kq); kn !== 0; kn = KNLIST.head(kq)) knote_detach_and_drop(kn);
    sq_wake_all(kq + QO.sq);
    Atomics.store(I32, kq + QO.notify, 0);
  } finally {
    mutex_exit(kq + QO.lock);
  }
  run_deferred();
  kq_rele(kq);
}

// ---------------------------------------------------------------- knotes

/** Queues an active knote and wakes one sleeper (kqueue lock held). */
export function knote_enqueue(kq: number, kn: number): void {
  PENDQ.insert_tail(kq, kn);
  const m = I32; // the live binding, read once (each read reloads it and its bounds)
  m[kn + KO.status] = m[kn + KO.status]! | KNS.QUEUED;
  m[kq + QO.count] = m[kq + QO.count]! + 1; // written under the lock; lock-free readers use Atomics.load
  // Written only when it changes: a trigger loop then leaves the line clean.
  const lid = cur.lid;
  if (m[kq + QO.lastq] !== lid) m[kq + QO.lastq] = lid;
  if (m[kq + QO.sq] !== 0) wake_one(kq);
  // For kq_unlock to look for watchers (why there, not here: its comment).
  // Always, and a plain store: a mark skipped because the word read 1 could
  // meet another unlocker's exchange that had already looked.
  m[kq + QO.notify] = 1;
}

/** Wakes one LWP sleeping in kevent on kq, if one can be woken (kqueue lock held). */
function wake_one(kq: number): void {
  for (let sl = sq_first(kq + QO.sq); sl !== 0; sl = sq_first(kq + QO.sq)) {
    if (sq_wake(sl)) { kstat_add(C_WAKEUPS); break; }
  }
}

/**
 * A knote on an OS source (filters/os.ts, proc.ts) was attached to kq
 * (kqueue lock held). The first makes a blocking kevent wait in the host on
 * the kernel's epoll set (kevent.ts, intr/hostwait.ts), where the source's
 * arrival wakes the sleeper itself; a sleeper that went to sleep before it,
 * on its wait word, would be reached only through the intr thread (a
 * second host wake-up). So such sleepers are woken to look again: they find
 * nothing queued and go back to sleep, in the host this time.
 */
export function kq_os_attached(kq: number): void {
  const n = I32[kq + QO.nos]! + 1;
  I32[kq + QO.nos] = n;
  if (n !== 1) return;
  for (let sl = sq_first(kq + QO.sq); sl !== 0;) {
    const next = sq_next(sl);
    // An async sleeper never waits in the host: nothing to change for it.
    if ((sq_flags(sl) & SQF_ASYNC) === 0 && sq_wake(sl)) kstat_add(C_REHOST);
    sl = next;
  }
}
/** An OS knote of kq was detached (kqueue lock held). */
export function kq_os_detached(kq: number): void { I32[kq + QO.nos] = I32[kq + QO.nos]! - 1; }
/** A knote of kq on a kernel descriptor (EVFILT_READ on a kqueue or port) was attached, or detached (kqueue lock held). */
export function kq_kd_attached(kq: number, n: 1 | -1): void { Atomics.store(I32, kq + QO.nkd, I32[kq + QO.nkd]! + n); }

/**
 * Whether kq's events may come from the host (kqueue lock held): its own OS
 * knotes, or those of a kernel object one of its knotes watches (a kqueue
 * with OS knotes or itself watching objects, a port with PORT_SOURCE_FD or
 * PORT_SOURCE_FILE associations: their FileOps.hostfed). Its sleeper that
 * does not wait in the host is then one the intr thread serves (kevent.ts,
 * intr/handover.ts): a kqueue nested in another, or watching a port, has
 * no OS knotes of its own, and its sleeper left the linger going while the
 * inner object's arrival waited in the kernel's set. The watching knotes
 * are found on the knote list (counted: the walk stops at the last one);
 * one level deep, then what the watched object says of itself.
 */
export function kq_hostfed(kq: number): boolean {
  if (I32[kq + QO.nos]! > 0) return true;
  let left = I32[kq + QO.nkd]!;
  for (let kn = left > 0 ? KNLIST.head(kq) : 0; kn !== 0 && left > 0; kn = KNLIST.after(kn)) {
    const file = I32[kn + KO.file]!;
    if (file === 0) continue;
    left--;
    const obj = Atomics.load(I32, file + FF.obj);
    if (fdtab.fileops(Atomics.load(I32, file + FF.type))?.hostfed?.(obj) ?? true) return true;
  }
  return false;
}
/** FileOps.hostfed of a kqueue (lock-free): it has OS knotes, or watches kernel objects (which may have some). */
export function kq_hostfed_hint(kq: number): boolean {
  return Atomics.load(I32, kq + QO.nos) > 0 || Atomics.load(I32, kq + QO.nkd) > 0;
}

/** Unlinks a knote from the pending queue without touching its status (kqueue lock held). */
function queue_unlink(kq: number, kn: number): void {
  PENDQ.remove(kq, kn);
  I32[kq + QO.count]--;
}

/** Re-queues at the tail a knote the scan took off the queue (no wake-up: the scanner returns it). */
export function queue_append(kq: number, kn: number): void {
  PENDQ.insert_tail(kq, kn);
  I32[kq + QO.count]++;
}

/** KNOTE_ACTIVATE: marks the knote active and queues it unless queued or disabled (kqueue lock held). */
export function knote_activate(kn: number): void {
  const st = I32[kn + KO.status] | KNS.ACTIVE;
  I32[kn + KO.status] = st;
  if ((st & (KNS.QUEUED | KNS.DISABLED | KNS.DELETING)) === 0) knote_enqueue(I32[kn + KO.kq], kn);
}

/** Runs the filter and activates the knote if its event is present (kqueue lock held). */
export function knote_event(kn: number, hint: number): void {
  knote_event_ops(kn, hint, filter_ops(I32[kn + KO.filter])!);
}

/** knote_event for a caller that has the knote's filter operations at hand. */
export function knote_event_ops(kn: number, hint: number, ops: FilterOps): void {
  if ((I32[kn + KO.status]! & KNS.DELETING) === 0 && ops.event(kn, hint)) knote_activate(kn);
}

/**
 * For event sources outside kevent (the clock thread, the intr thread, a
 * later OS filter): runs the knote's filter with `hint` and activates it,
 * taking its kqueue's lock. `still(kn)`, checked under that lock, must say
 * whether kn is still the knote the caller meant (a knote can be dropped and
 * its memory reused meanwhile). No lock may be held by the caller.
 */
export function knote_fire(kn: number, hint: number, still: (kn: number) => boolean): boolean {
  const kq = I32[kn + KO.kq];
  if (kq === 0 || !kq_tryref(kq)) return false;
  kq_lock(kq);
  try {
    if (I32[kn + KO.kq] !== kq || !still(kn)) return false;
    knote_event(kn, hint);
    return true;
  } finally {
    kq_unlock(kq);
    kq_rele(kq);
  }
}

/** Detaches a knote from its filter and frees it (kqueue lock held). */
export function knote_detach_and_drop(kn: number): void {
  I32[kn + KO.status] |= KNS.DELETING;
  filter_ops(I32[kn + KO.filter])!.detach(kn);
  knote_drop(kn);
}

/** Unlinks a knote from every kqueue structure and frees it (kqueue lock held). */
function knote_drop(kn: number): void {
  const kq = I32[kn + KO.kq];
  knote_unwatch(kn);
  kn_hash_remove(kn);
  KNLIST.remove(kq, kn);
  if ((I32[kn + KO.status] & KNS.QUEUED) !== 0) queue_unlink(kq, kn);
  I32[kq + QO.nknotes]--;
  I32[kn + KO.kq] = 0;
  knotes.free(kn);
  kstat_add(C_DROPPED);
  kstat_add(C_KN_INUSE, -1);
}
