/**
 * struct kqueue and struct knote in kernel memory, their caches and
 * tunables, and the knote lookup hash; with the kqueue subsystem's theory:
 * a knote's states and transitions, who writes each field under which lock,
 * and where kqueue meets the rest of the kernel. kern.ts (the core) and
 * kevent.ts (the call) point here.
 *
 * ---- Locks ----------------------------------------------------------------
 *
 *   kqueue lock (k)  everything in a kqueue and in its knotes: status, the
 *                    pending queue, the knote list, filter state, the
 *                    sleepers in kevent. Held across a whole register, scan
 *                    or activation; no filter operation sleeps, so each is
 *                    atomic (kern.ts says why that replaces the seed's
 *                    KN_PROCESSING).
 *   hash stripe (h)  one of NSTRIPE leaf locks over the kernel-wide lookup
 *                    hash, keyed by (kqueue, filter, ident); a chain changes
 *                    only under its stripe, taken only under a kqueue lock.
 *                    A fixed table sized from kq_knotes_max gives O(1)
 *                    registration without per-kqueue resizing. Lookups walk
 *                    a chain without the stripe first (kn_lookup says why a
 *                    hit needs no lock) and take it only to confirm a miss.
 *   file lock (f)    a watched descriptor's watch list (kern/fdtab.ts):
 *                    the knotes of every kqueue watching that descriptor,
 *                    linked through kn_wnext/kn_wprev (watch.ts).
 *   refs (a)         not a lock: a kqueue's memory stays while any
 *                    reference is held (the descriptor's, one per kevent in
 *                    progress, one per knote_fire or watch-list visit).
 *
 * Order: k, then h or f (or a callout heap, EVFILT_TIMER arming), never two
 * kqueue locks: a kqueue's own readiness is reported (file_notify) only
 * after its lock is dropped (kq_unlock).
 *
 * ---- Knote states (kn_status, KN_*) ---------------------------------------
 *
 * Every change is under k. ACTIVE: the event is present (or was, until a
 * scan looks again). QUEUED: on the pending queue (kq_count counts them; a
 * queued knote is always active). DISABLED: EV_DISABLE / EV_DISPATCH; an
 * active disabled knote stays active and is queued again when enabled.
 * DELETING: set just before the filter's detach; the knote is freed in the
 * same hold. (0x08, the seed's KN_DETACHED, is not used.)
 *
 *   from                  to                       by
 *   (free)                0                        EV_ADD of an absent knote (knote_attach):
 *                                                  filter attach (may join a watch list),
 *                                                  then the hash and the knote list
 *   not ACTIVE            ACTIVE|QUEUED            knote_activate: the filter says present
 *                                                  (register, a watch-list visit, knote_fire
 *                                                  from the clock thread or another source);
 *                                                  wakes one sleeper
 *   DISABLED              DISABLED|ACTIVE          knote_activate while disabled: not queued
 *   ACTIVE|QUEUED         (same)                   knote_activate again: no change
 *   any                   |DISABLED                EV_DISABLE (a queued knote stays queued
 *                                                  until the scan takes it off)
 *   DISABLED|ACTIVE       ACTIVE|QUEUED            EV_ENABLE (queued again; one still on the
 *                                                  queue just loses DISABLED)
 *   DISABLED|ACTIVE|      DISABLED|ACTIVE          kqueue_scan meets it: off the queue, kept
 *     QUEUED                                       active, not reported
 *   ACTIVE|QUEUED         0                        kqueue_scan: the filter says the event is
 *                                                  gone (level source drained), not reported
 *   ACTIVE|QUEUED         0 / DISABLED             reported with EV_CLEAR / EV_DISPATCH
 *   ACTIVE|QUEUED         ACTIVE|QUEUED (re-queued reported, level-triggered: queued again at
 *                          behind this call's)      the tail, not returned twice in one scan
 *   ACTIVE|QUEUED         DELETING -> (free)       reported with EV_ONESHOT
 *   any                   DELETING -> (free)       EV_DELETE; close of the kqueue (kq_close);
 *                                                  close of the watched descriptor
 *                                                  (notify.ts)
 *
 * A kqueue's own life: allocated with one reference (kq_alloc) and a
 * descriptor (sys.ts); kevent holds a reference for its call; close sets
 * kq_closing under k, drops every knote, wakes every sleeper (they fail
 * with EBADF) and drops the descriptor's reference; the last reference
 * frees it.
 *
 * ---- Where it meets the rest of the kernel ---------------------------------
 *
 *   kern/fdtab.ts      descriptors (kq_fd, kq_file); watch lists, file_notify
 *                      and the notify hook (notify.ts) for EVFILT_READ on a
 *                      port or a kqueue
 *   kern/sleepq.ts     kevent sleeps on kq_sq under k
 *   timers/callout.ts  EVFILT_TIMER: a callout per knote (kn_hook), armed
 *                      under k; its handler runs in the clock thread with no
 *                      lock and takes k itself (knote_fire's pattern)
 *   ports              a port's readiness reaches a watching knote through
 *                      file_notify after the port lock is dropped
 */
