/**
 * Send lanes: the lock-free path of port_send and the owner's side of it
 * (its thread-local state, all that changes it). Layout, pool and what
 * getters, close and other senders do under the port lock: lane-locked.ts.
 *
 * Why. With the port lock taken per event, a producer and a consumer on two
 * CPUs pass the lock word and the port struct's cache lines back and forth
 * for every event: ~150-190 ns a send where one thread alone needs ~40 ns.
 * A lane is a single-producer ring bound to one port: the LWP that owns it
 * appends events with plain stores and publishes them with one store of its
 * tail word, so per event only the entry itself travels to the consumer's
 * CPU (four to a cache line), and the port lock is taken by the producer
 * once per credit grant (a lane's worth of events) instead of per event.
 *
 * A full lane. Its owner waits for room rather than putting its events on
 * the locked list (lane_wait_room): spilling puts producer and getter back
 * on the port lock per event, which kept a fresh consumer (unoptimised
 * code, GCs, V8's compiler threads beside it on few CPUs) from ever
 * catching up. The wait spins for port_spin_ns, then sleeps on the head
 * word (the getter's take wakes it), and is bounded (LANE_ROOM_WAIT_NS);
 * there is none when nobody will make room: no getter has taken yet, the
 * last one is this thread, or a getter sleeps wanting more than the lane
 * holds. A wait that timed out is not repeated until the head moves.
 *
 * Ownership. A lane is bound to its port for the port's life once taken
 * (the port's struct releases it) and owned by at most one LWP at a time;
 * an LWP owns at most one lane. The owner is the only writer of the tail
 * and the entries, so ownership moves only when the owner cannot be in the
 * middle of a push: the owner gives it up itself (its port was closed: at
 * its next syscall of any kind, which the close posts; or it has sent
 * elsewhere LANE_SWITCH times in a row while the lane sat idle), or it
 * exits (lwp exit hook, also for a dead worker). Other senders
 * to the port use the locked queue, which is as fast as before.
 */
import { I32, F64 } from '../kern/kmem.js';
import { FF, file_notify } from '../kern/fdtab.js';
import { cur } from '../kern/hdr.js';
import { mono_now } from '../kern/time.js';
import { tunables } from '../kern/boot.js';
import { mutex_enter, mutex_exit, notify_after_unlock } from '../kern/mutex.js';
import { on_lwp_exit, on_userret } from '../kern/proc.js';
import { lwp_post_userret } from '../lwp/kapi.js';
import { P, PQ_CLOSE, port_lock, port_id_word, C_SENT, C_LANE_SPILLS, C_LANE_ROOM_WAITS, C_LANE_ROOM_SLEEPS, C_LANE_ROOM_TIMEOUTS, C_LANE_GRANTS, C_LANE_GRANTS_SHORT, C_LANE_REVOKES, spinRegion, SPIN_BUDGET } from './mem.js';
import { kstat_add } from '../kern/kstat.js';
import { LN_TAIL, LN_HEAD, LN_GETTER, LN_CTL, LN_OWNER, LN_PORT, LN_INUSE, LN_LIMIT, LN_ROOMWAIT, LN_ROOMAT, LN_ENT, LN_CLOSED, LN_WANT, LN_E_SOURCE, lane_entries, lane_handle, lane_discard_locked, lane_alloc, lane_release_locked, lane_ctl_sync_locked } from './lane-locked.js';

/**
 * Credits granted per visit of the owner to the port lock: the first grant
 * after the owner takes the lane is LANE_CREDIT_FIRST, each next one twice
 * the last, up to a lane's worth (as many as it can hold), and never more
 * than port_max_events leaves. Few visits matter most to a fresh producer:
 * the locked path runs in V8's interpreter for its first thousands of calls
 * (grants of 256 made that ~40 ns of every cold send). The small first
 * grants are for the JIT too: the refill is lane_push's call out, and an
 * early one gives that call site type feedback before TurboFan optimises
 * lane_push (optimised code that reaches a call it never saw run is thrown
 * away). Other senders get unused credits back when they need them
 * (lane_revoke_locked).
 */
