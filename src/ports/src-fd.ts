/**
 * PORT_SOURCE_FD: port_associate(port, PORT_SOURCE_FD, fd, events, user) on
 * host descriptors, with the seed's semantics (port.c, port_associate(3C)),
 * over the intr subsystem's OS event sources (src/intr) and the event-source
 * interface (source.ts). An association must never lose its completion (so
 * its slot is reserved when it is made: EAGAIN then, never later), must see
 * readiness that already exists (it asks the descriptor at association, as
 * poll does), and must never report for a file that took the number of one
 * closed behind the kernel's back (it holds an intr source, whose identity
 * is checked).
 *
 * ---- Structs ----------------------------------------------------------------
 *
 * One `portfd` record per (port, fd), hashed by fd: the reserved slot
 * (PORT_ALLOC_SCACHED, `arg` = the record; portev_user lives in it), an
 * interest in the fd's intr source per direction its events need (read:
 * POLLIN/PRI/RDNORM/RDBAND or an empty mask, for the hang-ups; write:
 * POLLOUT/WRBAND), and the requested events (illumos bits).
 *
 * ---- States -----------------------------------------------------------------
 *
 *   from      to        by
 *   (free)    ARMED     port_associate: record, slot and interests
 *   ARMED     QUEUED    the descriptor is ready for its events (asked at
 *                       association and at each intr event of the source):
 *                       portev_events = ready requested bits + POLLHUP /
 *                       POLLERR / POLLNVAL, the slot queued
 *   QUEUED    DONE      the event is retrieved (the delivery callback, in the
 *                       getter): the one-shot association has ended
 *   ARMED,    ARMED     port_associate again: new events and user; a queued
 *   QUEUED,             event is withdrawn (its slot, perhaps in a getter's
 *   DONE                hands, is freed and a fresh one reserved in its
 *                       place), the descriptor asked again
 *   any       (free)    port_dissociate (ENOENT for DONE), close(fd) through
 *                       the kernel, the port closed, the number found to
 *                       name another file (at its association, dissociation)
 *
 * DONE records are a cache: they keep their slot and their interests, so
 * that re-arming per event (the usual loop) costs no slot allocation and no
 * epoll_ctl; they are not associations (port_dissociate: ENOENT), their
 * source's events are ignored, and when the records or the port's slots run
 * out they are reclaimed before EAGAIN is returned.
 *
 * A queued event whose descriptor was closed behind the kernel's back is
 * delivered as POLLNVAL (what poll says of a descriptor that is not open):
 * it never carries readiness of a file that reuses the number.
 *
 * ---- Locks ------------------------------------------------------------------
 *
 *   portfd lock (P)  the hash, every record and the live count. Taken with
 *                    no lock held (every entry here); under it the port
 *                    lock (queue, withdraw, free a slot) and the intr lock
 *                    (interests). Arguments are copied in before it (sys.ts).
 */
import { I32, define_struct, kcache_create, kregion_create } from '../kern/kmem.js';
import { SList } from '../kern/queue.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mutex_class } from '../kern/lockdebug.js';
import { define_tunable } from '../kern/options.js';
import { kstat_counter, kstat_add, kstat_gauge } from '../kern/kstat.js';
import { fail, SysError, type Errno } from '../kern/errno.js';
import * as ix from '../intr/kapi.js';
import { mono_now } from '../kern/time.js';
import { port_exit } from './queue.js';
import { port_lock, P, E, ST_MASK, ST_TAKEN, ST_DELIVERING } from './mem.js';
import {
  port_source_register, port_alloc_event, port_init_event, port_set_event, port_send_event, port_free_event, port_event_fd,
  type PortDelivery,
} from './source.js';
import {
  PORT_ALLOC_SCACHED, PORT_SOURCE_FD, POLLIN, POLLPRI, POLLOUT, POLLRDNORM, POLLRDBAND, POLLWRBAND,
  POLLERR, POLLHUP, POLLNVAL,
} from './consts.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** PORT_SOURCE_FD associations (and their cached records) at once, kernel-wide (default 16384). */
    port_fd_max?: number;
  }
}
define_tunable('port_fd_max', 16384, 16, 1 << 20);

