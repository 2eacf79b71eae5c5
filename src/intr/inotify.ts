/**
 * The kernel's file watching: one inotify instance for the whole process,
 * whose descriptor is an intr source in the epoll set (DIR_READ) like any
 * other, and the table that maps its watch descriptors to the kernel objects
 * watching them (EVFILT_VNODE knotes, PORT_SOURCE_FILE associations).
 *
 * ---- Shape ------------------------------------------------------------------
 *
 * A watcher (struct iwatcher) is one kernel object's interest in one open
 * file: made by ino_hold(fd, mask, kind, owner) from a host descriptor of
 * the file. It watches the open file, not a path: the watch is added on
 * /proc/self/fd/N, which names the open inode even once it is renamed or
 * unlinked. inotify gives the same wd for the same inode, so watchers of
 * one file share one watch (struct iwatch, hashed by wd), which counts them;
 * each hold adds its mask to the watch's (IN_MASK_ADD: the host's mask is
 * the union, and only grows while the watch lives), and the last release
 * removes the watch (inotify_rm_watch). Consumers filter what they did not
 * ask for themselves. A watch made by a hold that gave the file's identity
 * is hashed by it too, so that a later hold of the same file can join it
 * without the host (ino_hold says when that is sound).
 *
 * The intr thread (or the bridge before it runs) reads the instance when
 * epoll says it is readable: it is edge-triggered and non-blocking, so the
 * handler reads until the queue is empty. Each read is made under the
 * inotify lock, and one read's events are folded per wd (their masks
 * OR-ed) and the watchers of each wd collected with their generation in
 * the same hold, so a read's events go to the watchers there were when the
 * host queued them: a hold that joins a watch that exists reads the queue
 * dry itself first (drain: the events are its watchers', dispatched by the
 * holding thread once it holds no lock, ino_flush), so nothing a file did
 * before the hold reaches the new watcher, even through a watch another
 * watcher kept. After the lock is dropped each
 * goes to its kind's consumer (ino_add_consumer), which takes its own lock
 * and checks the watcher is still the one it holds (ino_gen) before it acts:
 * a watcher released meanwhile, its slot reused, is never reported to.
 * IN_IGNORED (the watch is gone: removed by us, the inode freed, the file
 * system unmounted) marks the watch dead and unhashes it: its wd says nothing
 * more. IN_Q_OVERFLOW (events were lost) reports every mask bit to every
 * watcher, so nothing is lost at the price of a spurious report.
 *
 * ---- Locks ------------------------------------------------------------------
 *
 *   inotify lock (N)  the watch hash, each watch's refs, watcher list and
 *                     dead flag, the instance's descriptor. Taken under a
 *                     kqueue lock (vnode attach/detach) or the port-file lock
 *                     (association), or alone (the handler); the intr lock is
 *                     taken under it once, when the instance is made and put
 *                     in epoll. inotify_add_watch / rm_watch run under it, so
 *                     the table always matches the host's watches, and so
 *                     does every read(2) of the instance (above).
 *
 * ---- Life of a watch --------------------------------------------------------
 *
 *   (free)  live   the first ino_hold of an inode (add_watch gave a new wd)
 *   live    live   another hold (refs++) / a release that is not the last
 *   live    dead   IN_IGNORED read for its wd (unhashed; watchers keep it)
 *   live    (free) the last release: rm_watch, unhash
 *   dead    (free) the last release (nothing to remove)
 */
import { I32, F64, define_struct, kcache_create, kregion_create } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mutex_class } from '../kern/lockdebug.js';
import { define_tunable } from '../kern/options.js';
import { kstat_counter, kstat_add, kstat_gauge } from '../kern/kstat.js';
import { TailQ, SList } from '../kern/queue.js';
import type { Errno } from '../kern/errno.js';
import { intr_source_hold, src_fd, held, DIR_READ, INTR_USER_INO } from './intr.js';
import { intr_add_handler } from './dispatch.js';
import { os_close, os_available, os_errno } from './ffi.js';
import * as ino from './ffi-inotify.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** Files watched at once through inotify (EVFILT_VNODE knotes plus PORT_SOURCE_FILE associations; default 4096); beyond is ENOMEM. */
    inotify_watchers_max?: number;
  }
}
define_tunable('inotify_watchers_max', 4096, 16, 1 << 20);