import { I32, F64, define_struct, kcache_create, kregion_create, f64_get, f64_set } from '../kern/kmem.js';
import { SList } from '../kern/queue.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { define_tunable } from '../kern/options.js';
import { mutex_class } from '../kern/lockdebug.js';
import { KernelAssertionError } from '../kern/errno.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** kqueues open at once, kernel-wide (default 1024). */
    kq_max?: number;
    /** knotes registered at once, kernel-wide (default 131072); EV_ADD beyond is ENOMEM. */
    kq_knotes_max?: number;
    /** EVFILT_TIMER knotes at once, DragonFly's kern.kq_calloutmax (default 4096); beyond is ENOMEM. */
    kq_calloutmax?: number;
  }
}
define_tunable('kq_max', 1024, 1, 1 << 20);
define_tunable('kq_knotes_max', 131072, 16, 1 << 22);
define_tunable('kq_calloutmax', 4096, 0, 1 << 22);

/** struct kqueue. `[key]`: what guards the field (legend in kern/lockorder.ts). */
const KQUEUE = define_struct('kqueue', {
  lock: 'i32',      // the kqueue lock (class kqueue)
  refs: 'i32',      // [a] the descriptor's reference plus one per kevent call (or knote_fire, visit) in progress
  closing: 'i32',   // [k] set when the descriptor is closed; never cleared
  count: 'i32',     // [k,~] knotes on the pending queue (kq_count); plain stores under k, read lock-free
                    //   with Atomics.load by kq_pending (EVFILT_READ on this kqueue) and the spin poll
  qhead: 'i32', qtail: 'i32',   // [k] pending queue (kq_knpend)
  lhead: 'i32', ltail: 'i32',   // [k] every knote of this kqueue (kq_knlist)
  sq: 'i32', sqTail: 'i32',     // [k] LWPs sleeping in kevent (adjacent: a sleep-queue list)
  file: 'i32',      // [k] descriptor table entry, for EVFILT_READ watchers of this kqueue: written once, by
                    //   kq_setfd (fd_alloc's init) before the descriptor is published; read by kq_unlock
                    //   without k (fixed from then on)
  fd: 'i32',        // [k] its descriptor number (kq_setfd, with file)
  nknotes: 'i32',   // [k] knotes registered
  nos: 'i32',       // [k] knotes on OS event sources (filters/os.ts, vnode.ts, proc.ts; kern.ts kq_os_attached): a blocking kevent then
                    //   waits in the host on the kernel's epoll set (intr/hostwait.ts)
  notify: 'i32',    // [k,a] events queued: look for watchers once the lock is dropped. Set (a plain store, by
                    //   every knote_enqueue) under k; cleared by close under k, or without k by the Atomics.exchange
                    //   of kq_unlock (whoever drops k next): a set is always followed by its setter's own look
  lastq: 'i32',     // [k] lid of the thread that last queued an event (adaptive spin)
  spinScore: 'i32', spinTick: 'i32', // [k] adaptive spin: does spinning pay on this kqueue (kern/spin.ts)
  nkd: 'i32',       // [k,~] knotes on kernel descriptors (EVFILT_READ on a kqueue or port: filters/read.ts): such a
                    //   kqueue may be fed by OS sources it does not hold (kern.ts kq_hostfed); read lock-free by polls
});
export const Q = KQUEUE.F;
/**
 * The kqueue's word offsets as compile-time constants, for the hot paths
 * (KO says why); checked against the struct at load.
 */
