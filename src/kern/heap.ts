/**
 * A min-heap of kernel objects in kernel memory, keyed by an f64 field of
 * each object (the seed's cyclic subsystem keeps such a heap per CPU; the
 * heaps of each time line use it; BSD's callout wheel and libuv's
 * heap-inl.h play this part). The heap lives in a region: a count word and
 * an array of slots; each element keeps its own index in the array (so
 * that removing or re-keying an element is O(log n) without a search) and
 * its key, an f64 field. Like TailQ, a KHeap value names where those words
 * are, once, and its methods take the region base: monomorphic, inlined.
 *
 * Equal keys leave in the order they came (FIFO), as callouts of one
 * expiry fire in the order armed in the seed's callout lists and as Node's
 * timers of one deadline run: each insert and rekey stamps the element's
 * slot with the next number of the heap's sequence word, and the order is
 * by key, then by that number (compared modulo 2^32: the live elements'
 * numbers span far less than 2^31). Without it a 4-ary heap gave twelve
 * timers of one absolute deadline as 0, 11, 10, ..., 1.
 *
 * Layout, for the cache. The heap is 4-ary and each slot holds a copy of
 * its element's key beside the handle (4 words: key f64, handle, sequence),
 * laid out so that the four children of a slot fill one 64-byte line. A
 * sift then reads one line per level, and there are half as many levels as
 * in a binary heap: with 100 000 timers armed, removing one used to read
 * the keys of two children per level, 17 levels deep, each in its own
 * object somewhere in megabytes of callouts (cache misses all the way);
 * now it reads about 9 lines of the slot array and writes the index of the
 * elements it moves. The element's own key stays the truth for its owner;
 * the slot's copy is taken at insert and rekey, the only times it changes
 * while the element is in the heap. 16 bytes a slot instead of 4.
 *
 * The caller holds whatever lock guards the heap; nothing here locks,
 * allocates or throws. Capacity is the caller's: insert does not check it
 * (size the region with {@link KHeap.region_words}).
 */
import { I32, F64, f64_get } from './kmem.js';

/** Words per slot: the key (f64), the handle, the sequence number. */
const SW = 4;

/** Whether (w, q) comes before (w2, q2): the smaller key, or the earlier number of an equal one. */
function before(w: number, q: number, w2: number, q2: number): boolean {
  return w < w2 || (w === w2 && ((q - q2) | 0) < 0);
}

export class KHeap {
  /** Word offset, in the region, of slot 0 (slot k at s0 + 4k, its handle 2 words on). */
  private readonly s0: number;

  /**
   * @param count word offset of the element count in the heap's region
   * @param seq   word offset of its sequence word (the order of equal keys)
   * @param slots word offset in the region from which the slots may start
   *              (the region base is on a 64-byte line, as every region's is;
   *              slot 0 starts at the first offset that puts slots 1-4 on a line)
   * @param idx   word offset, in an element, of its index in the array (-1: not in the heap)
   * @param key   word offset, in an element, of its f64 key (smallest first)
   */
  constructor(readonly count: number, readonly seq: number, slots: number, readonly idx: number, readonly key: number) {
    // Slot 4i+1 (the first child of slot i) at a multiple of 16 words.
    this.s0 = slots + ((12 - (slots % 16)) + 16) % 16;
  }

  /** Words of a region holding this heap with room for n elements (header included). */
  region_words(n: number): number { return this.s0 + SW * n; }

  size(b: number): number { return I32[b + this.count]!; }
  /** The element at index i (i < size). */
  at(b: number, i: number): number { return I32[b + this.s0 + SW * i + 2]!; }
  /** The index of the parent of index i > 0. */
  parent(i: number): number { return (i - 1) >> 2; }
  /** The element with the smallest key, or 0 when the heap is empty. */
  first(b: number): number { return I32[b + this.count] === 0 ? 0 : this.at(b, 0); }
  /** The smallest key, or Infinity when the heap is empty. */
  first_key(b: number): number { return I32[b + this.count] === 0 ? Infinity : this.key_at(b, 0); }