/** struct portfd. `[key]`: what guards the field (legend in kern/lockorder.ts). */
const PORTFD = define_struct('portfd', {
  hnext: 'i32',  // [R] hash chain (word 0: the cache's free link while free)
  port: 'i32',   // [R] the port's descriptor
  fd: 'i32',     // [R] the associated descriptor (portev_object)
  src: 'i32',    // [R] the intr source of fd the interests are in
  dirs: 'i32',   // [R] ix.DIR_READ | ix.DIR_WRITE interests held
  events: 'i32', // [R] the requested events (illumos bits)
  state: 'i32',  // [R] A_*
  slot: 'i32',   // [R] the reserved event slot
});
const R = PORTFD.F;
const A_ARMED = 1, A_QUEUED = 2, A_DONE = 3;

const recs = kcache_create('portfd', PORTFD, (t) => t.port_fd_max!);
function nbuckets(max: number): number { let n = 64; while (n < max) n *= 2; return n; }
/**
 * Descriptors a getter waits on in the host (hostwait.ts), by fd & (HW_N - 1):
 * fd + 1 while one waits, -(fd + 1) once the intr thread has left an event
 * of fd to it, 0 otherwise. Set and cleared by the waiting getter (CAS from
 * 0, exchange back to 0); the intr thread only turns fd + 1 into -(fd + 1).
 */
const HW_N = 1024;
const hwait = kregion_create('portfd_hwait', () => HW_N);
const hw_word = (fd: number): number => hwait.base + (fd & (HW_N - 1));

/** The lock word, the live-record count and the hash buckets ([R,~]: a peek without P that sees none skips; an association made meanwhile asks the descriptor itself). */
const table = kregion_create('portfd', (t) => W_BUCKETS + nbuckets(t.port_fd_max!));
const W_LOCK = 0, W_COUNT = 1, W_BUCKETS = 2;
mutex_class('portfd', table, { words: 1 });
const lockw = (): number => table.base + W_LOCK;
const bucket = (fd: number): number => table.base + W_BUCKETS + (fd & (table.words - W_BUCKETS - 1));

const C_ASSOC = kstat_counter('portfd', 'associations');
const C_EVENTS = kstat_counter('portfd', 'events');
const C_STALE = kstat_counter('portfd', 'stale');
const C_CLAIMS = kstat_counter('portfd', 'host_claims');
const C_LEFT = kstat_counter('portfd', 'host_left');
const C_MISSES = kstat_counter('portfd', 'host_misses');
const C_RACED = kstat_counter('portfd', 'host_raced');
kstat_gauge('portfd', 'records', () => recs.inuse);

/** The events an association may ask for (POLLWRNORM = POLLOUT, POLLNORM = POLLRDNORM); the unasked ones are accepted and ignored. */
const READ_BITS = POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND, WRITE_BITS = POLLOUT | POLLWRBAND;
const ALWAYS = POLLERR | POLLHUP | POLLNVAL;
const VALID = READ_BITS | WRITE_BITS | ALWAYS;
/** The host's POLLWRBAND (Linux): illumos's 0x100 is the host's POLLWRNORM. */
const HOST_WRBAND = 0x200;

function dirs_of(events: number): number {
  let d = (events & WRITE_BITS) !== 0 ? ix.DIR_WRITE : 0;
  if ((events & READ_BITS) !== 0 || d === 0) d |= ix.DIR_READ;
  return d;
}
const to_host = (ev: number): number => (ev & (READ_BITS | POLLOUT)) | ((ev & POLLWRBAND) !== 0 ? HOST_WRBAND : 0);
const from_host = (rev: number): number => (rev & (READ_BITS | POLLOUT | ALWAYS)) | ((rev & HOST_WRBAND) !== 0 ? POLLWRBAND : 0);

// ---------------------------------------------------------------- records (portfd lock held)

const CHAIN = new SList(R.hnext);
function unhash(r: number): void { CHAIN.remove(bucket(I32[r + R.fd]!), r); }

/**
 * Frees a record: its slot (a queued event withdrawn), its interests,
 * itself. Never throws. A DONE record's slot may still be in the hands of
 * the getter whose delivery ended the association (fd_deliver has run, the
 * getter has not settled the slot yet): that event has been retrieved, as
 * port_dissociate's ENOENT says, so it is not withdrawn; the getter
 * delivers it and frees the slot.
 */