export const LANE_CREDIT_FIRST = 256;
let oGrant = 0;      // this owner's last grant

function credit_grant(room: number): number {
  oGrant = Math.min(oGrant === 0 ? LANE_CREDIT_FIRST : 2 * oGrant, oCap);
  return Math.min(room, oGrant);
}
/**
 * The longest a full lane's owner waits for room while its getter is on a
 * CPU but takes nothing (ns), before its events take the locked list; after
 * such a wait it does not wait again until the getter has taken something.
 */
export const LANE_ROOM_WAIT_NS = 10_000_000;
/** One sleep of that wait (ms): the getter's take wakes it earlier. */
const ROOM_SLEEP_MS = 1;
/** Consecutive sends elsewhere after which an owner gives up an idle lane. */
export const LANE_SWITCH = 64;

// ---- the owner's side (thread-local: an LWP owns at most one lane) ----
let oFd = NaN;        // descriptor of the port whose lane this thread owns; NaN (equal to nothing): none
let oH = 0;          // that port's handle
let oLane = 0;       // the lane
let oWatch = 0;      // the descriptor's watch-list word (kqueue watchers)
let oTail = 0;       // our copy of the tail
let oHead = 0;       // the last head we read (refreshed when the ring looks full)
let oMask = 0, oCap = 0, oEnt = 0;
let oMiss = 0;       // consecutive sends to other ports
let oStuck = -1;     // the head at which the last wait for room gave up (-1: none)

/** Forgets this thread's lane (the caller releases it in kernel memory). */
function disown(): void { oFd = NaN; oH = 0; oLane = 0; oWatch = 0; oMiss = 0; oStuck = -1; oGrant = 0; }

/**
 * Appends an event to this thread's lane if `fd` is its port and it has a
 * credit and room: no lock, two shared stores. False: take the locked path.
 *
 * The common case is this one function, with one call out (lane_push_rare)
 * for everything else, so that a fresh producer's send is short in V8's
 * interpreter, becomes one TurboFan compile soon, and is not deoptimised
 * later when the lane first fills or its getter first sleeps: that call
 * site has type feedback from the very first send (which finds no lane of
 * its own yet), and TurboFan deoptimises optimised code that reaches a
 * call site it never saw run.
 */
export function lane_push(fd: number, events: number, user: number): boolean {
  const m = I32, ln = oLane, t = oTail;
  let pushed = false;
  // Our port, room by our copy of the head, a credit (the limit word: a
  // revoke lowers it), and the port open (a close sets LN_CLOSED under the
  // port lock; a push racing with it counts as sent just before the close).
  if (fd === oFd && ((t - oHead) | 0) < oCap && t !== Atomics.load(m, ln + LN_LIMIT) && (m[ln + LN_CTL]! & LN_CLOSED) === 0) {
    const e = oEnt + ((t & oMask) << 2);
    F64[e >> 1] = user;
    m[e + 2] = events;
    m[e + LN_E_SOURCE] = pushSrc;
    if (pushDone !== 0) F64[pushDone] = 0;
    oTail = (t + 1) | 0;
    Atomics.store(m, ln + LN_TAIL, oTail);
    // After the publishing store: a getter about to sleep, or a watcher,
    // that registered before it may not have seen the event.
    if ((Atomics.load(m, ln + LN_CTL) | Atomics.load(m, oWatch)) === 0) { oMiss = 0; return true; }
    pushed = true;
  }
  return lane_push_rare(fd, events, user, pushed);
}

/**
 * The source word of the entries this thread pushes (lane-locked.ts): 0,
 * port_send's, but while lane_push_source / lane_send_source_locked run.
 * A variable rather than an argument, so that port_send's path keeps its
 * shape and its call sites.
 */
