/**
 * Retrieval: taking events off a port's queue and turning them into
 * port_event_t objects.
 *
 * The seed moves the port queue to a temporary queue before it copies the
 * events out, because the queue mutex is taken by every event source that
 * delivers an event, and the copy-out runs the sources' callbacks, which may
 * take long: holding the queue mutex across them would block every sender.
 * We keep that reason and a simpler shape: under the port lock a getter
 * detaches just the events it may return (up to `max`) as its own private
 * list, drops the lock, runs callbacks and builds the result objects with
 * no lock held, then takes the lock once more to give back what it could
 * not deliver (denied events, at the head, in order) and to return slots.
 * Several getters can thus deliver at once, each from its own list; an
 * event is on at most one list, so it is delivered once.
 *
 * A port's send lane (lane.ts) is taken in the same pass: under the lock
 * its entries are merged with the list by the lane mark each listed event
 * carries, and copied out (the owner reuses an entry once the head has
 * moved past it); they become objects with the list's, after the lock.
 *
 * This file holds the dispatch (take_drops_lock, take_and_unlock) and the
 * lane-only fast take; the general take's three phases (detach, deliver,
 * give back) are in take-general.ts, a source slot's settling in take-settle.ts.
 *
 * Cold code. A fresh consumer's batches that are all lane entries go
 * through take_lane, whose per-event loop (lane_events) is a function of its
 * own that a thread's first wait warms on private memory (take_warm), so
 * that V8 has optimised it before the first events come.
 */
import { I32, F64 } from '../kern/kmem.js';
import { kstat_add } from '../kern/kstat.js';
import { P, E, C_DELIVERED, port_id_word, port_lock } from './mem.js';
import { mutex_enter } from '../kern/mutex.js';
import { settle_lane_source, take_end } from './take-settle.js';
import { PORT_SOURCE_USER } from './consts.js';
import { wake_check_locked, port_exit, port_exit_release, sent_fold_locked, port_nent, port_gen } from './queue.js';
import { LN_HEAD, LN_TAIL, LN_ENT, LN_E_SOURCE, LN_GETTER, LN_ROOMWAIT, LN_ROOMAT } from './lane-locked.js';
import { cur } from '../kern/hdr.js';
import { mono_now } from '../kern/time.js';
import { port_event, type port_event_t } from './types.js';
import { take, takeResult, laneMask } from './take-general.js';
import { msg_inflight, msg_inflight_rec, msg_take_recorded, msg_take_forget, MSG_INFLIGHT_MAX, PORT_SOURCE_MSG, R_GET_PORT, R_GET_DEPTH, R_GET_OUTER, GET_OUTER_MAX } from './msg-arena.js';

export { take_reserve, takeResult } from './take-general.js';

/**
 * A fresh array for a take's events, with object elements from the start.
 * An array literal `[]` starts with small-integer elements and changes kind
 * at its first push of an event; a getter's push optimised while its arrays
 * had one kind deoptimised when it met the other (seen: take_lane, "not a
 * Smi" at out.push, in every fresh consumer, sending it back to the
 * interpreter for another 10-100 ms compile). One element kind, one map.
 */
export function take_out(): port_event_t[] {
  const a = [OUT_PRIMER];
  a.pop();
  return a;
}
const OUT_PRIMER = port_event(0, 0, 0, 0);

/**
 * Takes up to `max` events from port h into `out`. Called and returns with
 * the port lock held; drops it in between. The caller counts itself in
 * thrcnt, which keeps the port struct alive meanwhile. Result in
 * {@link takeResult}.
 */
export function take_drops_lock(h: number, max: number, out: port_event_t[]): void {
  const ln = lane_first(h, max);
  if (ln !== 0) take_lane(h, ln, max, out, true);
  else take(h, max, out, false);
  if (takeResult.capped) take_passes(h, max, out);
}