function rec_free(r: number): void {
  unhash(r);
  I32[table.base + W_COUNT]!--;
  const slot = I32[r + R.slot]!, src = I32[r + R.src]!, dirs = I32[r + R.dirs]!;
  if (slot !== 0) port_free_event(slot, I32[r + R.state] !== A_DONE);
  if ((dirs & ix.DIR_READ) !== 0) ix.intr_source_rele(src, ix.DIR_READ);
  if ((dirs & ix.DIR_WRITE) !== 0) ix.intr_source_rele(src, ix.DIR_WRITE);
  recs.free(r);
}

/**
 * The record of (port, fd), or 0, whatever file the number names now (lock
 * held). There is one at most: associate_locked makes one only when
 * rec_find found none.
 */
function rec_of(port: number, fd: number): number {
  for (let r = I32[bucket(fd)]!; r !== 0; r = I32[r + R.hnext]!) if (I32[r + R.fd] === fd && I32[r + R.port] === port) return r;
  return 0;
}

/**
 * The record of (port, fd), or 0; one whose descriptor names another file
 * now is freed, and so is one whose number names another open of its inode
 * (a FIFO opened again by its path: intr.ts intr_source_reopened): the
 * identity matches, but the host dropped the source's epoll registration
 * with the closed open file, so a record kept would never hear of the new
 * one. The record made in its place holds a new source, registered anew.
 */
function rec_find(port: number, fd: number): number {
  const r = rec_of(port, fd);
  if (r === 0) return 0;
  const src = I32[r + R.src]!;
  if (ix.intr_source_valid(src) && !ix.intr_source_reopened(src)) return r;
  kstat_add(C_STALE);
  rec_free(r);
  return 0;
}

/** Whether a getter holds slot s (taken off the queue, not settled yet): a racy look, safe either way (associate_locked). */
function slot_held(s: number): boolean {
  const st = Atomics.load(I32, s + E.st) & ST_MASK;
  return st === ST_TAKEN || st === ST_DELIVERING;
}

/** The handle of the port a record's event goes to. */
const rec_port_h = (r: number): number => I32[I32[r + R.slot]! + E.port]!;

/** Takes the interests `want` needs and drops those it does not (0 or the intr errno; unchanged on error). */
function rec_interests(r: number, fd: number, want: number): Errno {
  const have = I32[r + R.dirs]!;
  let took = 0, src = I32[r + R.src]!;
  for (const d of [ix.DIR_READ, ix.DIR_WRITE]) {
    if ((want & d) === 0 || (have & d) !== 0) continue;
    const err = ix.intr_source_hold(fd, d);
    if (err !== 0) {
      if (took !== 0) ix.intr_source_rele(src, took);
      return err;
    }
    src = ix.held.src;
    took |= d;
  }
  for (const d of [ix.DIR_READ, ix.DIR_WRITE]) if ((have & d) !== 0 && (want & d) === 0) ix.intr_source_rele(src, d);
  I32[r + R.src] = src;
  I32[r + R.dirs] = want;
  return 0;
}

/**
 * Asks an ARMED record's descriptor whether it is ready for its events, and
 * queues its event if so. A descriptor that no longer names the record's
 * file is not asked (its record goes at the next association or close of
 * its number); `checked`: its identity was just compared. Returns 1 when an
 * event was queued.
 */
function rec_eval(r: number, checked = false): number {
  const src = I32[r + R.src]!;
  if (!checked && !ix.intr_source_valid(src)) return 0;
  const want = I32[r + R.events]!;
  const rev = ix.os_poll(ix.src_fd(src), to_host(want));
  if (rev < 0) return 0;
  return rec_queue(r, from_host(rev) & (want | ALWAYS));
}

/** Queues an ARMED record's event with portev_events `ev` (nothing when 0). Returns 1 when queued. */
function rec_queue(r: number, ev: number): number {
  if (ev === 0) return 0;
  const slot = I32[r + R.slot]!;
  port_set_event(slot, ev);
  if (!port_send_event(slot)) return 0; // the port is closing: its close frees the record
  I32[r + R.state] = A_QUEUED;
  kstat_add(C_EVENTS);
  return 1;
}