let pushSrc = 0;
/**
 * A word (F64 index) of the source's that the entry's publishing store
 * clears, or 0: none (port_send's). The store of 0 comes right before the
 * publishing one, with no call and no loop between them: a thread ends only
 * at an interrupt check (a function's entry, a loop's back edge), so a
 * worker that dies has made both stores or neither. The message source's
 * in-flight key (msg-arena.ts): its LWP's reaping frees the block it names.
 */
let pushDone = 0;

/**
 * lane_push of an event of source `src` (an owned source with a delivery
 * callback: lane-locked.ts), `events` and `user` its entry's words; `done`,
 * a word the publishing store clears (pushDone). Never throws but as
 * lane_push may (a kernel panic).
 */
export function lane_push_source(fd: number, events: number, user: number, src: number, done: number): boolean {
  pushSrc = src; pushDone = done;
  try { return lane_push(fd, events, user); } finally { pushSrc = 0; pushDone = 0; }
}

/** lane_send_locked of an event of source `src` (see lane_push_source). */
export function lane_send_source_locked(h: number, fd: number, events: number, user: number, src: number, done: number): boolean {
  pushSrc = src; pushDone = done;
  try { return lane_send_locked(h, fd, events, user); } finally { pushSrc = 0; pushDone = 0; }
}

/**
 * lane_push's other cases: the entry was published and a getter or watcher
 * must be told (pushed), or our copy of the head says full (look again, and
 * wait for room), or no credit is left, or the port was closed.
 */
function lane_push_rare(fd: number, events: number, user: number, pushed: boolean): boolean {
  const m = I32;
  if (!pushed) {
    if (fd !== oFd) return false;
    if ((m[oLane + LN_CTL]! & LN_CLOSED) !== 0) return false;
    if (((oTail - oHead) | 0) >= oCap) {
      oHead = Atomics.load(m, oLane + LN_HEAD);
      if (((oTail - oHead) | 0) >= oCap && !lane_wait_room()) return false;
    }
    if (oTail === Atomics.load(m, oLane + LN_LIMIT)) return false;
    ring_put(events, user);
    if ((Atomics.load(m, oLane + LN_CTL) | Atomics.load(m, oWatch)) === 0) { oMiss = 0; return true; }
  }
  oMiss = 0;
  pushed_slow(fd);
  return true;
}

/** Writes the next entry of this thread's lane and publishes it; returns the new tail. */
function ring_put(events: number, user: number): number {
  const e = oEnt + ((oTail & oMask) << 2);
  F64[e >> 1] = user;
  I32[e + 2] = events;
  I32[e + LN_E_SOURCE] = pushSrc;
  if (pushDone !== 0) F64[pushDone] = 0;
  const t = (oTail + 1) | 0;
  oTail = t;
  Atomics.store(I32, oLane + LN_TAIL, t);
  return t;
}

/**
 * The ring is full. While the getter that last took from it is on a CPU it
 * will make room, and queueing on the locked list instead would put
 * producer and getter back on the port lock for every event, which is what
 * kept a cold consumer (unoptimized code, young-generation GCs, V8's
 * compiler threads beside it on few CPUs) from ever catching up. So wait for
 * room: spin for the adaptive spin budget (port_spin_ns), then sleep on the
 * head word until a quarter of the lane is free (the getter's take wakes
 * us: LN_ROOMWAIT, LN_ROOMAT), giving the CPU to the getter and to V8's
 * compiler threads, for at most LANE_ROOM_WAIT_NS; none when spinning is off. A wait
 * that gave up is not repeated until the head moves, so a getter that stops
 * taking costs its producer one bounded wait, not one per send. True when
 * room appeared.
 */
function lane_wait_room(): boolean {
  const m = I32, ln = oLane;
  const budget = Atomics.load(m, spinRegion.base + SPIN_BUDGET);
  if (budget === 0 || oHead === oStuck) return false;
  kstat_add(C_LANE_ROOM_WAITS);
  const t0 = mono_now(), spinEnd = t0 + budget, end = t0 + LANE_ROOM_WAIT_NS;
  for (;;) {
    if (!room_getter_ok(ln)) return false;
    for (let i = 0; i < 64; i++) {
      oHead = Atomics.load(m, ln + LN_HEAD);
      if (((oTail - oHead) | 0) < oCap) return true;
    }
    const now = mono_now();
    if (now >= end) { oStuck = oHead; kstat_add(C_LANE_ROOM_TIMEOUTS); return false; }
    if (now >= spinEnd && room_sleep(ln)) return true;
  }
}