export const enum QO {
  lock = 0, refs = 1, closing = 2, count = 3, qhead = 4, qtail = 5, lhead = 6, ltail = 7, sq = 8, sqTail = 9,
  file = 10, fd = 11, nknotes = 12, nos = 13, notify = 14, lastq = 15, spinScore = 16, spinTick = 17, nkd = 18,
}

/**
 * struct knote. `[key]`: what guards the field (legend in kern/lockorder.ts).
 * kn_kq, kn_filter and kn_ident are set before the knote is published
 * (on a watch list by its filter's attach, then in the hash and on its
 * kqueue's list, all under k) and do not change until it is freed; a
 * holder of its kqueue's lock is the only writer of everything else but
 * the links under h and f.
 */
const KNOTE = define_struct('knote', {
  ident: 'f64',     // [c]
  sdata: 'f64',     // [k] data given at registration
  data: 'f64',      // [k] data to report
  udata: 'f64',     // [k]
  aux0: 'f64', aux1: 'f64',       // [k] filter-private (EVFILT_TIMER: period and next deadline, ns)
  kq: 'i32',        // [c] until the drop clears it under k; read lock-free by kn_lookup's walk and by
                    //   knote_fire / the timer handler, which re-check it under k
  filter: 'i32',    // [c]
  flags: 'i32',     // [k] the kevent flags stored at registration (kn_kevent.flags)
  status: 'i32',    // [k] KN_* (the state table above)
  sfflags: 'i32',   // [k] fflags given at registration
  fflags: 'i32',    // [k] fflags to report
  hook: 'i32',      // [k] filter-private (EVFILT_USER: triggered; EVFILT_TIMER: callout)
  hnext: 'i32',     // [h,~] hash chain: changed under the bucket's stripe, walked lock-free first
  qnext: 'i32', qprev: 'i32',     // [k] pending queue
  lnext: 'i32', lprev: 'i32',     // [k] kqueue's list of knotes
  wnext: 'i32', wprev: 'i32',     // [f] the watched file's list (the lock of kn_file); EVFILT_SIGNAL: its signal's list [n]
  file: 'i32',      // [k+f] watched descriptor table entry (fd filters), 0 otherwise
});
/**
 * The knote's field offsets as an object literal. define_struct builds its
 * offset table by keyed stores into an empty object, and past a dozen such
 * properties V8 turns the object into a hash table: every `K.field` in the
 * knote code was then a generic property lookup (a builtin call, about a
 * quarter of the kevent trigger and scan time). A literal keeps one fixed
 * hidden class, so `kn + K.field` is a checked in-object load.
 */
const KF = KNOTE.F;
/**
 * The same offsets as compile-time constants: tsc writes each `KO.field` as
 * a number literal, where `K.field` is a context load, a hole check and a
 * property load (about ten bytes of bytecode against two). The trigger and
 * scan paths use these: V8 inlines callees into an optimised function only
 * up to a total of bytecode (hi32 below), and the trigger's path spent
 * much of that total on loading offsets, which kept its steps out of line
 * (a call each, per change). Checked against the struct at load, below, so
 * the two cannot drift apart.
 */