/**
 * The passes after one that stopped at MSG_INFLIGHT_MAX messages (lock held,
 * the caller counted in thrcnt): a pass detaches no more messages than its
 * thread's in-flight record holds (msg-arena.ts: the blocks a getter took
 * and has not freed are named there, for its LWP's reaping should it die
 * before it frees them), and delivers them before the next pass. Passes
 * follow one another until `max` events were detached or one was not
 * stopped short; takeResult then counts them all. Another getter may take
 * events between two passes (the lock is dropped for each delivery), as
 * between two calls: each one's events are still in queue order.
 */
function take_passes(h: number, max: number, out: port_event_t[]): void {
  let taken = takeResult.taken, denied = takeResult.denied;
  while (takeResult.capped) {
    const left = max - taken - denied;
    if (left <= 0 || port_nent(h) === 0) break;
    const ln = lane_first(h, left);
    if (ln !== 0) take_lane(h, ln, left, out, true);
    else take(h, left, out, false);
    taken += takeResult.taken; denied += takeResult.denied;
  }
  takeResult.taken = taken; takeResult.denied = denied; takeResult.capped = false;
}

/**
 * Port h's lane if the next `max` events (or all there are) are lane
 * entries, else 0 (lock held): the lane holds some, and the locked list
 * either is empty or its first event comes after `max` lane entries (its
 * lane mark, E.rpos). The second case is a lane that spilled: its owner
 * queued on the list while the lane was full, and the getter still takes
 * the lane's backlog with the lane-only take rather than the general one.
 */
function lane_first(h: number, max: number): number {
  const m = I32, ln = m[h + P.lane]!;
  if (ln === 0) return 0;
  const rh = m[ln + LN_HEAD]!, first = m[h + P.head]!;
  if (rh === Atomics.load(m, ln + LN_TAIL)) return 0;
  return first === 0 || ((m[first + E.rpos]! - rh) | 0) >= max ? ln : 0;
}

/**
 * The same for a getter that found enough events at once (sys.ts's fast
 * path): called with the lock held, returns without it, having released
 * the port struct if the port was closed meanwhile. The caller does not
 * count in thrcnt: the slots it takes count in P.curr until they are
 * reclaimed, and a closed port's struct is released only at curr 0, so the
 * struct lives at least until the getter has given them back and looked at
 * the port's flags. In the common case (nothing denied or re-queued, no
 * other waiter to pass a wake-up on to) it takes the port lock once per
 * batch, not twice.
 */
export function take_and_unlock(h: number, max: number, out: port_event_t[]): void {
  if (max > MSG_INFLIGHT_MAX) {
    // More than one pass may be needed (take_passes): counted in thrcnt,
    // which keeps the struct across them, as a locked caller does. Else at
    // most what is there (a pass that stops short takes more than that).
    if (port_nent(h) > MSG_INFLIGHT_MAX) { take_passes_unlock(h, max, out); return; }
    max = MSG_INFLIGHT_MAX;
  }
  const ln = lane_first(h, max);
  if (ln !== 0) take_lane(h, ln, max, out, false);
  else take(h, max, out, true);
}

/** take_and_unlock of more than MSG_INFLIGHT_MAX events: take_drops_lock's passes, counted in thrcnt meanwhile. */
function take_passes_unlock(h: number, max: number, out: port_event_t[]): void {
  I32[h + P.thrcnt]!++;
  const prev = getter_hold(h);
  try {
    take_drops_lock(h, max, out);
  } finally {
    getter_unhold(h, prev);
    port_exit_release(h);
  }
}

/**
 * A getter raised port h's thrcnt (lock held): named in its record
 * (msg-arena.ts R_GET_PORT) for its LWP's reaping should its thread end
 * before it gives it back (take-general.ts take_reap). Returns what the
 * word held (a call that this one runs inside of, through a signal
 * handler: it names that one again afterwards); meanwhile that one is named
 * among the record's outer calls (R_GET_OUTER), whose ends never run if
 * the thread ends in this one.
 */
