/**
 * Kernel memory: one SharedArrayBuffer mapped by every thread, carved at boot
 * into regions. Objects are fixed-size structs in typed caches (kmem_cache
 * style) with a free list; a struct is addressed by its handle, the index of
 * its first 32-bit word in {@link I32}. Links between objects are handles;
 * 0 is the null handle (word 0 is in the header and never an object).
 *
 * Subsystems register their structs, caches and raw regions at module load;
 * boot lays them out and hands the layout table to every attaching thread,
 * which places its own registrations by name (see {@link LayoutTable}):
 * the layout does not depend on module load order.
 */
import { fail, KernelLayoutError } from './errno.js';
import type { Tunables } from './options.js';
import { kpanic } from './panic.js';
import { lockdebug } from './lockdebug.js';

/** Field kinds: a 32-bit integer word or an 8-byte float (user data, times). */
export type FieldKind = 'i32' | 'f64';

/** A struct type: its size in words and each field's word offset. */
export interface Struct<F extends string> {
  readonly name: string;
  readonly words: number;
  readonly F: Readonly<Record<F, number>>;
}

/**
 * Defines a struct. f64 fields are placed at even word offsets so that
 * `(handle + off) >> 1` indexes {@link F64}; every struct has an even size so
 * that handles stay even. `lines`: the size is rounded up to whole 64-byte
 * cache lines, and as a cache's objects start on a line (layout), each
 * object then has its lines to itself: for structs that one thread writes
 * while another thread works on its neighbour (an LWP's lock count and
 * state, a sleeper's wait word), where sharing a line costs a transfer
 * between CPUs at each write.
 */
export function define_struct<F extends string>(name: string, fields: Readonly<Record<F, FieldKind>>, lines = false): Struct<F> {
  const F = {} as Record<F, number>;
  let off = 0;
  const keys = Object.keys(fields) as F[];
  for (const k of keys) if (fields[k] === 'f64') { F[k] = off; off += 2; }
  for (const k of keys) if (fields[k] === 'i32') { F[k] = off; off += 1; }
  if (off % 2) off++;
  if (lines) off = (off + 15) & ~15;
  // F was built one key at a time: past ~20 keys V8 keeps such an object as a
  // dictionary, and every `h + F.field` would be a hash lookup. A spread copy
  // is a literal-like object with fast in-object properties.
  return { name, words: off, F: { ...F } };
}

interface CacheSpec { name: string; words: number; count: (t: Tunables) => number }
interface RegionSpec { name: string; words: (t: Tunables) => number }
const cacheSpecs: CacheSpec[] = [];
const regionSpecs: RegionSpec[] = [];

/**
 * Header words of a cache region: lock, free list head, objects in use,
 * capacity, high water, failed allocs, and objects never handed out yet start
 * at C_FRESH. The free list holds only objects that were freed; a fresh one
 * is taken from C_FRESH when it is empty, so boot touches no object's page
 * (a cache of 100 000 objects costs no RSS until it is used). The order is
 * what a list threaded at boot gave: by index, freed objects reused first.
 */
const C_LOCK = 0, C_FREE = 1, C_INUSE = 2, C_CAP = 3, C_HIWAT = 4, C_FAILS = 5, C_FRESH = 6;
/** Header words: a whole cache line, so that the objects start on one (the cache itself does: layout). */
const C_HDR = 16;
/**
 * Words of a cache's allocation bitmap: one bit per object, set while it is
 * out of the cache. It follows the objects, so a cache of n objects takes
 * C_HDR + n * words + bitmap_words(n) words.
 *
 * Why a bitmap: a freed object's first word is the free-list link, so a
 * second free of it (a kernel bug) linked it after itself or put it on the
 * list twice; the list then looped (the next alloc spun for ever under the
 * cache lock, with every other thread spinning behind it) or handed one
 * object to two users. Nothing inside a free object tells it from one in
 * use (its words are the user's until it is freed), so the state lives
 * beside the objects, where free checks it and panics naming the cache and
 * the object, as illumos kmem's debug buftags and NetBSD's pool checks
 * catch a double free at the free rather than as corruption later. Kept
 * with LOCKDEBUG (kern/lockdebug.ts: boot({ lockdebug: true }) or
 * UKERN_LOCKDEBUG=1, as the test suite runs), as those kernels keep theirs
 * in their debug builds: always on, it cost a loop of alloc and free ~4 ns
 * of ~58 per call (a division, a load and a store), for a bug only kernel
 * code can make. Off, the bitmap is laid out but never touched (no RSS).
 */
