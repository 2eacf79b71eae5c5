/**
 * LOCKDEBUG: the lock order of kern/lockorder.ts, checked at every
 * acquisition (NetBSD's LOCKDEBUG, Linux's lockdep in miniature).
 *
 * Classes. A kernel mutex is a word of kernel memory, so its class is a
 * property of where the word lives: each subsystem declares, beside the
 * struct or region that holds its locks, which class the lock words there
 * belong to ({@link mutex_class}: a field of every object of a cache, or
 * every word of a region). That is our mutex_init(..., "itimer", ...): the
 * class is named where the lock is defined, once, not at each of the ~80
 * places that take it. A lock word no declaration covers is itself a
 * violation (an undeclared lock cannot be ordered).
 *
 * The check. Each thread keeps the locks it holds, in the order it took
 * them (locks are never held across an await or a return to user code, so
 * the set is the thread's own). Taking lock B while holding A is legal when
 * A's class comes strictly before B's in LOCK_ORDER; taking a lock of a class
 * already held, or of an earlier class, is a violation, reported before the
 * thread could block on the lock, so an order inversion is caught on its
 * first occurrence, deadlock or not. A try-enter cannot deadlock and is not
 * checked (it is still recorded as held). A violation panics the kernel
 * with both locks' classes and words: every sleeper fails with EIO, and the
 * test that ran into it fails loudly.
 *
 * Cost. Off (the default), the mutex fast paths pay one test of a module
 * variable. On (`boot({ lockdebug: true })`, or UKERN_LOCKDEBUG=1 in the
 * environment, which is how the test suite runs), each enter looks the word
 * up in a small sorted table of ranges and scans the few held locks.
 */
import { KCache, KRegion } from './kmem.js';
import { LOCK_ORDER, type LockClass } from './lockorder.js';
import { kpanic } from './panic.js';

/** Whether acquisitions are checked in this thread (set at boot and attach). */
export let lockdebug = false;

/**
 * Where lock words of one class live: `field` (a word offset) of every
 * object of a cache; in a region, the words `[skip, skip + words)` of it
 * (the whole region by default), or, given a `stride`, `field` of each
 * `stride`-word entry there (an array of structs laid out in the region).
 */
export interface LockPlace { field?: number; stride?: number; skip?: number; words?: number }

interface Decl { cls: LockClass; where: KCache | KRegion; at: LockPlace }
const decls: Decl[] = [];

/** Declares the class of the lock words at `at` in cache or region `where` (see {@link LockPlace}). */
export function mutex_class(cls: LockClass, where: KCache | KRegion, at: LockPlace = {}): void {
  decls.push({ cls, where, at });
}

const RANK: Readonly<Record<string, number>> = Object.fromEntries(LOCK_ORDER.map((c, i) => [c, i]));

/** A range of kernel memory [start, end): every word of one class (stride 0), or `field` of each stride-word entry. */
interface Range { start: number; end: number; stride: number; field: number; cls: LockClass }
let ranges: Range[] = [];

function range(d: Decl): Range {
  const { where: w, at, cls } = d;
  if (w instanceof KCache) return { start: w.handle(0), end: w.handle(w.count), stride: w.words, field: at.field ?? 0, cls };
  const start = w.base + (at.skip ?? 0);
  const end = at.words === undefined ? w.base + w.words : start + at.words;
  return { start, end, stride: at.stride ?? 0, field: at.field ?? 0, cls };
}

function build(): void {
  ranges = decls.map(range).filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]!.start < ranges[i - 1]!.end) kpanic(`lockdebug: lock classes ${ranges[i - 1]!.cls} and ${ranges[i]!.cls} declared over the same words`, 'lockdebug');
  }
}

/** The class of the lock at word w, or undefined when no declaration covers it. */
export function lock_class_of(w: number): LockClass | undefined {
  let lo = 0, hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, r = ranges[mid]!;
    if (w < r.start) hi = mid - 1;
    else if (w >= r.end) lo = mid + 1;
    else return r.stride === 0 || (w - r.start) % r.stride === r.field ? r.cls : undefined;
  }
  return undefined;
}

/** Held locks of this thread: words and their ranks, in acquisition order. */
const heldW: number[] = [];
const heldR: number[] = [];

function describe(w: number): string { return `${lock_class_of(w) ?? 'undeclared'} lock (word ${w})`; }

/** Checks and records an acquisition of the lock at w (before the thread may block on it). */
export function lockdebug_enter(w: number, trying: boolean): void {
  const cls = lock_class_of(w);
  if (cls === undefined) kpanic(`lockdebug: mutex at word ${w} has no lock class (declare it with mutex_class)`, 'lockdebug');
  const rank = RANK[cls]!;
  // Taking a lock this thread holds is the mutex's own panic (mutex.ts).
  if (!trying && !heldW.includes(w)) {
    for (let i = 0; i < heldR.length; i++) {
      if (heldR[i]! >= rank) {
        kpanic(`lockdebug: lock order violation: taking ${describe(w)} while holding ${describe(heldW[i]!)} ` +
          `(LOCK_ORDER: ${LOCK_ORDER.join(' < ')})\n${new Error('acquired here').stack ?? ''}`, 'lockdebug');
      }
    }
  }
  heldW.push(w);
  heldR.push(rank);
}

/** Records a release (or a failed try-enter's undo). */
export function lockdebug_exit(w: number): void {
  const i = heldW.lastIndexOf(w);
  if (i < 0) kpanic(`lockdebug: releasing ${describe(w)}, which this thread does not hold`, 'lockdebug');
  heldW.splice(i, 1);
  heldR.splice(i, 1);
}

/** Turns checking on or off for this thread (boot and attach, from the tunables). */
export function lockdebug_init(on: boolean): void {
  lockdebug = on;
  heldW.length = 0;
  heldR.length = 0;
  if (on) build();
}