/** struct iwatch: one host watch (one inode). `[key]`: legend in kern/lockorder.ts. */
const IWATCH = define_struct('iwatch', {
  hnext: 'i32',  // [N] hash chain (word 0: the cache's free link while free)
  wd: 'i32',     // [N] the host's watch descriptor
  refs: 'i32',   // [N] watchers
  whead: 'i32', wtail: 'i32', // [N] its watchers
  dead: 'i32',   // [N] IN_IGNORED came: off the hash, nothing to remove
  hmask: 'i32',  // [N] the IN_* bits asked of the host so far (IN_MASK_ADD: it only grows)
  ihnext: 'i32', // [N] the inode hash chain (while ihashed)
  ihashed: 'i32', // [N] on the inode hash: its file's identity is known (below)
  devMajor: 'i32', devMinor: 'i32', inoLo: 'i32', inoHi: 'i32', // [N] that identity
});
const W = IWATCH.F;
/** struct iwatcher: one kernel object's interest. */
const IWATCHER = define_struct('iwatcher', {
  wnext: 'i32', wprev: 'i32', // [N] on its watch's list (word 0: free link)
  iw: 'i32',     // [c] its watch
  gen: 'i32',    // [N,a] nonzero while allocated; consumers check it
  kind: 'i32',   // [c] INO_* consumer kind
  owner: 'i32',  // [c] the consumer's object (a knote, an association)
  a0: 'i32', a1: 'i32', // [k|F] the owner's, under its lock (a knote's kqueue lock: nlink; an association's port-file lock)
  d0: 'f64',     // [k|F] the owner's (vnode: last size)
});
export const IW = IWATCHER.F;
export const INO_KNOTE = 1, INO_PORT = 2;

const watches = kcache_create('iwatch', IWATCH, (t) => t.inotify_watchers_max!);
const watchers = kcache_create('iwatcher', IWATCHER, (t) => t.inotify_watchers_max!);
function nbuckets(max: number): number { let n = 64; while (n < max) n *= 2; return n; }
// Two hash tables of nbuckets heads each: watches by wd, and by their file's identity.
const state = kregion_create('inotify', (t) => W_BUCKETS + 2 * nbuckets(t.inotify_watchers_max!));
const W_LOCK = 0, W_IFD = 1, W_SRC = 2, W_GEN = 3, W_BUCKETS = 4;
mutex_class('inotify', state, { words: 1 });
const lockw = (): number => state.base + W_LOCK;
const nb = (): number => (state.words - W_BUCKETS) >> 1;
const bucket = (wd: number): number => state.base + W_BUCKETS + (wd & (nb() - 1));
const ibucket = (id: InoId): number =>
  state.base + W_BUCKETS + nb() + ((Math.imul(id.inoLo ^ id.devMinor, 0x9e3779b1) ^ id.inoHi ^ id.devMajor) >>> 0 & (nb() - 1));
const WQ = new TailQ(W.whead, W.wtail, IW.wnext, IW.wprev);

const C_EVENTS = kstat_counter('inotify', 'events');
const C_OVERFLOWS = kstat_counter('inotify', 'overflows');
const C_DRAINED = kstat_counter('inotify', 'drained');
const C_JOINED = kstat_counter('inotify', 'joined_by_identity');
kstat_gauge('inotify', 'watches', () => watches.inuse);
kstat_gauge('inotify', 'watchers', () => watchers.inuse);

/** Makes the instance and puts it in epoll (inotify lock held): 0 or an errno. */
function instance(): Errno {
  if (I32[state.base + W_IFD] !== 0) return 0;
  const ifd = ino.os_inotify_init();
  if (ifd < 0) return 'ENOMEM';
  // Its events are this file's alone (ino_intr, the INO handler): neither
  // the kqueue's os filter, which would look for knotes of it, nor the
  // other consumers' handlers are asked.
  const err = intr_source_hold(ifd, DIR_READ, false, INTR_USER_INO);
  if (err !== 0) { os_close(ifd); return err; }
  I32[state.base + W_SRC] = held.src;
  Atomics.store(I32, state.base + W_IFD, ifd + 1);
  return 0;
}

const CHAIN = new SList(W.hnext);
function lookup(wd: number): number {
  let w = CHAIN.first(bucket(wd));
  while (w !== 0 && I32[w + W.wd] !== wd) w = CHAIN.after(w);
  return w;
}
function unhash(w: number): void {
  CHAIN.remove(bucket(I32[w + W.wd]!), w);
  if (I32[w + W.ihashed] !== 0) { ICHAIN.remove(ibucket(id_of(w)), w); I32[w + W.ihashed] = 0; }
}

