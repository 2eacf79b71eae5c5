/**
 * The general take: any mix of list slots (port_send's, sources' with their
 * deliver callbacks) and lane entries merged by their marks, in three
 * phases (take.ts's header says why the events are detached and delivered
 * with no lock held). take.ts dispatches here when a batch is not all lane
 * entries; this thread's scratch for lane entries and the shape of the last
 * take live here too.
 */
import { P, E, port_lock, port_id_word, PQ_CLOSE, ST_RESERVED, ST_QUEUED, ST_TAKEN, ST_DELIVERING, ST_MASK, SF_CANCEL, SF_FREEPEND, C_DELIVERED } from './mem.js';
import { PORT_ALLOC_CACHED, PORT_ALLOC_SCACHED } from './consts.js';
import { I32, F64 } from '../kern/kmem.js';
import { kstat_add } from '../kern/kstat.js';
import { mutex_enter } from '../kern/mutex.js';
import { cur } from '../kern/hdr.js';
import { PORT_SOURCE_USER } from './consts.js';
import {
  enqueue_locked, wake_check_locked, port_exit, port_exit_release, port_readable_notify,
  slot_free_locked, sent_fold_locked, port_nent, port_gen,
} from './queue.js';
import { settle_source, settle_lane_source, take_end, SETTLE_FREE, SETTLE_KEEP, SETTLE_REQUEUE, SETTLE_DENIED, SETTLE_CANCEL_FREE } from './take-settle.js';
import { LN_HEAD, LN_TAIL, LN_ENT, LN_E_SOURCE, LN_GETTER, LN_ROOMWAIT, LN_ROOMAT, lane_entries } from './lane-locked.js';
import { port_event, type port_event_t } from './types.js';
import {
  msg_inflight, msg_inflight_rec, msg_inflight_rec_of, msg_take_recorded, MSG_INFLIGHT_MAX, PORT_SOURCE_MSG,
  R_GET_PORT, R_TK_PORT, R_TK_FREE, R_TK_NFREE, R_TK_REST, R_TK_NREST, R_TK_DENY, R_TK_REQ, R_GET_DEPTH, R_GET_OUTER, GET_OUTER_MAX,
} from './msg-arena.js';
import { on_lwp_exit } from '../kern/proc.js';

/** The last take's shape, in delivery order: >0 a run of list slots, <0 a run of lane entries. */
const runs: number[] = [];
let nruns = 0;
/** Lane entries copied out under the lock (this thread's scratch). */
let scrEv = new Int32Array(0), scrUser = new Float64Array(0), scrSrc = new Int32Array(0);
/** The lane index mask (port_lane_entries - 1, fixed at boot), set with the scratch. */
export let laneMask = 0;

/**
 * Sizes this thread's scratch for lane entries; getters call it before they
 * take the port lock, because a typed array allocation can throw (RangeError
 * when the ArrayBuffer cannot be had) and nothing may throw under the lock.
 * The lane size is fixed at boot, so after the first call this is one compare.
 */
export function take_reserve(): void {
  if (scrEv.length === 0) take_grow();
}
export function take_grow(): void {
  const cap = lane_entries();
  laneMask = cap - 1;
  if (scrEv.length < cap) { scrEv = new Int32Array(cap); scrUser = new Float64Array(cap); scrSrc = new Int32Array(cap); }
}

/** Marks a detached source slot taken (lock held); port_send's slots need no mark. */
function mark_taken_m(m: Int32Array, s: number): number {
  if (m[s + E.source] === PORT_SOURCE_USER) return 0;
  m[s + E.st] = ST_TAKEN;
  return 1;
}

/**
 * Events appended to `out` by the last take of this thread, and how many of
 * the taken were denied by their sources; `capped`: the pass stopped short
 * of `max` at MSG_INFLIGHT_MAX messages (take.ts take_passes goes on).
 */
export const takeResult = { taken: 0, denied: 0, sendGen: 0, capped: false };