function bitmap_words(n: number): number { return (n + 31) >>> 5; }

/** An object cache in kernel memory. */
export class KCache {
  /**
   * The runs [start, end) of an object's words that alloc zeroes: the whole
   * object, or all but its stable words (kcache_create's `stable`).
   */
  zeroRuns: readonly number[];
  constructor(readonly name: string, readonly words: number, public base = 0, public count = 0) { this.zeroRuns = [0, words]; }
  /** First word of the allocation bitmap (set with base and count, by layout and apply_layout). */
  bits = 0;
  /** Places the cache at `base` with `count` objects (layout, apply_layout). */
  place(base: number, count: number): void {
    this.base = base; this.count = count;
    this.bits = base + C_HDR + count * this.words;
  }
  /** Handle of object number i. */
  handle(i: number): number { return this.base + C_HDR + i * this.words; }
  /** Object number of a handle, or -1 when the handle is not one of this cache's. */
  index(h: number): number {
    const d = h - this.base - C_HDR;
    if (d < 0 || d % this.words !== 0) return -1;
    const i = d / this.words;
    return i < this.count ? i : -1;
  }
  /** Objects out of the cache but kept idle by their users for reuse (sleepq.ts spares): not in use. */
  held: () => number = () => 0;
  get inuse(): number { return Atomics.load(I32, this.base + C_INUSE) - this.held(); }
  get hiwat(): number { return Atomics.load(I32, this.base + C_HIWAT); }
  get fails(): number { return Atomics.load(I32, this.base + C_FAILS); }
  get bytesPerObject(): number { return this.words * 4; }

  /** Takes a zeroed object (its stable words as its last user left them), or returns 0 when the cache is exhausted. */
  alloc(): number {
    const b = this.base;
    spin_lock(b + C_LOCK);
    let h = I32[b + C_FREE]!;
    if (h !== 0) I32[b + C_FREE] = I32[h]!;
    else if (I32[b + C_FRESH]! < I32[b + C_CAP]!) h = this.handle(I32[b + C_FRESH]!++);
    else {
      I32[b + C_FAILS]++;
      spin_unlock(b + C_LOCK);
      return 0;
    }
    const n = ++I32[b + C_INUSE];
    if (n > I32[b + C_HIWAT]) I32[b + C_HIWAT] = n;
    if (lockdebug) { const i = (h - b - C_HDR) / this.words; I32[this.bits + (i >>> 5)] |= 1 << (i & 31); }
    spin_unlock(b + C_LOCK);
    const z = this.zeroRuns;
    for (let i = 0; i < z.length; i += 2) I32.fill(0, h + z[i]!, h + z[i + 1]!);
    return h;
  }
  /**
   * Returns an object to the cache. With LOCKDEBUG, freeing an object that
   * is not out of the cache (freed already, never handed out, or not one of
   * this cache's objects) is a kernel panic naming both: see bitmap_words.
   */
  free(h: number): void {
    if (lockdebug) { this.free_checked(h); return; }
    const b = this.base;
    spin_lock(b + C_LOCK);
    I32[h] = I32[b + C_FREE];
    I32[b + C_FREE] = h;
    I32[b + C_INUSE]--;
    spin_unlock(b + C_LOCK);
  }
  private free_checked(h: number): void {
    const b = this.base;
    // index()'s test, with no remainder: the quotient is whole only for a handle.
    const i = (h - b - C_HDR) / this.words;
    if (!(i >= 0 && i < this.count && (i | 0) === i)) kpanic(`kmem_cache_free: ${h} is not an object of cache ${this.name}`, 'kmem_cache_free');
    const w = this.bits + (i >>> 5), bit = 1 << (i & 31);
    spin_lock(b + C_LOCK);
    if ((I32[w]! & bit) === 0) {
      spin_unlock(b + C_LOCK);
      kpanic(`kmem_cache_free: double free of object ${h} (number ${i}) of cache ${this.name}`, 'kmem_cache_free');
    }
    I32[w] = I32[w]! & ~bit;
    I32[h] = I32[b + C_FREE];
    I32[b + C_FREE] = h;
    I32[b + C_INUSE]--;
    spin_unlock(b + C_LOCK);
  }
}