  insert(b: number, e: number): void {
    const n = I32[b + this.count]!;
    I32[b + this.count] = n + 1;
    this.up(b, n, e, f64_get(e, this.key), this.next_seq(b));
  }

  /** The next number of the heap's sequence (its lock held). */
  private next_seq(b: number): number { return (I32[b + this.seq] = (I32[b + this.seq]! + 1) | 0); }

  /** Removes e, which is in the heap; its index becomes -1. */
  remove(b: number, e: number): void {
    const i = I32[e + this.idx]!;
    const n = I32[b + this.count]! - 1;
    I32[b + this.count] = n;
    I32[e + this.idx] = -1;
    if (i === n) return;
    const last = this.at(b, n), w = this.key_at(b, n), q = this.seq_at(b, n);
    this.place(b, i, last, w, q);
  }

  /** Restores the order after e's key changed (e in the heap): it goes after the elements of an equal key, as if inserted now. */
  rekey(b: number, e: number): void {
    this.place(b, I32[e + this.idx]!, e, f64_get(e, this.key), this.next_seq(b));
  }

  /** Puts e (key w, number q) at index i, up or down from there as the order says. */
  private place(b: number, i: number, e: number, w: number, q: number): void {
    if (i > 0) {
      const p = this.parent(i);
      if (before(w, q, this.key_at(b, p), this.seq_at(b, p))) { this.up(b, i, e, w, q); return; }
    }
    this.down(b, i, e, w, q);
  }

  /** The key of the element at index i (i < size): the slot's copy. */
  key_at(b: number, i: number): number { return f64_get(b, this.s0 + SW * i); }
  /** The sequence number of the element at index i (i < size). */
  seq_at(b: number, i: number): number { return I32[b + this.s0 + SW * i + 3]!; }
  /** Places e (key w, number q) at index i or above it. */
  private up(b: number, i: number, e: number, w: number, q: number): void {
    // Locals for the views and the slot base: one load each, not one per level.
    const m = I32, f = F64, s = b + this.s0, ix = this.idx;
    while (i > 0) {
      const p = (i - 1) >> 2, ps = s + SW * p, pw = f[ps >> 1]!, pq = m[ps + 3]!;
      if (before(pw, pq, w, q)) break;
      const pe = m[ps + 2]!, is = s + SW * i;
      f[is >> 1] = pw; m[is + 2] = pe; m[is + 3] = pq; m[pe + ix] = i;
      i = p;
    }
    const is = s + SW * i;
    f[is >> 1] = w; m[is + 2] = e; m[is + 3] = q; m[e + ix] = i;
  }

  /** Places e (key w, number q) at index i or below it. */
  private down(b: number, i: number, e: number, w: number, q: number): void {
    const m = I32, f = F64, s = b + this.s0, ix = this.idx;
    const n = m[b + this.count]!;
    for (;;) {
      const c = 4 * i + 1;
      if (c >= n) break;
      // The first of up to four children, all on one line.
      let k = c, ks = s + SW * c, kw = f[ks >> 1]!, kq = m[ks + 3]!;
      const end = c + 4 < n ? c + 4 : n;
      for (let j = c + 1; j < end; j++) {
        const js = s + SW * j, jw = f[js >> 1]!, jq = m[js + 3]!;
        if (before(jw, jq, kw, kq)) { k = j; ks = js; kw = jw; kq = jq; }
      }
      if (before(w, q, kw, kq)) break;
      const ke = m[ks + 2]!, is = s + SW * i;
      f[is >> 1] = kw; m[is + 2] = ke; m[is + 3] = kq; m[ke + ix] = i;
      i = k;
    }
    const is = s + SW * i;
    f[is >> 1] = w; m[is + 2] = e; m[is + 3] = q; m[e + ix] = i;
  }
}