/**
 * The general take (list slots, sources' deliver callbacks, the lane merged
 * by its marks) in its three phases: detach the events under the lock,
 * deliver them with no lock held (sources' callbacks may run user-visible
 * work: the message source decodes), then, under the lock again, give back
 * what was not delivered and pass a wake-up on. `fast`: called by a getter
 * that does not count in thrcnt (take_and_unlock), which returns without
 * the lock; else the caller's lock is held again on return.
 */
export function take(h: number, max: number, out: port_event_t[], fast: boolean): void {
  takeResult.taken = 0; takeResult.denied = 0; takeResult.capped = false;
  if (!take_detach_locked(h, max, fast)) return;
  take_deliver(h, out);
  if (tk.done) return;
  take_give_back(h, fast);
}

/**
 * What a take's phases hand each other: this thread's one take at a time,
 * so module scratch (no allocation per take). `first`/`n`: the detached
 * list slots; `done`: a fast getter that took lane entries only has nothing
 * left to do after delivery; `denyHead`/`requeue`: chains phase 3 links again.
 */
const tk = { first: 0, n: 0, done: false, denyHead: 0, requeue: 0, port: 0, rec: 0 };

/**
 * Phase 1, port lock held: detaches the first `max` events — list slots as
 * a private chain, lane entries copied to this thread's scratch — recording
 * their order in `runs`, and drops the lock. Plain stores: the lock is held,
 * and its release publishes them to whoever looks next. The key of each
 * message's block goes to this thread's in-flight record (msg-arena.ts:
 * from here until its delivery has freed it, the LWP's reaping frees it
 * should the thread die), at most MSG_INFLIGHT_MAX of them: the detach
 * stops before the next message (takeResult.capped). False when there
 * was nothing (then a fast getter has released the port, a locked caller
 * still holds its lock).
 */
function take_detach_locked(h: number, max: number, fast: boolean): boolean {
  // The memory views, read once: each access through the live I32 binding
  // reloads it and its bounds, which doubled the cost of a send or a take.
  const m = I32;
  const first = m[h + P.head]!;
  const ln = m[h + P.lane]!;
  let rh = 0, rt = 0, roomWake = 0;
  if (ln !== 0) { rh = m[ln + LN_HEAD]!; rt = Atomics.load(m, ln + LN_TAIL); }
  if (first === 0 && rh === rt) { if (fast) port_exit_release(h); return false; }
  const nent = m[h + P.nent]!;
  nruns = 0;
  const ki = msg_inflight();
  let last: number;
  if (rh === rt) last = detach_list_locked(m, h, first, nent, max, ki);
  else { last = detach_merged_locked(m, h, ln, first, rh, rt, max, ki); if (detachRoomWake) roomWake = ln; }
  if (detachKeys !== 0) msg_take_recorded(detachKeys);
  takeResult.capped = detachCapped;
  const n = detachN;
  if (n > 0) {
    const rest = m[last + E.next]!;
    m[h + P.head] = rest;
    if (rest === 0) m[h + P.tail] = 0; else m[rest + E.prev] = 0;
    m[last + E.next] = 0;
    m[h + P.nent] = nent - n;
    // The slots are this thread's until phase 2 or 3 gives them back: named
    // in its record meanwhile, for its LWP's reaping (take_reap).
    const r = msg_inflight_rec();
    m[r + R_TK_PORT] = h; m[r + R_TK_REST] = first; m[r + R_TK_NREST] = n;
    m[r + R_TK_NFREE] = 0; m[r + R_TK_DENY] = 0; m[r + R_TK_REQ] = 0;
    tk.rec = r;
  }
  sent_fold_locked(h);
  const port = Atomics.load(m, port_id_word(h)); // (a lane message's delivery names it)
  // Lane entries alone hold no slot, so nothing keeps a closed port's struct
  // alive once the lock is dropped: a fast getter finishes after delivery.
  const done = fast && n === 0;
  if (done && m[h + P.wqh] !== 0 && port_nent(h) > 0) wake_check_locked(h);
  port_exit(h);
  if (roomWake !== 0) Atomics.notify(m, roomWake + LN_HEAD);
  tk.first = first; tk.n = n; tk.done = done; tk.port = port;
  return true;
}