/** Registers an object cache, sized from the tunables at boot. */
export function kcache_create(name: string, struct: Struct<string>, count: (t: Tunables) => number, opts: KCacheOptions = {}): KCache {
  const c = new KCache(name, struct.words);
  const keep = [...new Set(opts.stable ?? [])].sort((x, y) => x - y);
  if (keep.length > 0) {
    // Word 0 is a free object's free-list link: it cannot also keep a value.
    if (keep[0]! <= 0 || keep[keep.length - 1]! >= struct.words) throw new RangeError(`kcache_create(${name}): stable words must be within 1..${struct.words - 1}`);
    const runs: number[] = [];
    let from = 0;
    for (const w of keep) { if (w > from) runs.push(from, w); from = w + 1; }
    if (from < struct.words) runs.push(from, struct.words);
    c.zeroRuns = runs;
  }
  cacheSpecs.push({ name, words: struct.words, count });
  caches.set(name, c);
  return c;
}
const caches = new Map<string, KCache>();

/**
 * `stable`: words of the struct that alloc does not zero (type-stable
 * words, as a kmem cache's constructed state in illumos survives free and
 * alloc). For a lock in the struct that a thread may take on an object it
 * found without a reference, and only under the lock learn it is no longer
 * the object it looked for (a generation that no longer matches): were the
 * word zeroed when the cache hands the object out again, the next user
 * would take the lock under that thread. Fresh objects start zeroed, as
 * every word of kernel memory does; a stable word is released, not
 * cleared, by whoever holds it.
 */
export interface KCacheOptions { stable?: readonly number[] }

/** A raw region of words (arrays, heaps, rings), sized at boot. */
export class KRegion {
  constructor(readonly name: string, public base = 0, public words = 0) {}
}
const regions = new Map<string, KRegion>();
/** Registers a raw region; its base is on a 64-byte cache line (16 words). */
export function kregion_create(name: string, words: (t: Tunables) => number): KRegion {
  const r = new KRegion(name);
  regionSpecs.push({ name, words });
  regions.set(name, r);
  return r;
}

/** The kernel memory views; set by boot or attach. */
export let SAB: SharedArrayBuffer = new SharedArrayBuffer(8);
export let I32: Int32Array = new Int32Array(SAB);
export let F64: Float64Array = new Float64Array(SAB);

/** Words reserved at the start for the kernel header (see hdr.ts). */
export const HDR_WORDS = 256;

/**
 * Where every cache and region lives: computed once by the booting thread
 * and handed to every attaching thread, which places its own registrations
 * by name. So the layout does not depend on the order in which a thread
 * happened to load the kernel's modules, and a thread may load fewer of
 * them than the booting thread; one that registers something the booting
 * thread did not load cannot attach.
 */
export interface LayoutTable {
  caches: Record<string, readonly [base: number, count: number, words: number]>;
  regions: Record<string, readonly [base: number, words: number]>;
}