export function getter_hold(h: number): number {
  const m = I32, r = msg_inflight_rec(), prev = m[r + R_GET_PORT]!;
  if (prev !== 0) {
    const d = m[r + R_GET_DEPTH]!;
    if (d < GET_OUTER_MAX) m[r + R_GET_OUTER + d] = prev;
    m[r + R_GET_DEPTH] = d + 1;
  }
  m[r + R_GET_PORT] = h;
  return prev;
}

/**
 * The thrcnt getter_hold named (lock held): given back unless the word no
 * longer names port h, when whoever cleared it (a reaping in this thread,
 * an LWP exit in a signal handler before the unwinding; a hand-off's waker)
 * gave it back. The word then names `prev` again, unless a reaping gave
 * back the outer calls' too (it left no outer call named): their ends,
 * unwinding after it, then find the word empty and give back nothing.
 */
export function getter_unhold(h: number, prev: number): void {
  const m = I32, r = msg_inflight_rec();
  if (h !== 0 && m[r + R_GET_PORT] === h) m[h + P.thrcnt]!--;
  const d = prev === 0 ? 0 : m[r + R_GET_DEPTH]!;
  if (d === 0) { m[r + R_GET_PORT] = 0; return; }
  m[r + R_GET_DEPTH] = d - 1;
  m[r + R_GET_PORT] = prev;
}

/** Whether this thread's record still names port h's thrcnt (getter_hold). */
export function getter_held(h: number): boolean { return I32[msg_inflight_rec() + R_GET_PORT] === h; }

/** Lane entries the last lane_events took (fewer than asked when it stopped at `kmax` messages), and the keys it recorded. */
let laneTook = 0, laneKeys = 0;

/**
 * Appends to `out` the events of lane entries rh .. rh + nr - 1 (entries at
 * `ent` in the views m, f; `mask` the index mask), recording each message's
 * block key at kf[ki + i] (the thread's in-flight record: msg-arena.ts); it
 * stops before a message that would be the (kmax + 1)-th: laneTook says how
 * many entries it took, laneKeys how many keys it recorded. A fresh consumer's cost
 * per event, on its own so that V8 optimises it early, and so that it can be
 * warmed on memory of the thread's own (take_warm: typed arrays over a
 * shared or a plain buffer have the same maps, so the type feedback is the
 * kernel's).
 *
 * The event literal is types.ts's make written out: two calls per event
 * were a third of a fresh consumer's cost per event before TurboFan
 * (interpreter and baseline code call, TurboFan inlines). The same property
 * names in the same order reach the same map, whose fields make() primed to
 * hold any value (test/ports-coldpath checks it).
 */
function lane_events(out: port_event_t[], m: Int32Array, f: Float64Array, ent: number, mask: number, rh: number, nr: number,
  kf: Float64Array, ki: number, kmax: number): number {
  let nsrc = 0, nk = 0, i = 0;
  for (let r = rh; i < nr; i++, r = (r + 1) | 0) {
    const e = ent + ((r & mask) << 2);
    const src = m[e + LN_E_SOURCE]!;
    if (src === 0) {
      out.push({ portev_events: m[e + 2]!, portev_source: PORT_SOURCE_USER, portev_object: 0, portev_user: f[e >> 1]! });
    } else {
      // A source's entry (a message: lane-locked.ts): its word is the
      // object, delivered by take_lane once the lock is dropped.
      const obj = f[e >> 1]!;
      if (src === PORT_SOURCE_MSG) {
        if (nk === kmax) break;
        kf[ki + nk] = obj;
        nk++;
      }
      out.push({ portev_events: m[e + 2]!, portev_source: src, portev_object: obj, portev_user: 0 });
      nsrc++;
    }
  }
  laneTook = i; laneKeys = nk;
  return nsrc;
}