export const enum KO {
  ident = 0, sdata = 2, data = 4, udata = 6, aux0 = 8, aux1 = 10,
  kq = 12, filter = 13, flags = 14, status = 15, sfflags = 16, fflags = 17,
  hook = 18, hnext = 19, qnext = 20, qprev = 21, lnext = 22, lprev = 23,
  wnext = 24, wprev = 25, file = 26,
}
export const K = {
  ident: KO.ident, sdata: KO.sdata, data: KO.data, udata: KO.udata, aux0: KO.aux0, aux1: KO.aux1,
  kq: KO.kq, filter: KO.filter, flags: KO.flags, status: KO.status, sfflags: KO.sfflags, fflags: KO.fflags,
  hook: KO.hook, hnext: KO.hnext, qnext: KO.qnext, qprev: KO.qprev, lnext: KO.lnext, lprev: KO.lprev,
  wnext: KO.wnext, wprev: KO.wprev, file: KO.file,
} as const satisfies Record<keyof typeof KF, number>;
const QC: Record<keyof typeof Q, number> = {
  lock: QO.lock, refs: QO.refs, closing: QO.closing, count: QO.count, qhead: QO.qhead, qtail: QO.qtail,
  lhead: QO.lhead, ltail: QO.ltail, sq: QO.sq, sqTail: QO.sqTail, file: QO.file, fd: QO.fd, nknotes: QO.nknotes,
  nos: QO.nos, notify: QO.notify, lastq: QO.lastq, spinScore: QO.spinScore, spinTick: QO.spinTick, nkd: QO.nkd,
};
/** Throws unless each constant offset is the struct's (define_struct may lay fields out anew). */
function check_offsets(what: string, struct: Readonly<Record<string, number>>, consts: Readonly<Record<string, number>>): void {
  for (const name of Object.keys(struct)) {
    if (struct[name] !== consts[name]) throw new KernelAssertionError(`${what}.${name}: constant offset ${consts[name]}, struct offset ${struct[name]}`);
  }
}
check_offsets('knote', KF, K);
check_offsets('kqueue', Q, QC);
/** The hash chains, under their bucket's stripe (h). */
const KNCHAIN = new SList(K.hnext);

/** Knote status bits (kn_status); KNS as compile-time constants for the hot paths (KO says why). */
export const enum KNS { ACTIVE = 0x01, QUEUED = 0x02, DISABLED = 0x04, DELETING = 0x10 }
export const KN_ACTIVE = KNS.ACTIVE, KN_QUEUED = KNS.QUEUED, KN_DISABLED = KNS.DISABLED, KN_DELETING = KNS.DELETING;

export const kqueues = kcache_create('kqueue', KQUEUE, (t) => t.kq_max!);
export const knotes = kcache_create('knote', KNOTE, (t) => t.kq_knotes_max!);

const NSTRIPE = 256;
function nbuckets(max: number): number { let n = 64; while (n < max) n *= 2; return n; }
const knhash = kregion_create('knhash', (t) => NSTRIPE + nbuckets(t.kq_knotes_max!));
mutex_class('kqueue', kqueues, { field: Q.lock });
mutex_class('knhash', knhash, { words: NSTRIPE });

// f64 field accessors.
export function kn_ident(kn: number): number { return f64_get(kn, K.ident); }
export function kn_data(kn: number): number { return f64_get(kn, K.data); }
export function kn_setdata(kn: number, v: number): void { f64_set(kn, K.data, v); }
export function kn_sdata(kn: number): number { return f64_get(kn, K.sdata); }
export function kn_aux(kn: number, i: 0 | 1): number { return F64[(kn + (i === 0 ? K.aux0 : K.aux1)) >> 1]; }
export function kn_setaux(kn: number, i: 0 | 1, v: number): void { F64[(kn + (i === 0 ? K.aux0 : K.aux1)) >> 1] = v; }

/**
 * The bucket word for (kq, filter, ident). The hash keeps runs of 16
 * consecutive idents of one (kq, filter) in one 64-byte line of buckets, in
 * a permuted order, and scatters the runs: registering, triggering or
 * deleting knotes in ident order (descriptors, counters) then misses the
 * cache once per 16 lookups rather than once per lookup, and strided idents
 * (addresses) still spread over every line.
 */
