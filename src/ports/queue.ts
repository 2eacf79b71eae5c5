/**
 * The port queue under its lock: finding and locking a port by descriptor,
 * linking and unlinking event slots, waking the right getter, handing out
 * and returning slots, and releasing a closed port's struct once nothing
 * refers to it any more.
 *
 * Lock order: a source may call into the port holding its own object lock
 * (timer lock -> port lock); the port never calls a source, nor any code
 * outside the kernel core, with a port lock held. The kernel-wide slot
 * cache's spin lock is a leaf below the port lock.
 *
 * Slots, cheaply. Every event costs a slot from the kernel-wide cache, whose
 * spin lock is one cache line that every sender and getter of every port
 * would bounce per event. So each port keeps its own free slots:
 *  - a free list under the port lock (P.freeHead / P.nfree), from which
 *    senders take, holding the port lock they hold anyway;
 *  - a lock-free return stack (P.rstack) onto which getters push, in one
 *    compare-and-swap per batch, the slots they delivered, without taking
 *    the port lock again. Those slots still count in P.curr until a holder
 *    of the lock moves them to the free list (reclaim_locked): senders when
 *    the free list is empty or port-max-events is reached, close, and the
 *    release of a closed port. Only whole stacks are taken (an exchange with
 *    0), so there is no ABA hazard.
 * A port keeps at most PORT_FREE_MAX free slots; more go back to the kernel
 * cache. When the kernel cache is empty a sender takes a slot from another
 * port's free slots (try-lock only, so no lock order is involved): the
 * kernel-wide limit stays exact save for a port whose lock is busy then.
 */
import { TailQ } from '../kern/queue.js';
import { I32, F64, f64_set } from '../kern/kmem.js';
import { mutex_enter, mutex_exit, mutex_tryenter, notify_after_unlock } from '../kern/mutex.js';
import { fd_get, DTYPE_PORT, file_notify, FF } from '../kern/fdtab.js';
import { fail, fail_status } from '../kern/errno.js';
import { cur } from '../kern/hdr.js';
import { sq_first, sq_arg, sq_wake, sq_wake_handoff, sq_flags, sq_lid, SQF_HANDOFF } from '../kern/sleepq.js';
import { kstat_add } from '../kern/kstat.js';
import {
  P, E, ports, kevents, port_lock, port_id_word, PQ_CLOSE, PQ_FREED,
  ST_RESERVED, ST_QUEUED, C_PORTS, C_SENT, C_DELIVERED, C_HANDOFFS,
} from './mem.js';
import { PORT_SOURCE_USER, PORT_ALLOC_DEFAULT } from './consts.js';
import { msg_inflight_rec_of, R_GET_PORT } from './msg-arena.js';
import { lane_set_queue_ops } from './lane.js';
import { LN_TAIL, LN_HEAD, LN_ENT, LN_E_SOURCE, LN_GETTER, LN_ROOMWAIT, LN_ROOMAT, lane_entries, lane_free, lane_revoke_locked, lane_ctl_sync_locked, lane_owner_of } from './lane-locked.js';

/**
 * Events queued on port h: its locked list plus its send lane (lane.ts).
 * Exact under the port lock as far as getters are concerned (lane entries
 * are only taken under it); without the lock, a snapshot.
 */
export function port_nent(h: number): number {
  const ln = I32[h + P.lane]!;
  const n = I32[h + P.nent]!;
  return ln === 0 ? n : n + ((Atomics.load(I32, ln + LN_TAIL) - I32[ln + LN_HEAD]!) | 0);
}

/** A number that changes whenever an event is queued on port h (lock held): getters denied by sources wait for it to move. */
export function port_gen(h: number): number {
  const ln = I32[h + P.lane]!;
  return ln === 0 ? I32[h + P.sendGen]! : (I32[h + P.sendGen]! + Atomics.load(I32, ln + LN_TAIL)) | 0;
}