/**
 * Wakes the lane's owner if it sleeps for room that head `head` has now
 * made (LN_ROOMAT reached). As in take: the load after the head store pairs
 * with the owner's flag store before its wait. Only when there is one: an
 * Atomics.notify of nobody still takes V8's process-wide futex-table mutex,
 * which the other side of a hot ping-pong takes too (~100 ns a round trip,
 * measured). The branch is warmed by take_warm with both outcomes, so that
 * a fresh getter's first room wake, long after TurboFan compiled take_lane
 * with this function inlined, does not deoptimise it (the feedback is this
 * function's, whoever it was inlined into).
 */
function room_wake(m: Int32Array, ln: number, head: number): void {
  if (Atomics.load(m, ln + LN_ROOMWAIT) !== 0 && ((head - m[ln + LN_ROOMAT]!) | 0) >= 0) Atomics.notify(m, ln + LN_HEAD, 1);
}

/** The source word of take_warm's sources' entries: a message's (its branch warmed too; they are never delivered). */
const WARM_SOURCE = PORT_SOURCE_MSG;
/** Batches of 64 made by take_warm: enough for V8 to ask TurboFan for lane_events (~3 of its budget ticks), with room to spare. */
const WARM_BATCHES = 192;
/** take_warm looks for real events after this many batches (~0.1-0.3 ms unoptimised). */
const WARM_CHUNK = 16;
let warmed = false;
/** take_warm: a timed wait is warmed only this far from its deadline or more (ns)... */
const WARM_MIN_NS = 100e6;
/** ... and its warm-up stops this long before it (ns): a chunk's worst seen, with room to spare. */
const WARM_SLACK_NS = 40e6;

/**
 * Once per thread, at its first wait for events on a port (getn.ts, no lock
 * held): runs lane_events over a private ring until V8 has enough feedback to
 * optimise it, so that a fresh consumer's first events do not run through
 * the interpreter and baseline code (~150-250 ns an event against ~15 when
 * optimised: a fresh consumer fell behind its producer for its first
 * hundred thousand events or more). Nothing of the kernel is written. It
 * stops as soon as port h holds the `nget` events its caller waits for (a
 * racy look, no lock held, every WARM_CHUNK batches), so a first event waits
 * for it at most one chunk; the rest of the warming is then done by the real
 * events. ~2-3 ms of CPU once per thread, in a thread about to wait anyway;
 * measured 10-60 ms on 2 loaded CPUs, one chunk alone up to ~10 ms (V8
 * compiling lane_events meanwhile). So a timed wait, whose deadline runs
 * from the call's entry (getn.ts GetnReq.t0; `deadline` in mono ns,
 * Infinity: none), is warmed only when its deadline is WARM_MIN_NS away or
 * more, and the warm-up stops WARM_SLACK_NS before it: it never lengthens
 * the wait (a short one is not warmed; a later wait of the thread is).
 */
export function take_warm(h: number, nget: number, deadline: number): void {
  if (warmed || (deadline !== Infinity && mono_now() >= deadline - WARM_MIN_NS)) return;
  warmed = true;
  const buf = new ArrayBuffer(64 * 16);
  const m = new Int32Array(buf), f = new Float64Array(buf);
  // Both kinds of entry (port_send's, and a source's every 8th), so that a
  // message's first take does not deoptimise lane_events.
  for (let i = 0; i < 64; i++) { m[(i << 2) + 2] = 1; m[(i << 2) + LN_E_SOURCE] = (i & 7) === 7 ? WARM_SOURCE : 0; f[i << 1] = (i & 1) === 0 ? i : i + 0.5; }
  // room_wake's two outcomes, on a private lane header (its notify wakes nobody).
  const hdr = new Int32Array(new ArrayBuffer(4 * LN_ENT));
  for (let i = 0; i < 8; i++) { hdr[LN_ROOMWAIT] = i & 1; room_wake(hdr, 0, i); }
  // The keys go to a private record; every 4th batch stops at its 5th
  // message, as a pass stops at the record's size.
  const keys = new Float64Array(MSG_INFLIGHT_MAX);
  for (let b = 0; b < WARM_BATCHES; b++) {
    if (b % WARM_CHUNK === 0 && b > 0 && (port_nent(h) >= nget || (deadline !== Infinity && mono_now() >= deadline - WARM_SLACK_NS))) return;
    lane_events(take_out(), m, f, 0, 63, b << 6, 64, keys, 0, (b & 3) === 3 ? 4 : MSG_INFLIGHT_MAX);
  }
}

