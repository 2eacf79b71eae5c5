/**
 * Intrusive doubly-linked tail queues in kernel memory, written once (BSD
 * sys/queue.h's TAILQ, libuv's queue.h). Every list of the kernel — a
 * kqueue's pending knotes and its knote list, a descriptor's watch list, a
 * sleep queue, a port's event queue — is this structure: a head of two words
 * (first, last) somewhere in one struct, and in each element two link words
 * (next, prev); handles are word indices into I32 and 0 is the null handle,
 * so an element is on no list when both links are 0 and it is not first.
 *
 * A TailQ value names where those four words are (field offsets), once per
 * kind of list, at module load; its methods take the head's struct handle
 * and the element's handle. The offsets are constant fields of a
 * monomorphic object, so V8 inlines the methods into their callers: a list
 * operation costs what the hand-written loads and stores did. Each method
 * reads the live binding of kernel memory (I32) once.
 *
 * The caller holds whatever lock guards the list (the head's struct says
 * which); nothing here locks, allocates or throws. Counts, when a list has
 * one, are the caller's (they are usually guarded state of their own).
 */
import { I32 } from './kmem.js';

export class TailQ {
  /**
   * @param first word offset of the first-element word in the head's struct
   * @param last  word offset of the last-element word in the head's struct
   * @param next  word offset of the next link in an element
   * @param prev  word offset of the prev link in an element
   */
  constructor(readonly first: number, readonly last: number, readonly next: number, readonly prev: number) {}

  /** First element of the list at head h, or 0. */
  head(h: number): number { return I32[h + this.first]!; }
  /** Last element, or 0. */
  tail(h: number): number { return I32[h + this.last]!; }
  /** The element after e, or 0. */
  after(e: number): number { return I32[e + this.next]!; }
  /** The element before e, or 0. */
  before(e: number): number { return I32[e + this.prev]!; }
  empty(h: number): boolean { return I32[h + this.first] === 0; }

  /** Appends e (on no list) at the tail. */
  insert_tail(h: number, e: number): void {
    const m = I32;
    const t = m[h + this.last]!;
    m[e + this.prev] = t;
    m[e + this.next] = 0;
    if (t === 0) m[h + this.first] = e; else m[t + this.next] = e;
    m[h + this.last] = e;
  }

  /** Prepends e (on no list) at the head. */
  insert_head(h: number, e: number): void {
    const m = I32;
    const f = m[h + this.first]!;
    m[e + this.next] = f;
    m[e + this.prev] = 0;
    if (f === 0) m[h + this.last] = e; else m[f + this.prev] = e;
    m[h + this.first] = e;
  }

  /** Inserts e (on no list) after `at`, which is on the list. */
  insert_after(h: number, at: number, e: number): void {
    const m = I32;
    const n = m[at + this.next]!;
    m[e + this.prev] = at;
    m[e + this.next] = n;
    if (n === 0) m[h + this.last] = e; else m[n + this.prev] = e;
    m[at + this.next] = e;
  }

  /** Unlinks e, which is on the list, and clears its links. */
  remove(h: number, e: number): void {
    const m = I32;
    const p = m[e + this.prev]!, n = m[e + this.next]!;
    if (p === 0) m[h + this.first] = n; else m[p + this.next] = n;
    if (n === 0) m[h + this.last] = p; else m[n + this.prev] = p;
    m[e + this.next] = 0;
    m[e + this.prev] = 0;
  }

  /** Unlinks and returns the first element, or 0 when the list is empty. */
  remove_head(h: number): number {
    const m = I32;
    const e = m[h + this.first]!;
    if (e === 0) return 0;
    const n = m[e + this.next]!;
    m[h + this.first] = n;
    if (n === 0) m[h + this.last] = 0; else m[n + this.prev] = 0;
    m[e + this.next] = 0;
    return e;
  }

  /** Moves every element of the list at `from` to the tail of the list at `to` (same link fields), leaving `from` empty. */
  concat(to: number, from: number): void {
    const m = I32;
    const f = m[from + this.first]!;
    if (f === 0) return;
    const t = m[to + this.last]!;
    m[f + this.prev] = t;
    if (t === 0) m[to + this.first] = f; else m[t + this.next] = f;
    m[to + this.last] = m[from + this.last]!;
    m[from + this.first] = 0;
    m[from + this.last] = 0;
  }
}

/**
 * Singly-linked lists (BSD SLIST): the kernel's hash chains — knotes by
 * (kqueue, filter, ident), OS sources by descriptor, inotify watches by wd,
 * PORT_SOURCE_FD and PORT_SOURCE_FILE associations. The head is one word (a
 * bucket) and each element links the next at `next`; insertion is at the
 * head and removal walks from it (chains are short: the tables size their
 * buckets to their capacity). Same rules as TailQ: the caller holds the
 * chain's lock; nothing here locks, allocates or throws.
 */
export class SList {
  /** @param next word offset of the next link in an element */
  constructor(readonly next: number) {}

  /** The first element of the chain whose head is word b, or 0. */
  first(b: number): number { return I32[b]!; }
  /** The element after e, or 0. */
  after(e: number): number { return I32[e + this.next]!; }

  /**
   * Pushes e (on no chain) at the head of chain b. e's link is written
   * before the head, so a walker that reads the chain without the lock (the
   * knote hash's optimistic lookup) meets e whole or not at all.
   */
  insert_head(b: number, e: number): void {
    const m = I32;
    m[e + this.next] = m[b]!;
    m[b] = e;
  }

  /** Unlinks e from chain b; false (nothing changed) when e is not on it. e's own link is left as it was. */
  remove(b: number, e: number): boolean {
    const m = I32, nx = this.next;
    let p = 0, x = m[b]!;
    while (x !== 0 && x !== e) { p = x; x = m[x + nx]!; }
    if (x !== e) return false;
    if (p === 0) m[b] = m[e + nx]!; else m[p + nx] = m[e + nx]!;
    return true;
  }
}