/** The lane mark of an event queued now (lock held): lane entries published so far come before it. */
function rpos_now(h: number): number {
  const ln = I32[h + P.lane]!;
  return ln === 0 ? 0 : Atomics.load(I32, ln + LN_TAIL);
}

// The last port descriptor this thread looked up, and its handle, lock word
// and id word: a sender or getter works one port over and over, and fd_get
// plus the handle arithmetic cost more than the rest of a send. Trusting it
// needs no invalidation: under the port lock, the id word names the
// descriptor that owns the struct now, so `id word === fd` proves the memo
// is current (a descriptor names one port at a time); otherwise the slow path
// looks the descriptor up and reports the right errno. Until the first
// successful lookup the memo names no descriptor at all: NaN equals no
// argument (a start value of -1 once matched the argument -1 and sent the
// thread to spin on lock word 0, the kernel header's magic word, for ever).
let memoFd = NaN, memoH = 0, memoLock = 0, memoId = 0;

/**
 * Finds the port of descriptor `fd` and returns its handle with its lock
 * held. EBADF for no descriptor (or one being closed), EBADFD for a
 * descriptor that is not a port.
 */
export function port_enter(fd: unknown, syscall: string): number {
  if (fd === memoFd) {
    mutex_enter(memoLock);
    if (I32[memoId] === fd) return memoH;
    mutex_exit(memoLock);
  }
  const h = fd_get(fd, DTYPE_PORT, syscall, 'EBADFD');
  const lock = port_lock(h), idw = port_id_word(h);
  mutex_enter(lock);
  if (Atomics.load(I32, idw) !== fd) {
    mutex_exit(lock);
    fail('EBADF', syscall, `fd ${String(fd)} was closed`);
  }
  memoFd = fd as number; memoH = h; memoLock = lock; memoId = idw;
  return h;
}

/** Like {@link port_enter} but returns an errno code instead of throwing (port_sendn). */
export function port_enter_code(fd: unknown, syscall: string): number | 'EBADF' | 'EBADFD' {
  let h: number;
  try { h = fd_get(fd, DTYPE_PORT, syscall, 'EBADFD'); } catch (e) {
    if (e instanceof TypeError) throw e;
    return (e as { code: string }).code === 'EBADFD' ? 'EBADFD' : 'EBADF';
  }
  mutex_enter(port_lock(h));
  if (Atomics.load(I32, port_id_word(h)) !== fd) { mutex_exit(port_lock(h)); return 'EBADF'; }
  return h;
}

export function port_exit(h: number): void { mutex_exit(h === memoH ? memoLock : port_lock(h)); }

/** Most free slots a port keeps for itself; beyond, they go back to the kernel-wide cache. */
export const PORT_FREE_MAX = 4096;

/**
 * Moves the slots getters pushed onto the return stack to the free list
 * (lock held) and uncounts them from P.curr. On a closed port they go back to
 * the kernel-wide cache. Returns how many. The stack is a list of chains:
 * each chain's head slot holds its length in E.arg and its tail in E.prev.
 */
export function reclaim_locked(h: number): number {
  let c = Atomics.exchange(I32, h + P.rstack, 0);
  if (c === 0) return 0;
  const closed = (I32[h + P.flags]! & PQ_CLOSE) !== 0;
  let n = 0;
  while (c !== 0) {
    const len = I32[c + E.arg]!, tail = I32[c + E.prev]!;
    const next = I32[tail + E.next]!;
    n += len;
    if (closed || I32[h + P.nfree]! >= PORT_FREE_MAX) {
      for (let s = c, i = 0; i < len; i++) { const nx = I32[s + E.next]!; kevents.free(s); s = nx; }
    } else {
      I32[tail + E.next] = I32[h + P.freeHead]!;
      I32[h + P.freeHead] = c;
      I32[h + P.nfree] = I32[h + P.nfree]! + len;
    }
    c = next;
  }
  I32[h + P.curr] = I32[h + P.curr]! - n;
  return n;
}