/**
 * List slots detached by the last detach_*_locked, and whether its lane's
 * owner waits for room we made; the message keys it recorded, and whether
 * it stopped at MSG_INFLIGHT_MAX of them.
 */
let detachN = 0, detachRoomWake = false, detachKeys = 0, detachCapped = false;

/**
 * The list alone (no lane entries queued): the first min(max, nent) slots,
 * or fewer: up to the (MSG_INFLIGHT_MAX + 1)-th message, not included.
 * The slots of port_send (PORT_SOURCE_USER) are not written at all (only
 * sources' slots need ST_TAKEN, for their withdraw protocol): a slot line
 * the getter does not write stays shared with the sender, which writes it
 * again when it reuses the slot. A message's key goes to F64[ki + i] (the
 * thread's in-flight record). Returns the last slot detached.
 */
function detach_list_locked(m: Int32Array, h: number, first: number, nent: number, max: number, ki: number): number {
  let last: number, n: number, nk = 0;
  detachCapped = false;
  if (nent <= max && m[h + P.nsrcq]! === 0) {
    // All of it, port_send's slots only: no walk under the lock (each step
    // is likely a cache miss, the sender just wrote that slot, and senders
    // wait for the lock meanwhile).
    last = m[h + P.tail]!; n = nent;
  } else {
    const f = F64;
    let x = first, marked = 0;
    last = 0; n = 0;
    while (x !== 0 && n < max) {
      const src = m[x + E.source]!;
      if (src !== PORT_SOURCE_USER) {
        if (src === PORT_SOURCE_MSG) {
          if (nk === MSG_INFLIGHT_MAX) { detachCapped = true; break; }
          f[ki + nk] = f[(x + E.object) >> 1]!;
          nk++;
        }
        m[x + E.st] = ST_TAKEN;
        marked++;
      }
      last = x; n++;
      x = m[x + E.next]!;
    }
    // (Zero when the walk reached the end: the list holds no source slot now.)
    m[h + P.nsrcq] = x === 0 ? 0 : m[h + P.nsrcq]! - marked;
  }
  runs[nruns++] = n;
  detachN = n; detachRoomWake = false; detachKeys = nk;
  return last;
}

/**
 * The list and the lane, merged by the lane mark each listed event carries
 * (lane.ts), copying the lane entries out before the head moves past them
 * (the owner reuses them then). Returns the last list slot detached (0 if none).
 */
function detach_merged_locked(m: Int32Array, h: number, ln: number, first: number, rh: number, rt: number, max: number, ki: number): number {
  const f = F64;
  const cap = lane_entries();
  // take_reserve() sized the scratch before the lock (the lane size is
  // fixed at boot), so this never allocates; kept only as a backstop.
  if (scrEv.length < cap) take_grow();
  const mask = cap - 1, ent = ln + LN_ENT;
  let x = first, r = rh, marked = 0, last = 0, n = 0, nr = 0, nk = 0;
  detachCapped = false;
  while (n + nr < max) {
    if (x !== 0 && (r === rt || ((m[x + E.rpos]! - r) | 0) <= 0)) {
      if (m[x + E.source] === PORT_SOURCE_MSG) {
        if (nk === MSG_INFLIGHT_MAX) { detachCapped = true; break; }
        f[ki + nk] = f[(x + E.object) >> 1]!;
        nk++;
      }
      marked += mark_taken_m(m, x);
      last = x; x = m[x + E.next]!; n++;
      if (nruns > 0 && runs[nruns - 1]! > 0) runs[nruns - 1]!++; else runs[nruns++] = 1;
    } else if (r !== rt) {
      const e = ent + ((r & mask) << 2);
      const src = m[e + LN_E_SOURCE]!, obj = f[e >> 1]!;
      if (src === PORT_SOURCE_MSG) {
        if (nk === MSG_INFLIGHT_MAX) { detachCapped = true; break; }
        f[ki + nk] = obj;
        nk++;
      }
      scrUser[nr] = obj; scrEv[nr] = m[e + 2]!; scrSrc[nr] = src;
      r = (r + 1) | 0; nr++;
      if (nruns > 0 && runs[nruns - 1]! < 0) runs[nruns - 1]!--; else runs[nruns++] = -1;
    } else break;
  }
  m[h + P.nsrcq] = m[h + P.nsrcq]! - marked;
  Atomics.store(m, ln + LN_HEAD, r);
  if (m[ln + LN_GETTER] !== cur.lid) m[ln + LN_GETTER] = cur.lid;
  m[h + P.curr] = m[h + P.curr]! - nr;
  m[h + P.sentPend] = m[h + P.sentPend]! + nr;
  // The owner sleeps for room until the head reaches LN_ROOMAT (lane.ts): the load after the head store pairs with its flag store before its wait.
  detachRoomWake = Atomics.load(m, ln + LN_ROOMWAIT) !== 0 && ((r - m[ln + LN_ROOMAT]!) | 0) >= 0;
  detachN = n; detachKeys = nk;
  return last;
}