/** Frees every record `match` selects (no lock held): a port's close, a shortage's reclaim. Returns how many. */
function sweep(match: (r: number) => boolean): number {
  let n = 0;
  if (Atomics.load(I32, table.base + W_COUNT) === 0) return 0;
  mutex_enter(lockw());
  try {
    for (let b = table.base + W_BUCKETS; b < table.base + table.words && I32[table.base + W_COUNT]! > 0; b++) {
      for (let r = I32[b]!; r !== 0;) {
        const nx = I32[r + R.hnext]!;
        if (match(r)) { rec_free(r); n++; }
        r = nx;
      }
    }
  } finally {
    mutex_exit(lockw());
  }
  return n;
}

/** Frees the DONE records (of `port`, or of every port when port is 0): reclaimed on a shortage. */
const reclaim_dormant = (port: number): number => sweep((r) => I32[r + R.state] === A_DONE && (port === 0 || I32[r + R.port] === port));

// ---------------------------------------------------------------- port_associate

/** What one locked pass of an association needs or did. */
const NEED_SLOT = 1, DONE_OK = 0;

/**
 * One pass under the lock: re-arms the record of (port, fd) or makes it. A
 * new record, or one whose event is pending (withdrawn by taking a fresh
 * slot), needs the reserved slot `spare`: NEED_SLOT when there is none yet.
 * Returns DONE_OK, NEED_SLOT or an errno; `used` says whether spare was taken.
 */
function associate_locked(port: number, fd: number, events: number, user: number, spare: number, used: { v: boolean }): Errno | typeof NEED_SLOT {
  let r = rec_find(port, fd);
  // A fresh slot for a new record, for one whose event is queued (it is
  // withdrawn: replaced), and for a DONE one whose slot a getter still
  // holds: re-sending that slot would queue it behind the delivery, but a
  // later withdraw (a dissociate, another association) would then cancel
  // both, the retrieved event with the new one.
  const fresh = r === 0, st = fresh ? 0 : I32[r + R.state]!;
  const swap = fresh || st === A_QUEUED || (st === A_DONE && slot_held(I32[r + R.slot]!));
  if (swap && spare === 0) return NEED_SLOT;
  // Closed since the slot was reserved: its `closed` op may have swept already.
  if (swap && port_event_fd(spare) === 0) return 'EBADF';
  if (fresh) {
    r = recs.alloc();
    if (r === 0) return 'EAGAIN';
    I32[r + R.port] = port; I32[r + R.fd] = fd;
  }
  const err = rec_interests(r, fd, dirs_of(events));
  if (err !== 0) { if (fresh) recs.free(r); return err === 'EBADF' ? 'EBADFD' : err === 'ENOMEM' ? 'EAGAIN' : err; }
  if (fresh) {
    CHAIN.insert_head(bucket(fd), r);
    I32[table.base + W_COUNT]!++;
  } else if (swap) {
    // Its event is pending, perhaps in a getter's hands: freeing the slot
    // cancels that delivery; a DONE one's delivery completes (rec_free).
    port_free_event(I32[r + R.slot]!, st !== A_DONE);
  }
  if (swap) { I32[r + R.slot] = spare; used.v = true; }
  port_init_event(I32[r + R.slot]!, fd, user, r, true);
  I32[r + R.events] = events;
  I32[r + R.state] = A_ARMED;
  // Armed again: the intr thread must hear of the descriptor again if a
  // getter's wait had quieted it (fd_hwait_quiet), before the look below,
  // so that an arrival between the two is seen by one of them.
  ix.intr_source_unquiet(I32[r + R.src]!);
  // A getter of this port may wait on the descriptor itself (hostwait.ts).
  const h = rec_port_h(r);
  Atomics.store(I32, h + P.fdhintEv, events);
  Atomics.store(I32, h + P.fdhint, fd + 1);
  Atomics.store(I32, h + P.fdset, 1);
  rec_eval(r, true); // rec_find or intr_source_hold has just compared its identity
  return DONE_OK;
}