/**
 * Whether a getter of lane ln is worth waiting for: the lane is open, and
 * either a getter sleeps on the port wanting no more than the full lane
 * holds (it is being woken: the push that filled it saw it), or one has
 * taken before and it is not this thread. A sleeper wanting more than the
 * lane holds needs the locked list: no wait. Not whether the last getter is
 * on a CPU: one that sleeps on the port lock, or whose thread the OS or V8
 * holds off for a while, still makes room soon, and spilling meanwhile is
 * what kept a cold consumer slow; a getter that stopped taking costs one
 * bounded wait.
 */
function room_getter_ok(ln: number): boolean {
  // Every load and compare first, then the decision: one a fresh owner
  // first reaches after TurboFan compiled this (the first full lane with no
  // getter asleep) deoptimised it and lane_wait_room, which inlines it.
  const c = Atomics.load(I32, ln + LN_CTL), g = Atomics.load(I32, ln + LN_GETTER), me = cur.lid;
  const want = c & LN_WANT;
  const open = (c & LN_CLOSED) === 0, fits = want <= oCap, other = g > 0, notMe = g !== me;
  return open && (want !== 0 ? fits : other && notMe);
}

/**
 * One sleep of the wait for room on lane ln, until a quarter of the lane is
 * free (the getter's take that moves the head to LN_ROOMAT wakes us) or
 * for at most ROOM_SLEEP_MS; true when there is room. Not at the first
 * free entry: an owner woken per batch taken (64 entries) paid a wake-up
 * and a sleep, and its getter a notify, for every few dozen events while
 * the getter was the slower side (a cold consumer's first few hundred ms).
 */
function room_sleep(ln: number): boolean {
  const m = I32;
  kstat_add(C_LANE_ROOM_SLEEPS);
  const target = (oTail - oCap + (oCap >> 2)) | 0;
  m[ln + LN_ROOMAT] = target;
  // Flag, then look: the getter stores the head, then reads the flag (and the mark).
  Atomics.store(m, ln + LN_ROOMWAIT, 1);
  const end = mono_now() + ROOM_SLEEP_MS * 1e6;
  for (;;) {
    const h = Atomics.load(m, ln + LN_HEAD);
    if (((h - target) | 0) >= 0 || (Atomics.load(m, ln + LN_CTL) & LN_CLOSED) !== 0) break;
    const left = end - mono_now();
    if (left <= 0) break;
    Atomics.wait(m, ln + LN_HEAD, h, left / 1e6);
  }
  Atomics.store(m, ln + LN_ROOMWAIT, 0);
  oHead = Atomics.load(m, ln + LN_HEAD);
  return ((oTail - oHead) | 0) < oCap;
}

function pushed_slow(fd: number): void {
  const ln = oLane, h = oH;
  const c = Atomics.load(I32, ln + LN_CTL);
  if (c & LN_CLOSED) return; // discarded, as if sent just before the close
  if ((c & LN_WANT) !== 0) {
    mutex_enter(port_lock(h));
    if (Atomics.load(I32, port_id_word(h)) === fd) q.wake(h);
    mutex_exit(port_lock(h));
  }
  // Every event pushed is news to the port's watchers (queue.ts
  // enqueue_locked: an EV_CLEAR knote reports each arrival).
  if (Atomics.load(I32, oWatch) !== 0) q.notify(h);
}

/**
 * What the lane needs of the port's locked queue, installed by queue.ts
 * (which imports this module): wake the first getter if enough events are
 * queued (lock held), tell watchers the port became readable (no lock),
 * reclaim slots getters gave back (lock held), drop the lock releasing a
 * closed port's struct if nothing refers to it.
 */