/**
 * Gives back, without the port lock, a chain of `len` delivered slots
 * (head..tail linked through E.next) that still count in P.curr. A getter
 * calls it while the struct cannot go away (it counts in thrcnt, or these
 * slots count in curr); see {@link port_gave_back} for what it must do after.
 */
export function slots_return(h: number, head: number, tail: number, len: number): void {
  I32[head + E.arg] = len;
  I32[head + E.prev] = tail;
  for (;;) {
    const top = Atomics.load(I32, h + P.rstack);
    I32[tail + E.next] = top;
    if (Atomics.compareExchange(I32, h + P.rstack, top, head) === top) return;
  }
}

/** Every free slot of port h back to the kernel-wide cache (lock held; close). */
export function slots_drain_locked(h: number): void {
  reclaim_locked(h);
  for (let s = I32[h + P.freeHead]!; s !== 0;) { const nx = I32[s + E.next]!; kevents.free(s); s = nx; }
  I32[h + P.freeHead] = 0;
  I32[h + P.nfree] = 0;
}

/** A slot from another port's free slots when the kernel-wide cache is empty, or 0 (port h's lock held). */
function slot_steal(h: number): number {
  for (let i = 0; i < ports.count; i++) {
    const o = ports.handle(i);
    if (o === h || (I32[o + P.nfree] === 0 && Atomics.load(I32, o + P.rstack) === 0)) continue;
    const lock = port_lock(o);
    if (!mutex_tryenter(lock)) continue;
    if ((I32[o + P.flags]! & PQ_CLOSE) === 0) reclaim_locked(o);
    const s = I32[o + P.freeHead]!;
    if (s !== 0) { I32[o + P.freeHead] = I32[s + E.next]!; I32[o + P.nfree]!--; }
    mutex_exit(lock);
    if (s !== 0) return s;
  }
  return 0;
}

/**
 * Takes an event slot for port h (lock held) and fills in every field (a
 * slot from a free list is not zeroed). EAGAIN, with the lock dropped, when
 * the port has port-max-events slots out or no slot is free kernel-wide.
 */
export function slot_alloc_locked(h: number, mode: number, source: number, syscall: string): number {
  if (I32[h + P.curr]! >= I32[h + P.maxev]! && (reclaim_locked(h) + lane_revoke_locked(h) === 0 || I32[h + P.curr]! >= I32[h + P.maxev]!)) {
    port_exit(h);
    fail_status('EAGAIN', syscall, `port has ${I32[h + P.curr]} of port_max_events ${I32[h + P.maxev]} slots`);
  }
  let s = I32[h + P.freeHead]!;
  if (s === 0 && Atomics.load(I32, h + P.rstack) !== 0) { reclaim_locked(h); s = I32[h + P.freeHead]!; }
  if (s !== 0) {
    I32[h + P.freeHead] = I32[s + E.next]!;
    I32[h + P.nfree]!--;
  } else {
    s = kevents.alloc();
    if (s === 0) s = slot_steal(h);
    if (s === 0) { port_exit(h); fail('EAGAIN', syscall, 'kernel-wide event slots (port_events_total) exhausted'); }
  }
  I32[h + P.curr]!++;
  I32[s + E.st] = ST_RESERVED;
  I32[s + E.flags] = mode;
  I32[s + E.source] = source;
  I32[s + E.port] = h;
  I32[s + E.events] = 0;
  I32[s + E.arg] = 0;
  I32[s + E.next] = 0;
  I32[s + E.prev] = 0;
  f64_set(s, E.object, 0);
  f64_set(s, E.user, 0);
  return s;
}