/** Reserves a slot for an association; one shortage reclaims the port's DONE records first. */
function reserve(port: number): number {
  try {
    return port_alloc_event(port, PORT_ALLOC_SCACHED, PORT_SOURCE_FD, 'port_associate');
  } catch (e) {
    if (!(e instanceof SysError) || e.code !== 'EAGAIN' || reclaim_dormant(port) === 0) throw e;
    return port_alloc_event(port, PORT_ALLOC_SCACHED, PORT_SOURCE_FD, 'port_associate');
  }
}

/** port_associate(port, PORT_SOURCE_FD, fd, events, user): arguments copied in by ports/sys.ts. */
function fd_associate(port: number, object: number, events: number, user: number): void {
  // Whether it is open is asked under the lock (rec_find, intr_source_hold: EBADFD).
  if (!Number.isInteger(object) || object < 0 || object >= 0x80000000) {
    fail('EBADFD', 'port_associate', `object ${object} is not a descriptor`);
  }
  if ((events & ~VALID) !== 0) fail('EINVAL', 'port_associate', `events ${events}`);
  const fd = object, used = { v: false };
  let spare = 0, reclaimed = false;
  try {
    for (;;) {
      let res: Errno | typeof NEED_SLOT;
      mutex_enter(lockw());
      try { res = associate_locked(port, fd, events, user, spare, used); } finally { mutex_exit(lockw()); }
      if (used.v) spare = 0;
      if (res === NEED_SLOT) { spare = reserve(port); continue; }
      if (res === 'EAGAIN' && !reclaimed) { reclaimed = true; if (reclaim_dormant(0) > 0) continue; }
      if (res !== DONE_OK) fail(res, 'port_associate', `fd ${fd}`);
      break;
    }
  } finally {
    if (spare !== 0) port_free_event(spare);
  }
  kstat_add(C_ASSOC);
  ix.intr_thread_start();
}

// ---------------------------------------------------------------- the other ops

/** port_dissociate(port, PORT_SOURCE_FD, fd): 0, ENOENT (not associated; also after its event was retrieved), EBADFD. */
function fd_dissociate(port: number, object: number): void {
  const valid = Number.isInteger(object) && object >= 0 && object < 0x80000000;
  let res: Errno = 'ENOENT';
  if (valid) {
    mutex_enter(lockw());
    try {
      const r = rec_find(port, object);
      if (r !== 0) {
        if (I32[r + R.state] !== A_DONE) res = 0;
        rec_free(r);
      }
    } finally {
      mutex_exit(lockw());
    }
  }
  if (res !== 0 && (!valid || !ix.os_fd_open(object))) res = 'EBADFD';
  if (res !== 0) fail(res, 'port_dissociate', `fd ${object}`);
}

/*
 * One statx per claimed event, not two. A getter that claims its host
 * wait's event (fd_claim, fd_hwait_end) has just compared the file's
 * identity, then takes the event in the same port_get: delivery reuses
 * that answer (intr.ts intr_source_confirmed / intr_source_fresh).
 */

/** The delivery callback (a getter, no lock held): the one-shot association ends. */
function fd_deliver(d: PortDelivery): boolean {
  const r = d.arg;
  const fresh = ix.intr_source_fresh(I32[r + R.src]!);
  mutex_enter(lockw());
  if (recs.index(r) >= 0 && I32[r + R.slot] === d.slot && I32[r + R.state] === A_QUEUED) {
    I32[r + R.state] = A_DONE;
    // Closed behind the kernel's back since: say so, not what the number names now.
    if (!fresh && !ix.intr_source_valid(I32[r + R.src]!)) { d.events = POLLNVAL; kstat_add(C_STALE); }
  }
  mutex_exit(lockw());
  return true;
}

/** Runs fn on the records of descriptor fd whose source is src (0: any), lock held by the caller; sums what it returns. */
function each_of_src(src: number, fd: number, fn: (r: number) => number): number {
  let n = 0;
  for (let r = I32[bucket(fd)]!; r !== 0;) {
    const nx = I32[r + R.hnext]!;
    if ((src === 0 || I32[r + R.src] === src) && I32[r + R.fd] === fd) n += fn(r);
    r = nx;
  }
  return n;
}