interface QueueOps { wake(h: number): void; notify(h: number): void; reclaim(h: number): void; release(h: number): void }
let q: QueueOps = { wake: () => {}, notify: () => {}, reclaim: () => {}, release: (h) => mutex_exit(port_lock(h)) };
export function lane_set_queue_ops(ops: QueueOps): void { q = ops; }

/**
 * Before the locked path of a send to `fd` (no port lock held): lets go of
 * this thread's lane if its port was closed, or if the thread keeps sending
 * elsewhere while the lane is idle.
 */
export function lane_before_locked(fd: number): void {
  if (oLane === 0) return;
  if (fd === oFd) {
    // (A close zeroes the id word and sets LN_CLOSED in one critical section.)
    if ((Atomics.load(I32, oLane + LN_CTL) & LN_CLOSED) !== 0) lane_let_go();
    return;
  }
  if ((Atomics.load(I32, oLane + LN_CTL) & LN_CLOSED) !== 0 || ++oMiss >= LANE_SWITCH) lane_let_go();
}

/**
 * The locked path's use of a lane (port h's lock held, `fd` its descriptor):
 * refills this thread's credits, or takes the port's lane if it has no lane
 * and the port's lane is free (binding one from the pool if the port has
 * none), and pushes the event. Returns true when the event went on the lane
 * (the lock is dropped then, and waiters/watchers are told), false when the
 * caller must queue it on the locked list (lock still held).
 */
export function lane_send_locked(h: number, fd: number, events: number, user: number): boolean {
  if (oLane !== 0 && oH !== h) return false;
  if (oLane === 0 && !lane_claim_locked(h, fd)) return false;
  const used = (oTail - Atomics.load(I32, oLane + LN_HEAD)) | 0;
  if (used >= oCap) {
    // Full: the event goes on the list, which may need the credits we hold.
    const ln = oLane, unused = (I32[ln + LN_LIMIT]! - oTail) | 0;
    kstat_add(C_LANE_SPILLS);
    if (unused !== 0) kstat_add(C_LANE_REVOKES);
    I32[h + P.curr] = I32[h + P.curr]! - unused;
    Atomics.store(I32, ln + LN_LIMIT, oTail);
    return false;
  }
  if (oTail === I32[oLane + LN_LIMIT] && !credit_locked(h)) return false;
  ring_put(events, user);
  if (I32[h + P.wqh] !== 0) q.wake(h);
  mutex_exit(port_lock(h));
  if (Atomics.load(I32, oWatch) !== 0) q.notify(h);
  return true;
}

/** Grants this thread credits on its lane of port h (lock held). False when port_max_events leaves none. */
function credit_locked(h: number): boolean {
  if (Atomics.load(I32, h + P.rstack) !== 0) q.reclaim(h);
  const room = I32[h + P.maxev]! - I32[h + P.curr]!;
  if (room <= 0) return false;
  const g = credit_grant(room);
  kstat_add(C_LANE_GRANTS);
  if (g < oGrant) kstat_add(C_LANE_GRANTS_SHORT);
  I32[h + P.curr] = I32[h + P.curr]! + g;
  Atomics.store(I32, oLane + LN_LIMIT, (oTail + g) | 0);
  return true;
}


