/**
 * The per-process timer table and the timer lock (the seed's timer.c
 * timer_lock / timer_grab / timer_release and the p_itimer array): which
 * ids are live, and the long-term sleep lock a syscall holds across its
 * whole call. Its rules are in itimer.ts's theory header (the table lock T,
 * the timer lock g, the life cycle rows "idle -> grabbed" to "removing");
 * kept apart from the struct and its firing because the clock thread never
 * comes here: everything in this file runs in syscalls, under T.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { sq_alloc, sq_enqueue, sq_free, sq_wake_one, sq_wake_all } from '../kern/sleepq.js';
import { sq_block } from '../kern/sleepwait.js';
import { on_boot } from '../kern/boot.js';
import { SysError, fail } from '../kern/errno.js';
import { cur } from '../kern/hdr.js';
import { mutex_class } from '../kern/lockdebug.js';
import { IT, ITLK_LOCKED, ITLK_REMOVE } from './itimer.js';

// Table region: [0] table lock, [1] free ids in the heap, [2] the last
// creation generation (IT.gen), then timer_max
// slots (itimer handles), then the free ids as a binary min-heap (the
// lowest is handed out first, as the seed's scan of p_itimer finds the
// first empty slot; a stack gave the id freed last). All [T,~]: plain stores
// under T; the count and
// the slots are also read lock-free (timer_count, timer_ids: a snapshot).
const T_LOCK = 0, T_NFREE = 1, T_GEN = 2, T_HDR = 3;
const table = kregion_create('itimer.table', (t) => T_HDR + 2 * t.timer_max!);
mutex_class('timertab', table, { skip: T_LOCK, words: 1 });

export function timer_max(): number { return (table.words - T_HDR) >> 1; }
export function table_lock(): number { return table.base + T_LOCK; }
function slot(tid: number): number { return table.base + T_HDR + tid; }
function free_heap(i: number): number { return table.base + T_HDR + timer_max() + i; }

on_boot(itimer_init);
/** Boot: every id free, lowest handed out first (ascending: a min-heap already). */
function itimer_init(): void {
  const n = timer_max();
  for (let i = 0; i < n; i++) I32[free_heap(i)] = i;
  I32[table.base + T_NFREE] = n;
}

/** Takes the lowest free id out of the heap of `n` (n > 0; table lock held). */
function free_pop(n: number): number {
  const top = I32[free_heap(0)]!;
  const x = I32[free_heap(n - 1)]!;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n - 1) break;
    if (c + 1 < n - 1 && I32[free_heap(c + 1)]! < I32[free_heap(c)]!) c++;
    if (I32[free_heap(c)]! >= x) break;
    I32[free_heap(i)] = I32[free_heap(c)]!;
    i = c;
  }
  I32[free_heap(i)] = x;
  return top;
}

/** Puts `tid` into the heap of `n` free ids (table lock held). */
function free_push(n: number, tid: number): void {
  let i = n;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (I32[free_heap(p)]! <= tid) break;
    I32[free_heap(i)] = I32[free_heap(p)]!;
    i = p;
  }
  I32[free_heap(i)] = tid;
}

// ---- the timer lock protocol (table lock held)
//
// A wait for the timer lock needs a sleep-queue entry. Taking one can fail
// (EAGAIN when the sleeper cache is exhausted), and nothing may throw with
// the table lock held, so an entry is taken only when a wait is needed,
// with the lock dropped (refill); the caller then looks again at what it
// had looked at, which may have changed or gone meanwhile. A thread that
// cannot get an entry at all polls instead: it counts itself in it_pollers,
// drops the lock, waits on the timer's lock word (timer_unlock notifies it;
// 1 ms at most) and looks again. Slower, but it never fails, which
// timer_unhook (timer_delete, process exit) needs.

/** A sleep-queue entry for waits on a timer's lock, or 0 when none is free. No lock may be held. */
function take_waiter(): number {
  try {
    return sq_alloc(0, 0, 'timer_lock');
  } catch (e) {
    if (e instanceof SysError && e.code === 'EAGAIN') return 0;
    throw e;
  }
}

/** Waits on the timer's condition variable (table lock held, dropped while asleep, held again on return). */
function cv_wait(it: number, sl: number): void {
  const L = table_lock();
  if (sl !== 0) {
    sq_enqueue(it + IT.cv, sl);
    sq_block(sl, L, Infinity);
    return;
  }
  const seen = I32[it + IT.lock]!;
  I32[it + IT.pollers]!++;
  mutex_exit(L);
  Atomics.wait(I32, it + IT.lock, seen, 1);
  mutex_enter(L);
  I32[it + IT.pollers]!--;
}

/** A waiter slot a caller holds across a timer-lock wait: 0 until one is needed. */
interface Waiter { sl: number; polled: boolean }

/** Gets a sleep-queue entry for `w` with the table lock dropped and retaken. */
function refill(w: Waiter): void {
  const L = table_lock();
  mutex_exit(L);
  w.sl = take_waiter();
  w.polled = w.sl === 0;
  mutex_enter(L);
}

/** True when `w` can wait (it has an entry, or polls). */
function ready(w: Waiter): boolean { return w.sl !== 0 || w.polled; }

/**
 * timer_lock: waits for ITLK_LOCKED to clear, then sets it (table lock held,
 * `w` ready). While it waits it counts as a blocker, so the timer cannot be
 * removed under it.
 */
function timer_lock_w(it: number, w: Waiter): void {
  while ((I32[it + IT.lock]! & ITLK_LOCKED) !== 0) {
    I32[it + IT.blockers]!++;
    cv_wait(it, w.sl);
    I32[it + IT.blockers]!--;
  }
  I32[it + IT.lock]! |= ITLK_LOCKED;
  I32[it + IT.owner] = cur.lid;
}

