/**
 * A binary min-heap of objects in kernel memory, written once (the callout
 * heaps of each time line use it; BSD's callout wheel and libuv's
 * heap-inl.h play this part). The heap lives in a region: a count word and
 * an array of handles; each element keeps its own index in the array (so
 * that removing or re-keying an element is O(log n) without a search) and
 * its key, an f64 field. Like TailQ, a KHeap value names where those words
 * are, once, and its methods take the region base: monomorphic, inlined.
 *
 * The caller holds whatever lock guards the heap; nothing here locks,
 * allocates or throws. Capacity is the caller's: insert does not check it.
 */
import { I32, f64_get } from './kmem.js';

export class KHeap {
  /**
   * @param count word offset of the element count in the heap's region
   * @param slots word offset of the array of handles in the region
   * @param idx   word offset, in an element, of its index in the array (-1: not in the heap)
   * @param key   word offset, in an element, of its f64 key (smallest first)
   */
  constructor(readonly count: number, readonly slots: number, readonly idx: number, readonly key: number) {}

  size(b: number): number { return I32[b + this.count]!; }
  /** The element with the smallest key, or 0 when the heap is empty. */
  first(b: number): number { return I32[b + this.count] === 0 ? 0 : I32[b + this.slots]!; }
  /** The smallest key, or Infinity when the heap is empty. */
  first_key(b: number): number { return I32[b + this.count] === 0 ? Infinity : f64_get(I32[b + this.slots]!, this.key); }

  insert(b: number, e: number): void {
    const n = I32[b + this.count]!;
    I32[b + this.count] = n + 1;
    this.put(b, n, e);
    this.up(b, n);
  }

  /** Removes e, which is in the heap; its index becomes -1. */
  remove(b: number, e: number): void {
    const i = I32[e + this.idx]!;
    const n = I32[b + this.count]! - 1;
    I32[b + this.count] = n;
    I32[e + this.idx] = -1;
    if (i === n) return;
    const last = I32[b + this.slots + n]!;
    this.put(b, i, last);
    this.fix(b, i);
  }

  /** Restores the order after e's key changed (e in the heap). */
  rekey(b: number, e: number): void { this.fix(b, I32[e + this.idx]!); }

  private fix(b: number, i: number): void {
    if (i > 0 && this.key_at(b, i) < this.key_at(b, (i - 1) >> 1)) this.up(b, i); else this.down(b, i);
  }
  private key_at(b: number, i: number): number { return f64_get(I32[b + this.slots + i]!, this.key); }
  private put(b: number, i: number, e: number): void { I32[b + this.slots + i] = e; I32[e + this.idx] = i; }

  private up(b: number, i: number): void {
    const e = I32[b + this.slots + i]!, w = f64_get(e, this.key);
    while (i > 0) {
      const p = (i - 1) >> 1, pe = I32[b + this.slots + p]!;
      if (f64_get(pe, this.key) <= w) break;
      this.put(b, i, pe);
      i = p;
    }
    this.put(b, i, e);
  }

  private down(b: number, i: number): void {
    const n = I32[b + this.count]!;
    const e = I32[b + this.slots + i]!, w = f64_get(e, this.key);
    for (;;) {
      let k = 2 * i + 1;
      if (k >= n) break;
      let ke = I32[b + this.slots + k]!;
      if (k + 1 < n) {
        const re = I32[b + this.slots + k + 1]!;
        if (f64_get(re, this.key) < f64_get(ke, this.key)) { k++; ke = re; }
      }
      if (f64_get(ke, this.key) >= w) break;
      this.put(b, i, ke);
      i = k;
    }
    this.put(b, i, e);
  }
}