/**
 * Phase 2, no lock held: turns the detached events into port_event_t's in
 * `out`, in queue order. port_send's slots and lane entries are delivered
 * as they are; a source's slot goes through its deliver callback and one
 * compare-and-swap against a concurrent withdraw / free / re-send
 * (settle_source). Slots to free go back without the lock (they count in
 * P.curr until reclaimed: queue.ts); denied and re-sent ones are left in
 * tk for phase 3.
 */
function take_deliver(h: number, out: port_event_t[]): void {
  const m = I32, f = F64;
  let taken = 0, freed = 0, freeHead = 0, freeTail = 0;
  let denyHead = 0, denyTail = 0, denied = 0;
  let requeue = 0;
  let s = tk.n > 0 ? tk.first : 0, prev = 0, ri = 0;
  // List slots not yet settled, and this thread's record (tk_record).
  let left = tk.n;
  const rec = tk.rec;
  for (let k = 0; k < nruns; k++) {
    const len = runs[k]!;
    if (len < 0) {
      // Lane entries: port_send's events, nothing to settle; a source's (a
      // message: lane-locked.ts) goes through its deliver callback.
      for (let j = 0; j < -len; j++, ri++) {
        const src = scrSrc[ri]!;
        if (src === 0) { out.push(port_event(scrEv[ri]!, PORT_SOURCE_USER, 0, scrUser[ri]!)); continue; }
        const ev = port_event(scrEv[ri]!, src, scrUser[ri]!, 0);
        settle_lane_source(tk.port, ev);
        out.push(ev);
      }
      taken -= len;
      continue;
    }
    for (let j = 0; j < len; j++) {
      const next = m[s + E.next]!;
      const src = m[s + E.source]!;
      if (src === PORT_SOURCE_USER) {
        left--;
        // port_send's slots: only the port and this getter ever touch them (no
        // source can withdraw or free them), so no compare-and-swap, and no
        // write either: a run of them is already linked through E.next, and
        // that is the chain they go back on (queue.ts sets every field again
        // when it hands a slot out). Read before the slot is given back.
        if (freeTail === 0) freeHead = s; else if (freeTail !== prev) m[freeTail + E.next] = s;
        freeTail = s; freed++;
        out.push(port_event(m[s + E.events]!, src, f[(s + E.object) >> 1]!, f[(s + E.user) >> 1]!));
        taken++;
        prev = s;
        s = next;
        continue;
      }
      // A source's callback may end the thread (a worker terminated, an
      // exit in it): the record says where the slots are, exactly, before
      // and after (a port_send slot between two records changes no link the
      // record follows: take_reap).
      tk_record(rec, freeHead, freed, s, left, denyHead, requeue);
      const r = settle_source(h, s, src, out);
      if (r === SETTLE_FREE || r === SETTLE_KEEP || r === SETTLE_REQUEUE) taken++;
      if (r === SETTLE_FREE || r === SETTLE_CANCEL_FREE) {
        if (freeTail === 0) freeHead = s; else m[freeTail + E.next] = s;
        freeTail = s; freed++;
      } else if (r === SETTLE_REQUEUE) {
        m[s + E.next] = requeue; requeue = s;
      } else if (r === SETTLE_DENIED) {
        m[s + E.next] = 0;
        if (denyTail === 0) denyHead = s; else m[denyTail + E.next] = s;
        denyTail = s; denied++;
      } // SETTLE_CANCEL_KEEP: withdrawn, stays reserved
      left--;
      tk_record(rec, freeHead, freed, next, left, denyHead, requeue);
      prev = s;
      s = next;
    }
  }
  takeResult.taken = taken; takeResult.denied = denied;
  take_end();
  if (taken > 0) kstat_add(C_DELIVERED, taken);
  if (tk.n > 0) {
    // Every slot settled: the record names the delivered ones until they
    // are on the return stack (slots_return_named), then phase 3's.
    tk_record(rec, freeHead, freed, 0, 0, denyHead, requeue);
    if (freed > 0) slots_return_named(h, freeHead, freeTail, freed, rec + R_TK_NFREE);
  }
  tk.denyHead = denyHead; tk.requeue = requeue;
}