/** Lays out every registered cache and region for the given tunables (boot). */
export function layout(t: Tunables): { bytes: number; table: LayoutTable } {
  let w = HDR_WORDS;
  const table: LayoutTable = { caches: {}, regions: {} };
  for (const spec of cacheSpecs) {
    const c = caches.get(spec.name)!;
    const n = spec.count(t);
    w = (w + 15) & ~15; // on a 64-byte cache line, as its objects then are (define_struct's `lines`)
    c.place(w, n);
    table.caches[spec.name] = [w, n, spec.words];
    w += C_HDR + n * spec.words + bitmap_words(n);
  }
  for (const spec of regionSpecs) {
    const r = regions.get(spec.name)!;
    const n = spec.words(t);
    w = (w + 15) & ~15; // a region starts on a 64-byte cache line (its owner may lay words out by line)
    r.base = w; r.words = n;
    table.regions[spec.name] = [w, n];
    w += n + (n % 2);
  }
  return { bytes: w * 4, table };
}

/** Undoes {@link layout}: every cache and region unplaced (base 0), as before boot. */
function layout_forget(): void {
  for (const c of caches.values()) c.place(0, 0);
  for (const r of regions.values()) { r.base = 0; r.words = 0; }
}

/** Places this thread's registrations where the booting thread laid them out (attach). */
export function apply_layout(table: LayoutTable): void {
  const missing: string[] = [];
  for (const spec of cacheSpecs) {
    const e = table.caches[spec.name];
    if (e === undefined || e[2] !== spec.words) { missing.push(spec.name); continue; }
    const c = caches.get(spec.name)!;
    c.place(e[0], e[1]);
  }
  for (const spec of regionSpecs) {
    const e = table.regions[spec.name];
    if (e === undefined) { missing.push(spec.name); continue; }
    const r = regions.get(spec.name)!;
    r.base = e[0]; r.words = e[1];
  }
  if (missing.length) {
    throw new KernelLayoutError(`this thread loaded kernel modules the booting thread did not (${missing.join(', ')}): import 'ukern/sys' before the first syscall`);
  }
}

/** Maps kernel memory (boot creates it, attach receives it). */
export function map_memory(sab: SharedArrayBuffer): void {
  SAB = sab;
  I32 = new Int32Array(sab);
  F64 = new Float64Array(sab);
}

/** Boot: allocates memory and sets every cache's header (objects are handed out fresh, see C_FRESH). */
export function create_memory(t: Tunables): { sab: SharedArrayBuffer; table: LayoutTable } {
  const { bytes, table } = layout(t);
  let sab: SharedArrayBuffer | undefined, why = `tables need ${bytes} bytes, memsize is ${t.memsize}`;
  if (bytes <= t.memsize!) {
    try { sab = new SharedArrayBuffer(bytes); } catch { why = `cannot allocate ${bytes} bytes`; }
  }
  if (sab === undefined) {
    // No memory, so no layout: a base left placed read as "booted" to the
    // code that checks one (libc's exit hook then wrote to word `base` of
    // the 8-byte placeholder: a RangeError as the process exited).
    layout_forget();
    fail('ENOMEM', 'boot', why);
  }
  map_memory(sab);
  for (const c of caches.values()) {
    I32[c.base + C_CAP] = c.count;
  }
  return { sab, table };
}

/** Every registered cache, for kstat and the memory report. */
export function all_caches(): readonly KCache[] { return [...caches.values()]; }

/**
 * An f64 field of the object at handle h (defineStruct places f64 fields at
 * even word offsets, so (h + off) >> 1 indexes F64): the one accessor pair,
 * inlined by V8. Hot loops that hold a local alias of F64 index it the same
 * way directly.
 */
export function f64_get(h: number, off: number): number { return F64[(h + off) >> 1]!; }
export function f64_set(h: number, off: number, v: number): void { F64[(h + off) >> 1] = v; }

// A tiny spin lock for cache free lists: held for a handful of instructions,
// so spinning (then yielding via a short wait) beats a sleeping mutex.
function spin_lock(w: number): void {
  let spins = 0;
  while (Atomics.compareExchange(I32, w, 0, 1) !== 0) {
    if (++spins > 1000) { Atomics.wait(I32, w, 1, 0.05); spins = 0; }
  }
}
function spin_unlock(w: number): void { Atomics.store(I32, w, 0); }