/** A file's identity (statx: device and inode numbers), as the kernel's callers hold it. */
export interface InoId { devMajor: number; devMinor: number; inoLo: number; inoHi: number }
const ICHAIN = new SList(W.ihnext);
const idbuf: InoId = { devMajor: 0, devMinor: 0, inoLo: 0, inoHi: 0 };
function id_of(w: number): InoId {
  idbuf.devMajor = I32[w + W.devMajor]!; idbuf.devMinor = I32[w + W.devMinor]!;
  idbuf.inoLo = I32[w + W.inoLo]!; idbuf.inoHi = I32[w + W.inoHi]!;
  return idbuf;
}
/** The live watch of the file with identity id, or 0 (inotify lock held). */
function ilookup(id: InoId): number {
  let w = ICHAIN.first(ibucket(id));
  while (w !== 0 && !(I32[w + W.inoLo] === id.inoLo && I32[w + W.inoHi] === id.inoHi &&
    I32[w + W.devMinor] === id.devMinor && I32[w + W.devMajor] === id.devMajor)) w = ICHAIN.after(w);
  return w;
}
function ihash(w: number, id: InoId): void {
  I32[w + W.devMajor] = id.devMajor; I32[w + W.devMinor] = id.devMinor; I32[w + W.inoLo] = id.inoLo; I32[w + W.inoHi] = id.inoHi;
  ICHAIN.insert_head(ibucket(id), w);
  I32[w + W.ihashed] = 1;
}

/** The watch of wd, made and hashed if new (inotify lock held); 0 when the table is full. */
function watch_of(wd: number): number {
  let w = lookup(wd);
  if (w !== 0) return w;
  w = watches.alloc();
  if (w === 0) return 0;
  I32[w + W.wd] = wd; I32[w + W.hmask] = 0; I32[w + W.ihashed] = 0;
  CHAIN.insert_head(bucket(wd), w);
  return w;
}

/**
 * What a failed inotify_add_watch says to the caller. ENOSPC (the host's
 * max_user_watches reached) and ENOMEM are a shortage, as the kernel's own
 * table full is (ENOMEM: PORT_SOURCE_FILE reaps its delivered associations'
 * watchers and tries again on it); anything else (the descriptor gone, a
 * file that cannot be watched) is the descriptor's fault.
 */
function add_watch_errno(e: number): Errno {
  // EACCES: inotify wants read permission on the file (a descriptor opened
  // write-only on a file its owner cannot read): BSD's kevent(2) has EACCES
  // for a filter the process may not register, illumos port_associate(3C)
  // for a PORT_SOURCE_FILE file it may not access. It was EBADF, which says
  // the descriptor is not open.
  return e === 28 /* ENOSPC */ || e === 12 /* ENOMEM */ ? 'ENOMEM' : e === 13 /* EACCES */ ? 'EACCES' : 'EBADF';
}

/** What ino_hold made. */
export const ino_held = { w: 0 };

/**
 * Watches the open file of host descriptor fd for the IN_* bits of `mask`
 * on behalf of (kind, owner): 0 (the watcher in ino_held.w) or ENOMEM
 * (tables or host limit full), EACCES (no read permission on the file),
 * EBADF (the descriptor cannot be watched),
 * EOPNOTSUPP (no host calls). Never throws; may be called under the
 * consumer's lock. The caller, once it holds no lock, calls ino_flush
 * (joining a watch may have read events for its other watchers: drain) and
 * starts the intr thread.
 *
 * `id`, the file's identity (the caller's statx of fd), lets a hold join
 * a live watch of that file without asking the host again, when the watch
 * already asks for every bit of `mask`: a PORT_SOURCE_FILE getter that
 * associates the file again after each event spares inotify_add_watch on
 * /proc/self/fd/N, ~4 us of a ~17 us association (measured). Sound: the
 * queue is read dry first (drain), so a watch whose file went (IN_IGNORED
 * queued when the inode was removed, before its number could be given to a
 * new file) is dead and unhashed before the lookup that could find it.
 */