/** Frees a slot of port h (lock held): to the port's free slots, or the kernel cache if the port is closed or has plenty. */
export function slot_free_locked(h: number, s: number): void {
  Atomics.store(I32, s + E.st, 0);
  I32[h + P.curr]!--;
  if ((I32[h + P.flags]! & PQ_CLOSE) !== 0 || I32[h + P.nfree]! >= PORT_FREE_MAX) { kevents.free(s); return; }
  I32[s + E.next] = I32[h + P.freeHead]!;
  I32[h + P.freeHead] = s;
  I32[h + P.nfree]!++;
}

/**
 * A port's event queue: queued slots in FIFO order, head and tail in the
 * port struct, linked through the slots (kern/queue.ts). A take detaches a
 * run from its head as a private chain (take-general.ts), the one operation
 * done on the links directly.
 */
const PORTQ = new TailQ(P.head, P.tail, E.next, E.prev);

// Field offsets as plain numbers for the send fast path (the struct layout is
// fixed once the modules are loaded).
const P_CURR = P.curr, P_MAXEV = P.maxev, P_FREE = P.freeHead, P_NFREE = P.nfree;
const P_NENT = P.nent, P_SENDGEN = P.sendGen, P_LAST = P.lastSender, P_SENTPEND = P.sentPend;
const P_WQH = P.wqh;
const E_ST = E.st, E_FLAGS = E.flags, E_SOURCE = E.source, E_PORT = E.port, E_EVENTS = E.events, E_ARG = E.arg;
const E_NEXT = E.next, E_OBJECT = E.object, E_USER = E.user, E_RPOS = E.rpos;

/**
 * port_send's body (lock held): queues a PORT_SOURCE_USER event with a slot
 * from the port's free list, all in one function that reads the memory
 * views once (each access through the live I32 binding would reload it and
 * its bounds); the general slot_alloc_locked + enqueue_locked when the free
 * list is empty or the port is at port-max-events (EAGAIN drops the lock, as
 * there). Returns true when the port has watchers (the caller notifies
 * them after dropping the lock: enqueue_locked).
 */
export function send_user_locked(h: number, events: number, user: number, syscall: string): boolean {
  const m = I32;
  const s = m[h + P_FREE]!;
  if (s === 0 || m[h + P_CURR]! >= m[h + P_MAXEV]!) {
    const t = slot_alloc_locked(h, PORT_ALLOC_DEFAULT, PORT_SOURCE_USER, syscall);
    I32[t + E_EVENTS] = events;
    f64_set(t, E_USER, user);
    return enqueue_locked(h, t);
  }
  m[h + P_FREE] = m[s + E_NEXT]!;
  m[h + P_NFREE]!--;
  m[h + P_CURR]!++;
  const f = F64;
  f[(s + E_OBJECT) >> 1] = 0;
  f[(s + E_USER) >> 1] = user;
  m[s + E_ST] = ST_QUEUED;
  m[s + E_FLAGS] = PORT_ALLOC_DEFAULT;
  m[s + E_SOURCE] = PORT_SOURCE_USER;
  m[s + E_PORT] = h;
  m[s + E_EVENTS] = events;
  m[s + E_ARG] = 0;
  m[s + E_RPOS] = rpos_now(h);
  PORTQ.insert_tail(h, s); // as enqueue_locked
  m[h + P_NENT] = m[h + P_NENT]! + 1;
  m[h + P_SENDGEN]!++;
  m[h + P_LAST] = cur.lid;
  if (++m[h + P_SENTPEND]! >= 64) sent_fold_locked(h);
  if (m[h + P_WQH] !== 0) wake_check_locked(h);
  return port_watched(h);
}

/** Adds the events queued on h since the last fold to kstat events_sent (lock held). */
export function sent_fold_locked(h: number): void {
  const n = I32[h + P.sentPend]!;
  if (n !== 0) { I32[h + P.sentPend] = 0; kstat_add(C_SENT, n); }
}