/** A taken slot that a closed port does not take back (lock held): a source's cached one back to it reserved, as port_close leaves them, else freed. */
function slot_closed_locked(h: number, s: number): void {
  if ((I32[s + E.flags]! & (PORT_ALLOC_CACHED | PORT_ALLOC_SCACHED)) !== 0) Atomics.store(I32, s + E.st, ST_RESERVED);
  else slot_free_locked(h, s);
}

/**
 * Where a take's list slots are (take_deliver, no lock held), in this
 * thread's record (msg-arena.ts R_TK_*): plain stores, read only by the
 * reaping of its LWP once the thread is gone.
 */
function tk_record(r: number, free: number, nfree: number, rest: number, nrest: number, deny: number, req: number): void {
  const m = I32;
  m[r + R_TK_FREE] = free; m[r + R_TK_NFREE] = nfree;
  m[r + R_TK_REST] = rest; m[r + R_TK_NREST] = nrest;
  m[r + R_TK_DENY] = deny; m[r + R_TK_REQ] = req;
}

/**
 * slots_return of a chain that the record's word `w` counts (R_TK_NFREE):
 * the word is zeroed just before each compare-and-swap and set again when
 * it fails, so at the loop's back edge (an interrupt check) the chain is
 * named and not on the stack, after the push on the stack and not named.
 */
function slots_return_named(h: number, head: number, tail: number, len: number, w: number): void {
  const m = I32;
  m[head + E.arg] = len;
  m[head + E.prev] = tail;
  for (;;) {
    const top = Atomics.load(m, h + P.rstack);
    m[tail + E.next] = top;
    m[w] = 0;
    if (Atomics.compareExchange(m, h + P.rstack, top, head) === top) return;
    m[w] = len;
  }
}

/**
 * Phase 3: gives back what was not delivered (denied events to the head,
 * in order; re-sent ones to the tail) and wakes the next waiter if events
 * remain. A fast getter skips the lock when there is nothing to do: the
 * racy look at the wait list is enough, because a getter that queued itself
 * before our detach is visible to us, and one that queues itself after looks
 * at the queue under the lock before it sleeps.
 */