export function ino_hold(fd: number, mask: number, kind: number, owner: number, id?: InoId): Errno {
  if (!os_available() || !ino.ino_available()) return 'EOPNOTSUPP';
  const me = watchers.alloc();
  if (me === 0) return 'ENOMEM';
  mutex_enter(lockw());
  let err: Errno = instance();
  let w = 0;
  if (err === 0 && id !== undefined && (w = ilookup(id)) !== 0) {
    if ((mask & ~I32[w + W.hmask]!) === 0) { drain(); w = ilookup(id); } else w = 0;
    if (w !== 0) kstat_add(C_JOINED);
  }
  if (err === 0 && w === 0) {
    const wd = ino.os_inotify_watch_fd(I32[state.base + W_IFD]! - 1, fd, mask);
    if (wd < 0) err = add_watch_errno(os_errno());
    else if (lookup(wd) !== 0) { drain(); w = lookup(wd); }
    if (err === 0 && w === 0 && (w = watch_of(wd)) === 0) err = 'ENOMEM';
    if (err === 0) {
      I32[w + W.hmask] |= mask;
      if (id !== undefined && I32[w + W.ihashed] === 0) ihash(w, id);
    }
  }
  if (err === 0) {
    I32[w + W.refs]!++;
    WQ.insert_tail(w, me);
    I32[me + IW.iw] = w; I32[me + IW.kind] = kind; I32[me + IW.owner] = owner;
    const g = (I32[state.base + W_GEN]! + 1) & 0x7fffffff || 1;
    I32[state.base + W_GEN] = g;
    Atomics.store(I32, me + IW.gen, g);
  }
  mutex_exit(lockw());
  if (err !== 0) { watchers.free(me); return err; }
  ino_held.w = me;
  return 0;
}

/** Releases a watcher; the last of its watch removes the host watch. Never throws. */
export function ino_rele(me: number): void {
  mutex_enter(lockw());
  const w = I32[me + IW.iw]!;
  WQ.remove(w, me);
  Atomics.store(I32, me + IW.gen, 0);
  const last = --I32[w + W.refs]! === 0;
  if (last && I32[w + W.dead] === 0) {
    ino.os_inotify_rm(I32[state.base + W_IFD]! - 1, I32[w + W.wd]!);
    unhash(w);
  }
  mutex_exit(lockw());
  watchers.free(me);
  if (last) watches.free(w);
}

/** A watcher's generation (0 once released): a consumer's check that it still holds the one reported. */
export function ino_gen(me: number): number { return Atomics.load(I32, me + IW.gen); }
/** The owner's words of a watcher (under the owner's lock). */
export function ino_word(me: number, i: 0 | 1): number { return I32[me + (i === 0 ? IW.a0 : IW.a1)]!; }
export function ino_set_word(me: number, i: 0 | 1, v: number): void { I32[me + (i === 0 ? IW.a0 : IW.a1)] = v; }
export function ino_num(me: number): number { return F64[(me + IW.d0) >> 1]!; }
export function ino_set_num(me: number, v: number): void { F64[(me + IW.d0) >> 1] = v; }

/** What a consumer does with events on a watcher (no lock held): IN_* bits. Returns the activations made. */
export type InoConsumer = (owner: number, w: number, gen: number, mask: number) => number;
const consumers: (InoConsumer | undefined)[] = [];
/** Installs a kind's consumer (at module load, in a module every thread loads: the intr thread too). */
export function ino_add_consumer(kind: number, fn: InoConsumer): void { consumers[kind] = fn; }

const ALL = ino.IN_ACCESS | ino.IN_MODIFY | ino.IN_ATTRIB | ino.IN_MOVED_FROM | ino.IN_MOVED_TO | ino.IN_CREATE |
  ino.IN_DELETE | ino.IN_DELETE_SELF | ino.IN_MOVE_SELF;

const CHILD = ino.IN_CREATE | ino.IN_DELETE | ino.IN_MOVED_FROM | ino.IN_MOVED_TO | ino.IN_ISDIR;

/**
 * A new watcher of a watch that exists: events the host queued on that
 * watch before now (a file written while a kept watch had no live
 * watcher, or just before this one joined) must not reach it. The queue is
 * read dry here, under the inotify lock, before the watcher joins, and its
 * events collected for the watchers there were; the reads of the intr thread
 * take the lock too, so every later read holds only events queued after the
 * join. What was collected is dispatched by this thread once it holds no
 * lock (ino_flush). The lookup is done again by the caller: an IN_IGNORED in
 * the queue may have unhashed the watch.
 */