/**
 * take_drops_lock / take_and_unlock when the batch is all lane entries (a busy
 * 1 -> 1 stream's every batch, a woken getter's, and a spilled lane's
 * backlog: lane_first): the general take's
 * outcome for that case, in a function small enough that V8 optimises it
 * within the first few thousand events. The general take is large, takes
 * TurboFan 100+ ms to compile on a busy machine, and deoptimised two or
 * three times on its first rare branches: a fresh consumer ran it
 * unoptimised for the first few hundred ms, fell behind its producer, and
 * the lane spilled onto the locked list.
 *
 * One loop: the events are made straight from the lane entries, before the
 * head moves past them (until then the owner does not reuse them), with
 * the port lock held. Nothing in it can throw but the allocation of an
 * event (a fatal out-of-memory in V8, not an exception), and if anything
 * did, the head has not moved: the events stay queued and the lock is
 * dropped (here, or by the locked caller's finally). `locked`: return with
 * the lock held (take_drops_lock), else drop it (take_and_unlock).
 */
function take_lane(h: number, ln: number, max: number, out: port_event_t[], locked: boolean): void {
  const m = I32, f = F64;
  takeResult.taken = 0; takeResult.denied = 0;
  const rh = m[ln + LN_HEAD]!, rt = Atomics.load(m, ln + LN_TAIL);
  const mask = laneMask, ent = ln + LN_ENT;
  const want = Math.min((rt - rh) | 0, max), base = out.length;
  const ki = msg_inflight();
  let nsrc: number;
  try {
    nsrc = lane_events(out, m, f, ent, mask, rh, want, f, ki, MSG_INFLIGHT_MAX);
  } catch (e) {
    msg_take_forget(); // (the entries stay queued: not this thread's)
    if (!locked) port_exit(h);
    throw e;
  }
  // The messages' blocks are this thread's from the head's store on: named
  // in its record until its delivery has freed them (msg-arena.ts).
  const nr = laneTook;
  if (laneKeys !== 0) msg_take_recorded(laneKeys);
  takeResult.capped = nr < want;
  Atomics.store(m, ln + LN_HEAD, (rh + nr) | 0);
  if (m[ln + LN_GETTER] !== cur.lid) m[ln + LN_GETTER] = cur.lid;
  room_wake(m, ln, (rh + nr) | 0);
  m[h + P.curr] = m[h + P.curr]! - nr;
  m[h + P.sentPend] = m[h + P.sentPend]! + nr;
  sent_fold_locked(h);
  if (m[h + P.wqh] !== 0 && port_nent(h) > 0) wake_check_locked(h);
  takeResult.taken = nr;
  kstat_add(C_DELIVERED, nr);
  // Both forms run this call (only a locked caller needs it): a call a
  // fresh getter first reaches after TurboFan compiled this function (its
  // first wait ends in take_drops_lock) deoptimises it.
  takeResult.sendGen = port_gen(h);
  if (nsrc === 0) { if (!locked) port_exit(h); return; }
  // Sources' entries (messages) are delivered with no lock held, as the
  // general take delivers their slots: a message is decoded here, in the
  // kernel call that took it. The struct stays: a locked caller counts in
  // thrcnt, and nothing below touches it otherwise.
  const port = Atomics.load(m, port_id_word(h));
  port_exit(h);
  for (let i = base; i < out.length; i++) if (out[i]!.portev_source !== PORT_SOURCE_USER) settle_lane_source(port, out[i]!);
  take_end();
  if (locked) mutex_enter(port_lock(h));
}