function take_give_back(h: number, fast: boolean): void {
  const m = I32;
  const denyHead = tk.denyHead;
  let requeue = tk.requeue;
  if (fast && denyHead === 0 && requeue === 0 && !(m[h + P.wqh] !== 0 && port_nent(h) > 0)) {
    // A close that came meanwhile must find our slots: either it sees them on
    // the return stack, or we see its flag (both sequentially consistent).
    if ((Atomics.load(m, h + P.flags) & PQ_CLOSE) !== 0) { mutex_enter(port_lock(h)); port_exit_release(h); }
    return;
  }
  mutex_enter(port_lock(h));
  // Given back below, under the lock: no longer the record's.
  if (tk.n > 0) { const r = tk.rec; m[r + R_TK_DENY] = 0; m[r + R_TK_REQ] = 0; }
  let tellWatchers = false;
  // A port closed while they were off the queue takes none back: they go
  // where its close sent the queued ones (port_close).
  const closed = (m[h + P.flags]! & PQ_CLOSE) !== 0;
  if (denyHead !== 0) {
    // Denied events go back to the head, in order. A withdraw may have come
    // while they were off the queue: only live ones are linked again.
    let chainHead = 0, chainTail = 0, live = 0;
    for (let d = denyHead; d !== 0;) {
      const nx = m[d + E.next]!;
      const v = Atomics.load(m, d + E.st);
      // (SF_FREEPEND alone: freed by its source without a withdraw.)
      if (v & (SF_CANCEL | SF_FREEPEND)) {
        if (v & SF_FREEPEND) slot_free_locked(h, d);
        else Atomics.store(m, d + E.st, ST_RESERVED);
      } else if (closed) {
        slot_closed_locked(h, d);
      } else {
        Atomics.store(m, d + E.st, ST_QUEUED);
        m[d + E.prev] = chainTail; m[d + E.next] = 0;
        if (chainTail === 0) chainHead = d; else m[chainTail + E.next] = d;
        chainTail = d; live++;
      }
      d = nx;
    }
    if (live > 0) {
      const head = m[h + P.head]!;
      m[chainTail + E.next] = head;
      if (head === 0) m[h + P.tail] = chainTail; else m[head + E.prev] = chainTail;
      m[h + P.head] = chainHead;
      m[h + P.nsrcq] = m[h + P.nsrcq]! + live; // denied slots are all sources' (port_send's have no callback)
      const was = m[h + P.nent]!;
      Atomics.store(m, h + P.nent, was + live);
      tellWatchers = was === 0;
    }
  }
  while (requeue !== 0) {
    const r = requeue;
    requeue = m[r + E.next]!;
    const v = Atomics.load(m, r + E.st);
    if (v & (SF_CANCEL | SF_FREEPEND)) {
      if (v & SF_FREEPEND) slot_free_locked(h, r);
      else Atomics.store(m, r + E.st, ST_RESERVED);
      continue;
    }
    if (closed) { slot_closed_locked(h, r); continue; }
    if (enqueue_locked(h, r)) tellWatchers = true;
  }
  if (m[h + P.wqh] !== 0 && port_nent(h) > 0) wake_check_locked(h);
  if (tellWatchers) {
    // Notify without the port lock, then take it back for the caller.
    port_exit(h);
    port_readable_notify(h);
    mutex_enter(port_lock(h));
  }
  takeResult.sendGen = port_gen(h);
  if (fast) port_exit_release(h);
}

/**
 * The reaping of LWP `lid` (dead, or exiting in its own thread: it runs no
 * more kernel code): what its port_get(n) held of a port goes back, as the
 * call's own end would have given it back. The list slots of a take it was
 * delivering (R_TK_*): the delivered ones freed, the others settled as
 * their delivery would have been had it been lost with the thread (a
 * source's cached slot stays reserved to it, a withdrawn one goes back to
 * its source, the rest are freed), so that they no longer count in P.curr;
 * and the call's P.thrcnt (R_GET_PORT). Both under the port lock, then the
 * port released if it was closed meanwhile (port_exit_release: its struct
 * waited for exactly these). Never throws.
 */