function drain(): void {
  const ifd = I32[state.base + W_IFD]! - 1;
  drainbuf ??= new ino.InoEvents();
  for (;;) {
    const n = drainbuf.fill(ifd);
    if (n > 0) { kstat_add(C_EVENTS, n); kstat_add(C_DRAINED, n); take_locked(drainbuf, n, pending); }
    if (n <= 0 || !drainbuf.more) return;
  }
}
let drainbuf: ino.InoEvents | undefined;
/** This thread's events read by drain(), to dispatch once it holds no lock. */
const pending: number[] = [];

/** Dispatches what this thread's ino_hold calls read from the queue (no lock held). Never throws. */
export function ino_flush(): void {
  while (pending.length !== 0) {
    const out = pending.splice(0, pending.length);
    dispatch(out);
  }
}

function dispatch(out: number[]): number {
  let acts = 0;
  for (let i = 0; i < out.length; i += 5) acts += consumers[out[i + 2]!]?.(out[i + 3]!, out[i]!, out[i + 1]!, out[i + 4]!) ?? 0;
  return acts;
}

/** Collects (watcher, gen, kind, owner, mask) for one watch's events (inotify lock held). */
function collect(w: number, mask: number, out: number[]): void {
  for (let me = WQ.head(w); me !== 0; me = WQ.after(me)) {
    out.push(me, I32[me + IW.gen]!, I32[me + IW.kind]!, I32[me + IW.owner]!, mask);
  }
}

/** One read's events folded per wd, their watchers collected (inotify lock held). */
function take_locked(buf: ino.InoEvents, n: number, out: number[]): void {
  // One event, the usual read of a watcher woken per change: nothing to fold.
  if (n === 1) { const m = ev_mask(buf, 0); if (m !== 0) take_wd(buf.wd[0]!, m, out); return; }
  const fold = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const m = ev_mask(buf, i);
    if (m !== 0) fold.set(buf.wd[i]!, (fold.get(buf.wd[i]!) ?? 0) | m);
  }
  for (const [wd, mask] of fold) take_wd(wd, mask, out);
}

/**
 * Event i's bits that concern its watch: a directory's watch also hears of
 * its children (a name is given), and only their coming and going concerns
 * the directory itself.
 */
function ev_mask(buf: ino.InoEvents, i: number): number { return buf.named[i] !== 0 ? buf.mask[i]! & CHILD : buf.mask[i]!; }

/** The folded events of one wd: its watchers collected, the watch let go on IN_IGNORED (inotify lock held). */
function take_wd(wd: number, mask: number, out: number[]): void {
  if ((mask & ino.IN_Q_OVERFLOW) !== 0) {
    kstat_add(C_OVERFLOWS);
    for (let i = 0; i < watches.count; i++) {
      const w = watches.handle(i);
      if (I32[w + W.refs]! > 0) collect(w, ALL, out);
    }
    return;
  }
  const w = lookup(wd);
  if (w === 0) return;
  const m = mask & ~ino.IN_IGNORED;
  if (m !== 0) collect(w, m, out);
  if ((mask & ino.IN_IGNORED) !== 0) { unhash(w); I32[w + W.dead] = 1; }
}

const evbuf = new ino.InoEvents();
/** The intr handler: the instance is readable; read it dry and report (no lock held). */
function ino_intr(src: number): number {
  if (src !== Atomics.load(I32, state.base + W_SRC) || I32[state.base + W_IFD] === 0) return 0;
  const ifd = src_fd(src);
  let acts = 0;
  for (;;) {
    // Read under the lock: a joining watcher's drain() then sees every event
    // queued before it joined, and no read straddles the join.
    // This thread's collection array (no allocation per read); a new one
    // should a consumer's dispatch below ever bring this handler back here.
    const out = outBusy ? [] : outbuf;
    out.length = 0;
    mutex_enter(lockw());
    const n = evbuf.fill(ifd), more = evbuf.more;
    if (n > 0) take_locked(evbuf, n, out);
    mutex_exit(lockw());
    if (n <= 0) break;
    kstat_add(C_EVENTS, n);
    const mine = out === outbuf;
    if (mine) outBusy = true;
    try { acts += dispatch(out); } finally { if (mine) outBusy = false; }
    if (!more) break;
  }
  return acts;
}
const outbuf: number[] = [];
let outBusy = false;
intr_add_handler(ino_intr, INTR_USER_INO);