/** Gives back a waiter's entry (no lock held). */
function done(w: Waiter): void { if (w.sl !== 0) sq_free(w.sl); w.sl = 0; }

/** timer_unlock (table lock held). */
export function timer_unlock(it: number): void {
  I32[it + IT.lock]! &= ~ITLK_LOCKED;
  I32[it + IT.owner] = 0;
  sq_wake_one(it + IT.cv);
  // Pollers (no entry) wait on the lock word, whose value just changed.
  if (I32[it + IT.pollers] !== 0) Atomics.notify(I32, it + IT.lock);
}

/**
 * timer_grab: the locked timer of an id, or 0 when the id is out of range,
 * free, or its timer is being removed. Takes and drops the table lock.
 */
export function timer_grab(tid: number): number { return grab(tid, false); }

/**
 * timer_grab and timer_unhook in one hold of the table lock (timer_delete):
 * the grabbed timer of an id, already out of the table, or 0 as timer_grab.
 */
export function timer_grab_unhook(tid: number): number { return grab(tid, true); }

function grab(tid: number, unhook: boolean): number {
  if (!Number.isInteger(tid) || tid < 0 || tid >= timer_max()) return 0;
  const L = table_lock();
  const w: Waiter = { sl: 0, polled: false };
  mutex_enter(L);
  const it = grab_locked(tid, w);
  if (unhook && it !== 0) unhook_locked(it, w);
  mutex_exit(L);
  done(w);
  return it;
}

/** timer_grab's body (table lock held, dropped and retaken while it waits). */
function grab_locked(tid: number, w: Waiter): number {
  const L = table_lock();
  let it = I32[slot(tid)]!;
  if (it !== 0 && (I32[it + IT.lock]! & ITLK_LOCKED) !== 0 && I32[it + IT.owner] === cur.lid) {
    // This thread holds it already: waiting would be for ever (a kernel bug).
    mutex_exit(L);
    done(w);
    fail('EDEADLK', 'timer_grab', `timer ${tid} is already held by this thread`);
  }
  while (it !== 0 && (I32[it + IT.lock]! & ITLK_LOCKED) !== 0 && !ready(w)) {
    refill(w);
    it = I32[slot(tid)]!; // the lock was dropped: the timer may have gone
  }
  if (it !== 0) {
    timer_lock_w(it, w);
    if ((I32[it + IT.lock]! & ITLK_REMOVE) !== 0) {
      timer_unlock(it);
      it = 0;
    }
  }
  return it;
}

/** timer_release: unlocks a grabbed timer. */
export function timer_release(it: number): void {
  const L = table_lock();
  mutex_enter(L);
  timer_unlock(it);
  mutex_exit(L);
}

/** Takes a free id and installs a new timer born locked; -1 when none is free (table lock held). */
export function table_install(it: number): number {
  const n = I32[table.base + T_NFREE]!;
  if (n === 0) return -1;
  const tid = free_pop(n);
  I32[table.base + T_NFREE] = n - 1;
  I32[it + IT.tid] = tid;
  // Unlike (struct, id), which the next create may reuse at once, a
  // generation names this timer only: what its signal is matched with.
  const g = (I32[table.base + T_GEN]! + 1) & 0x7fffffff || 1;
  I32[table.base + T_GEN] = g;
  I32[it + IT.gen] = g;
  I32[it + IT.lock] = ITLK_LOCKED;
  I32[it + IT.owner] = cur.lid;
  I32[slot(tid)] = it;
  return tid;
}

/** Frees a timer's id (table lock held). */
function table_remove(tid: number): void {
  I32[slot(tid)] = 0;
  const n = I32[table.base + T_NFREE]!;
  free_push(n, tid);
  I32[table.base + T_NFREE] = n + 1;
}

/**
 * Marks a grabbed timer as being removed, waits until no thread is blocked
 * on its lock, and takes its id out of the table so nobody can find it.
 * Returns with the table lock dropped; the caller tears the timer down.
 */
export function timer_unhook(it: number): void {
  const L = table_lock();
  const w: Waiter = { sl: 0, polled: false };
  mutex_enter(L);
  unhook_locked(it, w);
  mutex_exit(L);
  done(w);
}

/** timer_unhook's body (table lock held, dropped and retaken while it waits). */
function unhook_locked(it: number, w: Waiter): void {
  I32[it + IT.lock]! |= ITLK_REMOVE;
  while (I32[it + IT.blockers]! > 0) {
    if (!ready(w)) { refill(w); continue; } // the timer is ours (grabbed): it stays
    timer_unlock(it);
    cv_wait(it, w.sl);
    timer_lock_w(it, w);
  }
  table_remove(I32[it + IT.tid]!);
  sq_wake_all(it + IT.cv);
}

/**
 * The last unlock of a timer out of the table (timer_unhook done): nobody
 * can find it any more and nobody waits on it (it_blockers was 0 under T,
 * and a thread polling for the lock counts as a blocker), so its lock bits
 * are cleared without the table lock, as table_install sets a new timer's
 * before it is published. Saves timer_delete a round trip on T.
 */
export function timer_unlock_unhooked(it: number): void {
  I32[it + IT.lock]! &= ~ITLK_LOCKED;
  I32[it + IT.owner] = 0;
}

/** Every live timer id (a snapshot; for process exit and port close). */
export function timer_ids(): number[] {
  const out: number[] = [];
  const n = timer_max();
  for (let i = 0; i < n; i++) if (Atomics.load(I32, slot(i)) !== 0) out.push(i);
  return out;
}
/** Timers that exist now. */
export function timer_count(): number { return timer_max() - Atomics.load(I32, table.base + T_NFREE); }