function bucket(kq: number, filter: number, ident: number): number {
  const lo = ident >>> 0;
  let h = Math.imul(kq ^ Math.imul(filter, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(lo >>> 4, 0xc2b2ae35);
  if (ident > 0xffffffff) h ^= hi32(ident);
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d); h ^= h >>> 13;
  const r = knhash;
  return r.base + NSTRIPE + (((h << 4) | ((lo ^ h) & 15)) & (r.words - NSTRIPE - 1));
}
/**
 * An ident's bits above 32 (the division is the slowest step of a hash, so
 * only idents past 32 bits take it). A call of its own, as are the rare
 * paths of the other functions a trigger runs: V8 inlines a call only while
 * the caller's inlined bytecode stays within a budget (920 bytes), and the
 * trigger's path (kevent.ts apply_changes) is longer than that, so every
 * byte of a rare path in it keeps a common step out of line.
 */
function hi32(ident: number): number { return Math.floor(ident / 4294967296) | 0; }
/** The bucket word of (kq, filter, ident), for tests that need knotes to share chains. */
export function kn_bucket(kq: number, filter: number, ident: number): number { return bucket(kq, filter, ident); }
function stripe(b: number): number { return knhash.base + ((b - knhash.base) & (NSTRIPE - 1)); }

/** Chain steps a lock-free lookup takes before it asks for the stripe lock. */
const OPTIMISTIC_STEPS = 32;

/**
 * Finds the knote of (kq, filter, ident), or 0 (kqueue lock held).
 *
 * First without the stripe lock: only a holder of kq's lock creates, frees
 * or changes a knote whose kq field names kq, and we hold it, so a knote
 * found with kq, filter and ident all matching is ours and live, whatever
 * other kqueues do to the chain meanwhile (every link is 0 or a knote
 * handle, so a racy walk stays in bounds). A miss may come from a chain
 * changing under the walk: it is confirmed under the stripe lock.
 */
export function kn_lookup(kq: number, filter: number, ident: number): number {
  const m = I32, f = F64;
  const b = bucket(kq, filter, ident);
  let kn = m[b]!;
  for (let n = 0; kn !== 0 && n < OPTIMISTIC_STEPS; n++) {
    if (m[kn + KO.kq] === kq && m[kn + KO.filter] === filter && f[(kn + KO.ident) >> 1] === ident) return kn;
    kn = m[kn + KO.hnext]!;
  }
  return kn_lookup_locked(b, kq, filter, ident);
}

function kn_lookup_locked(b: number, kq: number, filter: number, ident: number): number {
  const s = stripe(b);
  mutex_enter(s);
  let kn = I32[b]!;
  while (kn !== 0 && !(I32[kn + K.kq] === kq && I32[kn + K.filter] === filter && kn_ident(kn) === ident)) kn = I32[kn + K.hnext]!;
  mutex_exit(s);
  return kn;
}

/** Links a new knote into the hash (kqueue lock held). */
export function kn_hash_insert(kn: number): void {
  const b = bucket(I32[kn + K.kq], I32[kn + K.filter], kn_ident(kn)), s = stripe(b);
  mutex_enter(s);
  KNCHAIN.insert_head(b, kn);
  mutex_exit(s);
}

/** Unlinks a knote from the hash (kqueue lock held). */
export function kn_hash_remove(kn: number): void {
  const b = bucket(I32[kn + K.kq], I32[kn + K.filter], kn_ident(kn)), s = stripe(b);
  mutex_enter(s);
  KNCHAIN.remove(b, kn);
  I32[kn + K.hnext] = 0;
  mutex_exit(s);
}

/** Bytes of kernel memory one knote costs: its struct plus its share of the hash. */
export function bytes_per_knote(): number {
  return knotes.bytesPerObject + ((knhash.words - NSTRIPE) * 4) / Math.max(1, knotes.count);
}