/** What epoll's report answers (every source's registered mask; EPOLLIN/PRI/OUT = POLLIN/PRI/OUT). */
const EPOLL_ANSWERS = POLLIN | POLLPRI | POLLOUT;
/**
 * Queues an ARMED record's event from epoll's report: the registered file's
 * readiness when the event was taken (no statx, no poll; a number reused
 * meanwhile is caught at delivery; stale like any readiness report, as with
 * poll). Other requested bits are asked (rec_eval).
 */
function rec_eval_revents(r: number, revents: number): number {
  const want = I32[r + R.events]!;
  // A getter may wait on this descriptor itself (hostwait.ts): it may have
  // taken the event this report is about and associated again since, so
  // the report may be older than the association; ask the descriptor.
  if ((want & ~EPOLL_ANSWERS) !== 0 || Atomics.load(I32, rec_port_h(r) + P.fdhint) === I32[r + R.fd]! + 1) return rec_eval(r);
  return rec_queue(r, revents & (want | ALWAYS));
}

/** An OS event on src (the intr thread, or a bridge; no lock held): ARMED records of it are evaluated. */
function fd_intr(src: number, revents: number): number {
  const fd = ix.src_fd(src);
  if (Atomics.load(I32, bucket(fd)) === 0) return 0; // nobody associated this number: the cheap case
  // A getter waits on fd in the host: it was woken too and evaluates fd's
  // records itself (hostwait.ts), so the intr thread leaves them to it, and
  // says so, rather than contend for the lock with it.
  const hw = hw_word(fd);
  if (Atomics.load(I32, hw) === fd + 1 && Atomics.compareExchange(I32, hw, fd + 1, -(fd + 1)) === fd + 1) { kstat_add(C_LEFT); return 0; }
  const rev = revents & (EPOLL_ANSWERS | POLLERR | POLLHUP);
  mutex_enter(lockw());
  try {
    return each_of_src(src, fd, (r) => (I32[r + R.state] === A_ARMED ? rec_eval_revents(r, rev) : 0));
  } finally {
    mutex_exit(lockw());
  }
}

/**
 * A getter of port `port` (handle h) waiting in the host on descriptor fd
 * (hostwait.ts) saw it ready (no lock held): queues the event of the port's
 * ARMED association with fd if the descriptor is ready for it, as the intr
 * thread would (whichever of the two comes first queues it, under the lock;
 * the other finds it queued, and the intr thread's queueing has woken the
 * getter). True when this call queued it. Otherwise the getter sleeps on
 * its wait word for the rest of this sleep; and when the association was
 * not even queued (retrieved already, or gone, the descriptor ready for
 * someone else), the port's hint is dropped, so that its getters wait on
 * their wait words until its next association.
 */
export function fd_claim(port: number, fd: number, h: number, revents: number): boolean {
  let st = 0, r = 0;
  mutex_enter(lockw());
  try {
    r = rec_of(port, fd);
    if (r !== 0) st = I32[r + R.state]!;
    // The host's report is fresh (the wait began after the association): no
    // need to ask again. But it is about whatever file the number names
    // now: unlike the intr thread's reports (the registered file's, caught
    // at delivery when the number was reused), one for another file must
    // never be queued, so the identity is compared first.
    if (st === A_ARMED && ix.intr_source_valid(I32[r + R.src]!) &&
        rec_queue(r, from_host(revents) & (I32[r + R.events]! | ALWAYS)) === 1) { ix.intr_source_confirmed(I32[r + R.src]!); kstat_add(C_CLAIMS); return true; }
  } finally {
    quiet_end_locked(r);
    mutex_exit(lockw());
  }
  if (st === A_QUEUED) { kstat_add(C_RACED); return false; }
  Atomics.compareExchange(I32, h + P.fdhint, fd + 1, 0);
  kstat_add(C_MISSES);
  return false;
}

/** Marks fd as waited on by the calling getter (hostwait.ts): false when another getter waits on a descriptor of the same mark. */
export function fd_hwait_begin(fd: number): boolean {
  return Atomics.compareExchange(I32, hw_word(fd), 0, fd + 1) === 0;
}

/**
 * Ends the calling getter's wait on fd: when the intr thread left an event
 * of fd to it meanwhile, evaluates every ARMED record of fd (of any port)
 * as the intr thread would have (asking the descriptor). Returns whether an
 * event was queued for port `port`.
 */
