/**
 * Send lanes, the shared side: the lane's layout in kernel memory, the pool
 * lanes are bound from, and what the port's getters, close and other
 * senders do to a lane under the port lock. The owner's lock-free push and
 * its thread-local state are in lane.ts (the hot path, kept apart so that
 * this side's changes never touch it).
 *
 * What stays the seed's. Getters still take events under the port lock, in
 * FIFO order across the lane and the locked queue: every event queued on the
 * locked list records the lane's tail at that moment (E.rpos), i.e. it comes
 * after the lane entries published before it and before those published
 * after; take.ts merges the two by that mark. port_max_events holds exactly:
 * the owner pushes only against credits it was granted under the lock, and
 * granted credits count in P.curr like reserved slots until the events are
 * taken (or the credits given back). Waiters, alerts, close and readiness
 * work as before: a getter that queued itself to sleep publishes what it
 * waits for in the lane's control word and then looks at the lane once
 * more; the owner reads that word after its publishing store; so either the
 * getter sees the event or the owner sees the getter and wakes it under the
 * lock (the same pairing for kqueue watchers, through the descriptor's
 * watch word).
 *
 * Lane layout in words (each group on its own cache line):
 *   [0]  tail: entries published (owner only)
 *   [16] head: entries taken (getters, under the port lock); [17] the LWP that last took
 *   [32] ctl: events the first sleeping getter wants | LN_CLOSED; [33] owner lid;
 *   [34] port handle; [35] in use; [36] limit: tail value the granted credits reach;
 *   [37] room wait: the owner sleeps for room (lane_wait_room); [38] the head value that wakes it
 *   [48] entries: { user f64, events i32, source i32 } x port_lane_entries
 *
 * An entry's source word is 0 for port_send's events; otherwise it names an
 * owned source with a delivery callback whose event travels the lane instead
 * of a slot of its own (structured messages, msg-sys.ts: user the message
 * block's key, events its length). Getters deliver such an entry through
 * its source after the lock (take.ts, take-general.ts), a hand-off never
 * carries one (queue.ts), and what discards entries (a close) gives each
 * of them to the source's discard hook (lane_set_discard), so that what the
 * entry names (an arena block) is freed with it.
 */
import { I32, F64, kregion_create } from '../kern/kmem.js';
import { sq_first, sq_arg } from '../kern/sleepq.js';
import { tunables } from '../kern/boot.js';
import { kstat_add } from '../kern/kstat.js';
import { P, PQ_CLOSE, C_DISCARDED, C_SENT, C_LANES } from './mem.js';

export const LN_TAIL = 0, LN_HEAD = 16, LN_GETTER = 17, LN_CTL = 32, LN_OWNER = 33, LN_PORT = 34, LN_INUSE = 35, LN_LIMIT = 36, LN_ROOMWAIT = 37, LN_ROOMAT = 38, LN_ENT = 48;
/** ctl bit: the port was closed (its entries are discarded; the owner lets go). */
export const LN_CLOSED = 1 << 30;
/** ctl bits: events the first sleeping getter waits for (0: none asleep); see lane_ctl_sync_locked. */
export const LN_WANT = (1 << 30) - 1;

/** Entries per lane of tunables t: port_lane_entries rounded down to a power of two. */
function entries_of(t: { port_lane_entries?: number }): number { return 1 << (31 - Math.clz32(t.port_lane_entries!)); }
/** Entries per lane. */
export function lane_entries(): number { return entries_of(tunables()); }
function lane_words(): number { return LN_ENT + 4 * lane_entries(); }

// Region: 16 words of slack to start the first lane on a cache line.
const lanes = kregion_create('port_lanes', (t) => 16 + t.port_lanes! * (LN_ENT + 4 * entries_of(t)));
export function lane_handle(i: number): number { return ((lanes.base + 15) & ~15) + i * lane_words(); }

/** A free lane from the pool, marked in use (0: none left). */
export function lane_alloc(): number {
  const n = tunables().port_lanes!;
  for (let i = 0; i < n; i++) {
    const ln = lane_handle(i);
    if (Atomics.load(I32, ln + LN_INUSE) === 0 && Atomics.compareExchange(I32, ln + LN_INUSE, 0, 1) === 0) { kstat_add(C_LANES); return ln; }
  }
  return 0;
}

/** Word of a lane entry holding its source (0: port_send's event). */
export const LN_E_SOURCE = 3;

