/**
 * struct kqueue and struct knote in kernel memory, their caches and
 * tunables, and the knote lookup hash.
 *
 * Locking: everything in a kqueue and in its knotes (status, queue links,
 * filter state) is guarded by the kqueue's lock. The lookup hash is one
 * kernel-wide table keyed by (kqueue, filter, ident) whose chains are changed
 * under striped leaf locks taken only under a kqueue lock: a fixed table sized
 * from kq_knotes_max gives O(1) registration without per-kqueue resizing. A
 * lookup walks its chain without the stripe lock first and takes it only to
 * confirm a miss (kn_lookup says why a hit needs no lock).
 */
import { I32, F64, defineStruct, kcacheCreate, kregionCreate } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { defineTunable } from '../kern/options.js';
import { mutex_class } from '../kern/lockdebug.js';

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
defineTunable('kq_max', 1024, 1, 1 << 20);
defineTunable('kq_knotes_max', 131072, 16, 1 << 22);
defineTunable('kq_calloutmax', 4096, 0, 1 << 22);

export const KQUEUE = defineStruct('kqueue', {
  lock: 'i32',
  refs: 'i32',      // the descriptor's reference plus one per kevent call in progress
  closing: 'i32',   // set under the lock when the descriptor is closed
  count: 'i32',     // knotes on the pending queue (kq_count)
  qhead: 'i32', qtail: 'i32',   // pending queue (kq_knpend)
  lhead: 'i32', ltail: 'i32',   // every knote of this kqueue (kq_knlist)
  sq: 'i32', sqTail: 'i32',     // LWPs sleeping in kevent (adjacent: a sleep-queue list)
  file: 'i32',      // descriptor table entry, for EVFILT_READ watchers of this kqueue
  fd: 'i32',
  nknotes: 'i32',
  notify: 'i32',    // readiness changed under the lock: tell watchers once it is dropped
  lastq: 'i32',     // lid of the thread that last queued an event (adaptive spin)
  spinScore: 'i32', spinTick: 'i32', // adaptive spin: does spinning pay on this kqueue
});
export const Q = KQUEUE.F;

export const KNOTE = defineStruct('knote', {
  ident: 'f64', sdata: 'f64', data: 'f64', udata: 'f64',
  aux0: 'f64', aux1: 'f64',       // filter-private (EVFILT_TIMER: period and next deadline, ns)
  kq: 'i32', filter: 'i32',
  flags: 'i32',     // the kevent flags stored at registration (kn_kevent.flags)
  status: 'i32',    // KN_*
  sfflags: 'i32',   // fflags given at registration
  fflags: 'i32',    // fflags to report
  hook: 'i32',      // filter-private (EVFILT_USER: triggered; EVFILT_TIMER: callout)
  hnext: 'i32',     // hash chain
  qnext: 'i32', qprev: 'i32',     // pending queue
  lnext: 'i32', lprev: 'i32',     // kqueue's list of knotes
  wnext: 'i32', wprev: 'i32',     // the watched file's list
  file: 'i32',      // watched descriptor table entry (fd filters), 0 otherwise
});
/**
 * The knote's field offsets as an object literal. defineStruct builds its
 * offset table by keyed stores into an empty object, and past a dozen such
 * properties V8 turns the object into a hash table: every `K.field` in the
 * knote code was then a generic property lookup (a builtin call, about a
 * quarter of the kevent trigger and scan time). A literal keeps one fixed
 * hidden class, so `kn + K.field` is a checked in-object load.
 */
const KF = KNOTE.F;
export const K = {
  ident: KF.ident, sdata: KF.sdata, data: KF.data, udata: KF.udata, aux0: KF.aux0, aux1: KF.aux1,
  kq: KF.kq, filter: KF.filter, flags: KF.flags, status: KF.status, sfflags: KF.sfflags, fflags: KF.fflags,
  hook: KF.hook, hnext: KF.hnext, qnext: KF.qnext, qprev: KF.qprev, lnext: KF.lnext, lprev: KF.lprev,
  wnext: KF.wnext, wprev: KF.wprev, file: KF.file,
} as const satisfies Record<keyof typeof KF, number>;