export function fd_hwait_end(fd: number, port: number): boolean {
  if (Atomics.exchange(I32, hw_word(fd), 0) >= 0) return false;
  let ours = 0;
  mutex_enter(lockw());
  try {
    ours = each_of_src(0, fd, (r) => {
      if (I32[r + R.state] !== A_ARMED || rec_eval(r) !== 1 || I32[r + R.port] !== port) return 0;
      ix.intr_source_confirmed(I32[r + R.src]!);
      return 1;
    });
  } finally {
    quiet_end_locked(rec_of(port, fd));
    mutex_exit(lockw());
  }
  if (ours !== 0) kstat_add(C_CLAIMS);
  return ours !== 0;
}

/*
 * Quiet waits. While a getter waits in the host on fd for an ARMED
 * association that is the only interest in fd's source, the intr thread
 * would only be woken by the same arrival to leave it to the getter
 * (fd_intr): the getter quiets the source for its wait (intr.ts
 * intr_source_quiet; measured: see the commit that made this). The
 * association must be heard again whenever it is ARMED with no such wait:
 * when the wait ends with it still ARMED (a kick, the time, a signal, a
 * descriptor ready for other events: quiet_end_locked), and when it is
 * armed again (associate_locked). A claimed one stays quiet until then:
 * QUEUED and DONE associations ignore their source's events anyway. Any
 * other interest taken or dropped in the source ends the quiet (intr.ts).
 * `quieted`: this thread's wait quieted a source and has not settled yet
 * (a thread waits once at a time).
 */
let quieted = false;

/** A getter about to wait in the host on fd for port `port` (its hw mark taken; no lock held): quiets fd's source if it may. */
export function fd_hwait_quiet(port: number, fd: number, events: number): void {
  mutex_enter(lockw());
  try {
    const r = rec_of(port, fd);
    if (r !== 0 && I32[r + R.state] === A_ARMED && I32[r + R.events] === events) quieted = ix.intr_source_quiet(I32[r + R.src]!, I32[r + R.dirs]!);
  } finally {
    mutex_exit(lockw());
  }
}
/**
 * Ends this thread's quiet wait, if it had one (portfd lock held), after
 * its claim or look: the association r (or 0) is heard again if it is
 * still ARMED.
 */
function quiet_end_locked(r: number): void {
  if (!quieted) return;
  quieted = false;
  if (r !== 0 && I32[r + R.state] === A_ARMED) ix.intr_source_unquiet(I32[r + R.src]!);
}
/** A wait that ends with neither a claim nor a look at its association (no lock held): ends its quiet. */
export function fd_hwait_settle(port: number, fd: number): void {
  if (!quieted) return;
  mutex_enter(lockw());
  try { quiet_end_locked(rec_of(port, fd)); } finally { mutex_exit(lockw()); }
}

/** The host's poll events of an association's events (hostwait.ts). */
export function fd_host_events(events: number): number { return to_host(events); }

/** close(fd) through the kernel (no lock held): its records go, queued events withdrawn. */
function fd_close(src: number, fd: number): void {
  if (Atomics.load(I32, bucket(fd)) === 0) return;
  mutex_enter(lockw());
  try { each_of_src(src, fd, (r) => { rec_free(r); return 1; }); } finally { mutex_exit(lockw()); }
}

/**
 * The bridge for a getter about to sleep on port h (its lock held; dropped
 * and taken back): until the intr thread runs, OS events wait in its epoll
 * set, so the getter takes them itself and sleeps one bridge period at most.
 * Returns when the sleep must end: `deadline` when no bridge is needed.
 */
export function fd_bridge_locked(h: number, deadline: number): number {
  if (!ix.intr_bridge_needed()) return deadline;
  port_exit(h);
  try { ix.intr_bridge(); } finally { mutex_enter(port_lock(h)); }
  return Math.min(deadline, mono_now() + ix.BRIDGE_NS);
}

port_source_register(PORT_SOURCE_FD, {
  name: 'fd',
  associate: fd_associate,
  dissociate: fd_dissociate,
  deliver: fd_deliver,
  closed: (port) => { sweep((r) => I32[r + R.port] === port); }, // the port is being closed: its records go
});
ix.intr_add_handler(fd_intr);
ix.intr_on_close(fd_close);