/** Takes port h's lane for this thread (lock held), binding one from the pool if needed. */
function lane_claim_locked(h: number, fd: number): boolean {
  // Owner 0 means "none": a thread that is no LWP (a kernel thread) never owns one.
  if (cur.lid <= 0) return false;
  let ln = I32[h + P.lane]!;
  if (ln === 0) {
    ln = lane_alloc();
    if (ln === 0) return false;
    I32[ln + LN_TAIL] = 0; I32[ln + LN_HEAD] = 0; I32[ln + LN_LIMIT] = 0; I32[ln + LN_ROOMWAIT] = 0;
    I32[ln + LN_PORT] = h;
    Atomics.store(I32, ln + LN_CTL, 0);
    I32[h + P.lane] = ln;
    lane_ctl_sync_locked(h);
  } else if (I32[ln + LN_OWNER] !== 0 || (I32[ln + LN_CTL]! & LN_CLOSED)) {
    return false;
  }
  I32[ln + LN_OWNER] = cur.lid;
  oFd = fd; oH = h; oLane = ln; oWatch = I32[h + P.file]! + FF.watch;
  oTail = I32[ln + LN_TAIL]!; oHead = I32[ln + LN_HEAD]!;
  Atomics.store(I32, ln + LN_LIMIT, oTail);
  oCap = lane_entries(); oMask = oCap - 1; oEnt = ln + LN_ENT; oMiss = 0; oStuck = -1; oGrant = 0;
  return true;
}


/** This thread lets go of its lane (no port lock held). */
export function lane_let_go(): void {
  if (oLane === 0) return;
  const h = oH, ln = oLane;
  disown();
  mutex_enter(port_lock(h));
  lane_release_locked(h, ln);
  q.release(h);
}

/**
 * Port h is being closed (lock held): its lane's entries are discarded and
 * its owner told; if that is this thread, it lets go at once. Returns how
 * many entries were discarded.
 */
export function lane_close_locked(h: number): number {
  const ln = I32[h + P.lane]!;
  if (ln === 0) return 0;
  Atomics.or(I32, ln + LN_CTL, LN_CLOSED);
  const left = lane_discard_locked(ln);
  // An owner asleep for room wakes now rather than at its sleep's bound.
  if (Atomics.load(I32, ln + LN_ROOMWAIT) !== 0) notify_after_unlock(ln + LN_HEAD);
  I32[h + P.curr] = I32[h + P.curr]! - left;
  if (left > 0) kstat_add(C_SENT, left); // taken events count at their take (take.ts)
  if (oLane === ln) {
    disown();
    lane_release_locked(h, ln);
  } else if (I32[ln + LN_OWNER] !== 0) {
    // Only the owner may let go (it could be mid-push): at its next syscall.
    lwp_post_userret(I32[ln + LN_OWNER]!);
  }
  return left;
}

// Posted by the close of a port whose lane this thread owns.
on_userret(() => {
  if (oLane !== 0 && (Atomics.load(I32, oLane + LN_CTL) & LN_CLOSED) !== 0) lane_let_go();
});

// An LWP that exits (or whose worker died) lets go of its lane: it runs no
// more user code, so it cannot be in the middle of a push.
//
// A worker that died may have been between a push's publishing store and
// what follows it (pushed_slow: waking the sleeping getter under the port
// lock, telling watchers), which are then never done: the getter that saw
// nothing and slept would sleep through the published event until some
// other event came. So the dead owner's release does them, for whatever
// the lane holds: a wake finds the getter only if it still sleeps, and a
// notify that is not news is harmless (as pushed_slow's). Watchers are
// told after the lock, with the file entry and number read under it (an
// entry is never freed memory: a stale one gets a spare notify at worst).
on_lwp_exit((lid) => {
  if (lid === cur.lid) { lane_let_go(); return; }
  const n = tunables().port_lanes!;
  for (let i = 0; i < n; i++) {
    const ln = lane_handle(i);
    if (Atomics.load(I32, ln + LN_INUSE) === 0 || I32[ln + LN_OWNER] !== lid) continue;
    const h = I32[ln + LN_PORT]!;
    mutex_enter(port_lock(h));
    let file = 0, fd = 0;
    if (I32[h + P.lane] === ln && I32[ln + LN_OWNER] === lid) {
      lane_release_locked(h, ln);
      if ((I32[h + P.flags]! & PQ_CLOSE) === 0 && Atomics.load(I32, ln + LN_TAIL) !== I32[ln + LN_HEAD]) {
        q.wake(h);
        file = I32[h + P.file]!; fd = I32[h + P.fd]!;
      }
    }
    q.release(h);
    if (file !== 0) file_notify(file, fd);
  }
});