export function take_reap(lid: number): void {
  const r = msg_inflight_rec_of(lid);
  if (r === 0) return;
  const m = I32;
  const h = m[r + R_TK_PORT]!;
  const nfree = m[r + R_TK_NFREE]!, nrest = m[r + R_TK_NREST]!, deny = m[r + R_TK_DENY]!, req = m[r + R_TK_REQ]!;
  m[r + R_TK_PORT] = 0; m[r + R_TK_NFREE] = 0; m[r + R_TK_NREST] = 0; m[r + R_TK_DENY] = 0; m[r + R_TK_REQ] = 0;
  if (h !== 0 && (nfree !== 0 || nrest !== 0 || deny !== 0 || req !== 0)) {
    mutex_enter(port_lock(h));
    let s = m[r + R_TK_FREE]!;
    for (let i = 0; i < nfree; i++) { const nx = m[s + E.next]!; slot_free_locked(h, s); s = nx; }
    s = m[r + R_TK_REST]!;
    for (let i = 0; i < nrest; i++) { const nx = m[s + E.next]!; slot_lost_locked(h, s); s = nx; }
    for (s = deny; s !== 0;) { const nx = m[s + E.next]!; slot_lost_locked(h, s); s = nx; }
    for (s = req; s !== 0;) { const nx = m[s + E.next]!; slot_lost_locked(h, s); s = nx; }
    thr_reap_locked(r, h);
    port_exit_release(h);
  }
  const g = Atomics.load(m, r + R_GET_PORT);
  if (g !== 0) {
    mutex_enter(port_lock(g));
    thr_reap_locked(r, g);
    port_exit_release(g);
  }
  // The calls it ran inside of (signal handlers' port_get in the sleep of
  // another): their thrcnts too, the record left naming none, so that their
  // ends, should they unwind after this (an lwp_exit's), give back nothing.
  // (Calls nested deeper than the record names are left counted in the
  // depth: such an unwinding restores and gives back those alone.)
  const total = m[r + R_GET_DEPTH]!, depth = Math.min(total, GET_OUTER_MAX);
  m[r + R_GET_DEPTH] = total - depth;
  for (let i = 0; i < depth; i++) {
    const o = m[r + R_GET_OUTER + i]!;
    m[r + R_GET_OUTER + i] = 0;
    if (o === 0) continue;
    mutex_enter(port_lock(o));
    I32[o + P.thrcnt]!--;
    port_exit_release(o);
  }
}

/** The call's thrcnt on port h, if record r still holds it (h's lock held: whoever clears the word gives it back). */
function thr_reap_locked(r: number, h: number): void {
  if (I32[r + R_GET_PORT] !== h) return;
  I32[r + R_GET_PORT] = 0;
  I32[h + P.thrcnt]!--;
}

/**
 * A dead getter's slot s that was not (or not wholly) settled (h's lock
 * held): its event is lost with the thread. port_send's slot, or one its
 * delivery had settled free, is freed; a source's still taken goes the way
 * a delivery's end takes it (settle_source): back to its source when
 * withdrawn or cached, freed otherwise; one already reserved is its
 * source's. A sync free waiting for the delivery to end is woken.
 */
function slot_lost_locked(h: number, s: number): void {
  const m = I32;
  if (m[s + E.source] === PORT_SOURCE_USER) { slot_free_locked(h, s); return; }
  for (;;) {
    const v = Atomics.load(m, s + E.st), st = v & ST_MASK;
    if (st === 0) { slot_free_locked(h, s); return; }
    if (st !== ST_TAKEN && st !== ST_DELIVERING) return; // (reserved: the source's)
    const keep = (v & SF_CANCEL) !== 0 ? (v & SF_FREEPEND) === 0 : (v & SF_FREEPEND) === 0 && (m[s + E.flags]! & (PORT_ALLOC_CACHED | PORT_ALLOC_SCACHED)) !== 0;
    if (Atomics.compareExchange(m, s + E.st, v, keep ? ST_RESERVED : 0) !== v) continue;
    if (st === ST_DELIVERING) Atomics.notify(m, s + E.st);
    if (!keep) slot_free_locked(h, s);
    return;
  }
}

on_lwp_exit(take_reap);