/** Knote status bits (kn_status). */
export const KN_ACTIVE = 0x01, KN_QUEUED = 0x02, KN_DISABLED = 0x04, KN_DETACHED = 0x08, KN_DELETING = 0x10;

export const kqueues = kcacheCreate('kqueue', KQUEUE, (t) => t.kq_max!);
export const knotes = kcacheCreate('knote', KNOTE, (t) => t.kq_knotes_max!);

const NSTRIPE = 256;
function nbuckets(max: number): number { let n = 64; while (n < max) n *= 2; return n; }
const knhash = kregionCreate('knhash', (t) => NSTRIPE + nbuckets(t.kq_knotes_max!));
mutex_class('kqueue', kqueues, { field: Q.lock });
mutex_class('knhash', knhash, { words: NSTRIPE });

// f64 field accessors.
export function kn_ident(kn: number): number { return F64[(kn + K.ident) >> 1]; }
export function kn_data(kn: number): number { return F64[(kn + K.data) >> 1]; }
export function kn_setdata(kn: number, v: number): void { F64[(kn + K.data) >> 1] = v; }
export function kn_sdata(kn: number): number { return F64[(kn + K.sdata) >> 1]; }
export function kn_udata(kn: number): number { return F64[(kn + K.udata) >> 1]; }
export function kn_aux(kn: number, i: 0 | 1): number { return F64[(kn + (i === 0 ? K.aux0 : K.aux1)) >> 1]; }
export function kn_setaux(kn: number, i: 0 | 1, v: number): void { F64[(kn + (i === 0 ? K.aux0 : K.aux1)) >> 1] = v; }
export function kn_setf64(kn: number, off: number, v: number): void { F64[(kn + off) >> 1] = v; }

/**
 * The bucket word for (kq, filter, ident). The hash keeps runs of 16
 * consecutive idents of one (kq, filter) in one 64-byte line of buckets, in
 * a permuted order, and scatters the runs: registering, triggering or
 * deleting knotes in ident order (descriptors, counters) then misses the
 * cache once per 16 lookups rather than once per lookup, and strided idents
 * (addresses) still spread over every line.
 */
function bucket(kq: number, filter: number, ident: number): number {
  const lo = ident >>> 0, hi = Math.floor(ident / 4294967296) | 0;
  let h = Math.imul(kq ^ Math.imul(filter, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(lo >>> 4, 0xc2b2ae35) ^ hi;
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d); h ^= h >>> 13;
  const nb = knhash.words - NSTRIPE;
  return knhash.base + NSTRIPE + (((h << 4) | ((lo ^ h) & 15)) & (nb - 1));
}
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
    if (m[kn + K.kq] === kq && m[kn + K.filter] === filter && f[(kn + K.ident) >> 1] === ident) return kn;
    kn = m[kn + K.hnext]!;
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
  I32[kn + K.hnext] = I32[b];
  I32[b] = kn;
  mutex_exit(s);
}

/** Unlinks a knote from the hash (kqueue lock held). */
export function kn_hash_remove(kn: number): void {
  const b = bucket(I32[kn + K.kq], I32[kn + K.filter], kn_ident(kn)), s = stripe(b);
  mutex_enter(s);
  let p = 0, x = I32[b];
  while (x !== 0 && x !== kn) { p = x; x = I32[x + K.hnext]; }
  if (x === kn) { if (p === 0) I32[b] = I32[kn + K.hnext]; else I32[p + K.hnext] = I32[kn + K.hnext]; }
  I32[kn + K.hnext] = 0;
  mutex_exit(s);
}

/** Bytes of kernel memory one knote costs: its struct plus its share of the hash. */
export function bytesPerKnote(): number {
  return knotes.bytesPerObject + ((knhash.words - NSTRIPE) * 4) / Math.max(1, knotes.count);
}