/**
 * Appends slot s to the queue of port h (lock held) and wakes the waiter
 * that wants the fewest events if the queue now satisfies it. Returns true
 * when the port has watchers: the caller then calls
 * {@link port_readable_notify} after dropping the lock. Every event queued
 * is news to them, not only the one that made the queue non-empty: an
 * EV_CLEAR knote reports each arrival, as on a kqueue, a pipe or a socket
 * (told only at the empty-to-non-empty step, a consumer that took one event
 * per wake-up and waited again slept through the rest).
 */
export function enqueue_locked(h: number, s: number): boolean {
  I32[s + E.rpos] = rpos_now(h);
  PORTQ.insert_tail(h, s);
  // Plain stores: the slot and the count are guarded by the port lock, whose
  // release (a compare-and-swap) publishes them; lock-free readers (readable(),
  // a source's state word) only need to see them eventually.
  I32[s + E.st] = ST_QUEUED;
  if (I32[s + E.source] !== PORT_SOURCE_USER) I32[h + P.nsrcq]!++;
  I32[h + P.nent] = I32[h + P.nent]! + 1;
  I32[h + P.sendGen]!++;
  I32[h + P.lastSender] = cur.lid;
  // kstat events_sent: one atomic per 64 events rather than per event; getters
  // and close fold the rest (sent_fold_locked), so a count lags only while
  // events sit queued.
  if (++I32[h + P.sentPend]! >= 64) sent_fold_locked(h);
  if (I32[h + P.wqh] !== 0) wake_check_locked(h);
  return port_watched(h);
}

/** Whether port h's descriptor has watchers (kqueue EVFILT_READ knotes on it): two loads. */
export function port_watched(h: number): boolean {
  const f = I32[h + P.file]!;
  return f !== 0 && I32[f + FF.watch] !== 0;
}

/**
 * Wakes the first waiter (the one wanting fewest events, port_queue_thread's
 * order) when the queue holds enough events for it (lock held).
 */
export function wake_check_locked(h: number): void {
  // A first waiter already interrupted or timed out (it unlinks itself only
  // once it runs) does not count: sq_wake unlinks it and we look again.
  for (let sl = sq_first(h + P.wqh); sl !== 0 && sq_arg(sl) <= port_nent(h); sl = sq_first(h + P.wqh)) {
    if (sq_wake(sl)) break;
  }
  lane_ctl_sync_locked(h);
}


/**
 * The wake-up of a lane push (lock held, lane entries queued): when the
 * first waiter is a blocking port_get (SQF_HANDOFF: one event wanted) and
 * the port's first event is a lane entry, hands it that event, taking it
 * off the lane here as its take would have after waking. The woken getter
 * then returns at once, without coming back for the port lock, the port
 * struct and the lane, lines the waker has just written that its CPU would
 * fetch one by one (measured: woken -> returned ~1.7-3.9 us of a blocking
 * round trip's ~20, send -> notify ~1-1.6). It leaves the port when handed
 * the event: its thrcnt is dropped here. Otherwise the usual wake-up.
 */