/** What a discarded source entry's source frees (installed by that source; lock held, never throws). */
let discard: (source: number, events: number, user: number) => void = () => {};
export function lane_set_discard(fn: (source: number, events: number, user: number) => void): void { discard = fn; }

/** Gives lane ln's entries [from, to) that belong to a source to its discard hook (port lock held). */
function lane_discard_range(ln: number, from: number, to: number): void {
  const mask = lane_entries() - 1;
  for (let r = from; r !== to; r = (r + 1) | 0) {
    const e = ln + LN_ENT + ((r & mask) << 2);
    const src = I32[e + LN_E_SOURCE]!;
    if (src !== 0) discard(src, I32[e + 2]!, F64[e >> 1]!);
  }
}

/**
 * Discards lane ln's queued entries (port lock held, the port closed):
 * moves the head to the tail; returns how many there were.
 */
export function lane_discard_locked(ln: number): number {
  const tail = Atomics.load(I32, ln + LN_TAIL), head = I32[ln + LN_HEAD]!;
  lane_discard_range(ln, head, tail);
  Atomics.store(I32, ln + LN_HEAD, tail);
  return (tail - head) | 0;
}

/** Returns lane ln to the pool (port struct being released, lock held). */
export function lane_free(ln: number): void {
  I32[ln + LN_OWNER] = 0; I32[ln + LN_PORT] = 0;
  Atomics.store(I32, ln + LN_CTL, 0);
  Atomics.store(I32, ln + LN_INUSE, 0);
  kstat_add(C_LANES, -1);
}

/**
 * Ends ownership of lane ln of port h (lock held), by its owner or on
 * behalf of an owner that exited: unused credits go back; on a closed port
 * the entries published after the close are discarded too.
 */
export function lane_release_locked(h: number, ln: number): void {
  const tail = Atomics.load(I32, ln + LN_TAIL);
  const unused = (I32[ln + LN_LIMIT]! - tail) | 0;
  let curr = I32[h + P.curr]! - unused;
  Atomics.store(I32, ln + LN_LIMIT, tail);
  if ((I32[h + P.flags]! & PQ_CLOSE) !== 0) {
    const left = lane_discard_locked(ln);
    if (left > 0) { curr -= left; kstat_add(C_DISCARDED, left); kstat_add(C_SENT, left); }
  }
  I32[h + P.curr] = curr;
  // An owner that died asleep for room (lane.ts room_sleep) left its flag
  // set: every take would notify the head word for nobody until a next
  // owner's own wait for room cleared it. Its owner gone, the flag is stale.
  Atomics.store(I32, ln + LN_ROOMWAIT, 0);
  I32[ln + LN_OWNER] = 0;
}

/**
 * Takes back, for another sender or a source, the credits the owner of port
 * h's lane holds but has not used (lock held), all but one: the owner checks
 * its limit without the lock and may be about to publish one more entry.
 * Returns how many came back.
 */
export function lane_revoke_locked(h: number): number {
  const ln = I32[h + P.lane]!;
  if (ln === 0 || I32[ln + LN_OWNER] === 0) return 0;
  const keep = (Atomics.load(I32, ln + LN_TAIL) + 1) | 0;
  const back = (I32[ln + LN_LIMIT]! - keep) | 0;
  if (back <= 0) return 0;
  Atomics.store(I32, ln + LN_LIMIT, keep);
  I32[h + P.curr] = I32[h + P.curr]! - back;
  return back;
}

/**
 * Publishes to the owner of port h's lane what the first sleeping getter
 * waits for (lock held; call after any change to the port's wait list): the
 * owner takes the port lock after a push only while that is non-zero, so a
 * getter already woken costs it nothing.
 */
export function lane_ctl_sync_locked(h: number): void {
  const ln = I32[h + P.lane]!;
  if (ln === 0) return;
  const sl = sq_first(h + P.wqh);
  const want = sl === 0 ? 0 : Math.min(sq_arg(sl), LN_WANT);
  const c = I32[ln + LN_CTL]!;
  if ((c & LN_WANT) !== want) Atomics.store(I32, ln + LN_CTL, (c & LN_CLOSED) | want);
}

/** The LWP owning lane ln, 0 if none. */
export function lane_owner_of(ln: number): number { return I32[ln + LN_OWNER]!; }

/** The LWP owning port h's lane, 0 if none (lock held): the adaptive spin watches it. */
export function lane_owner(h: number): number {
  const ln = I32[h + P.lane]!;
  return ln === 0 ? 0 : I32[ln + LN_OWNER]!;
}