export function wake_first_locked(h: number): void {
  const m = I32, sl = sq_first(h + P.wqh), ln = m[h + P.lane]!;
  if (sl !== 0 && ln !== 0 && (sq_flags(sl) & SQF_HANDOFF) !== 0) {
    const rh = m[ln + LN_HEAD]!, first = m[h + P.head]!;
    // The lane's head entry is the port's first event (take.ts lane_first).
    if (rh !== Atomics.load(m, ln + LN_TAIL) && (first === 0 || ((m[first + E.rpos]! - rh) | 0) >= 1)) {
      const e = ln + LN_ENT + ((rh & (lane_entries() - 1)) << 2);
      // (Not a source's entry, a message: its getter delivers it, decoding it
      // in its own take; a hand-off carries port_send's two words only.)
      if (m[e + LN_E_SOURCE] === 0 && sq_wake_handoff(sl, m[e + 2]!, F64[e >> 1]!)) {
        const nh = (rh + 1) | 0;
        Atomics.store(m, ln + LN_HEAD, nh);
        m[ln + LN_GETTER] = sq_lid(sl);
        // Its owner sleeping for room (lane.ts) is most likely us: a load, as in take.ts.
        if (Atomics.load(m, ln + LN_ROOMWAIT) !== 0 && ((nh - m[ln + LN_ROOMAT]!) | 0) >= 0) notify_after_unlock(ln + LN_HEAD);
        m[h + P.curr] = m[h + P.curr]! - 1;
        m[h + P.sentPend] = m[h + P.sentPend]! + 1;
        sent_fold_locked(h);
        m[h + P.thrcnt] = m[h + P.thrcnt]! - 1;
        // (and from its record: given back once, by whoever clears the word: take-general.ts take_reap)
        const r = msg_inflight_rec_of(sq_lid(sl));
        if (r !== 0 && m[r + R_GET_PORT] === h) m[r + R_GET_PORT] = 0;
        kstat_add(C_DELIVERED); kstat_add(C_HANDOFFS);
        room_notify(h);
        if (m[h + P.wqh] !== 0 && port_nent(h) > 0) wake_check_locked(h);
        else lane_ctl_sync_locked(h);
        return;
      }
    }
  }
  wake_check_locked(h);
}

/**
 * After a take that returned events from port h: wakes senders waiting for
 * room once a quarter of the port is free (hysteresis, as a full send lane's
 * owner waits: woken at the first free slot, a fast sender would refill it
 * one event at a time, every send through the port lock beside the getter's
 * takes; woken with room for thousands, its sends go through its lane).
 * See room.ts.
 */
export function room_notify(h: number): void {
  if (Atomics.load(I32, h + P.roomWaiters) === 0) return;
  const max = I32[h + P.maxev]!;
  if (port_nent(h) > max - (max >> 2)) return;
  Atomics.add(I32, h + P.roomGen, 1);
  Atomics.notify(I32, h + P.roomGen);
}

/** Unlinks queued slot s (lock held); it becomes RESERVED. */
export function unlink_locked(h: number, s: number): void {
  PORTQ.remove(h, s);
  Atomics.store(I32, s + E.st, ST_RESERVED);
  if (I32[s + E.source] !== PORT_SOURCE_USER) I32[h + P.nsrcq]!--;
  Atomics.store(I32, h + P.nent, I32[h + P.nent]! - 1);
}

/** Tells watchers (kqueue EVFILT_READ) that port h became readable; call without the port lock. */
export function port_readable_notify(h: number): void {
  const f = I32[h + P.file]!;
  if (f !== 0) file_notify(f, I32[h + P.fd]!);
}

/**
 * Drops the port lock, releasing the struct if the port is closed and
 * nothing refers to it any more: no thread inside port_get(n), no slot out,
 * no LWP owning its lane (the owner may be about to look at the lane: it
 * lets go at its next send or its exit, which comes back here).
 */
export function port_exit_release(h: number): void {
  const f = I32[h + P.flags]!;
  if ((f & (PQ_CLOSE | PQ_FREED)) === PQ_CLOSE) reclaim_locked(h);
  const ln = I32[h + P.lane]!;
  if ((f & (PQ_CLOSE | PQ_FREED)) === PQ_CLOSE && I32[h + P.thrcnt] === 0 && I32[h + P.curr] === 0 && (ln === 0 || lane_owner_of(ln) === 0)) {
    I32[h + P.flags] = f | PQ_FREED;
    if (ln !== 0) { I32[h + P.lane] = 0; lane_free(ln); }
    port_exit(h);
    ports.free(h);
    kstat_add(C_PORTS, -1);
    return;
  }
  port_exit(h);
}

lane_set_queue_ops({
  wake: (h) => { if (I32[h + P.wqh] !== 0) wake_first_locked(h); },
  notify: port_readable_notify,
  reclaim: (h) => { reclaim_locked(h); },
  release: port_exit_release,
});
