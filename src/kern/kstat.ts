/**
 * kstat-style counters: named 64-bit counters in kernel
 * memory, kept as pairs of words (low, high) and bumped with Atomics. Each
 * subsystem declares its counters at module load under its own module name.
 *
 * Shards. Each thread bumps its own copy of every counter (one of KS_SHARDS,
 * taken at its first bump), and a snapshot adds the copies up. With one
 * copy, the two threads of a ping-pong bumped the same words (events
 * delivered, sent, spin hits) at every hop, and each bump had to bring the
 * line over from the other CPU first: ~0.4 us of a ~2 us round trip. A
 * counter read while others bump it is the sum of values each of which was
 * true at some moment of the read (a copy may be read before or after a
 * bump), as before for a single counter; a monotonic counter read twice
 * never goes back; each is exact once the bumps are over (a copy crosses
 * zero with no carry: kstat_add).
 */
import { I32, kregion_create } from './kmem.js';
import { KernelLayoutError } from './errno.js';

const names: string[] = [];
// Counters live in the region at the booting thread's positions: `slot`
// maps this thread's counter number to its word offset there (attach
// remaps it by name, since threads may load modules in another order).
let slot = new Int32Array(64);
/** Copies of the counters; threads beyond that share them (still exact: Atomics). */
const KS_SHARDS = 16;
/** Words of the region's header (one line): [0] the next shard to hand out. */
const KS_HDR = 16;
/** Words of one copy of the counters: the booting thread's count, in whole cache lines. */
const shard_words = (n: number): number => ((n * 2 + 2) + 15) & ~15;
const region = kregion_create('kstat', () => KS_HDR + KS_SHARDS * shard_words(names.length));
/** This thread's copy: its offset in the region, -1 until its first bump. */
let mine = -1;

/** A counter handle: bump with {@link kstat_add}. */
export type Counter = number;

/** Declares a counter named `module.name` (before boot). */
export function kstat_counter(module: string, name: string): Counter {
  names.push(`${module}.${name}`);
  const c = names.length - 1;
  if (c >= slot.length) { const s2 = new Int32Array(slot.length * 2); s2.set(slot); slot = s2; }
  slot[c] = c * 2;
  return c;
}

/** The names in this thread's order (the booting thread's order becomes the layout). */
export function kstat_names(): readonly string[] { return names.slice(); }

/** Attach: finds each of this thread's counters among the booting thread's. */
let kernelNames: readonly string[] | undefined;
export function kstat_remap(bootNames: readonly string[]): void {
  kernelNames = bootNames;
  const at = new Map(bootNames.map((n, i) => [n, i] as const));
  const missing: string[] = [];
  names.forEach((n, c) => {
    const i = at.get(n);
    if (i === undefined) missing.push(n); else slot[c] = i * 2;
  });
  if (missing.length) throw new KernelLayoutError(`this thread has kstat counters the booting thread does not (${missing.join(', ')}): import 'ukern/sys' before the first syscall`);
}

/** Words of one copy in the kernel this thread runs in (from the region's size, the same in every thread). */
function stride(): number { return (region.words - KS_HDR) / KS_SHARDS; }

/** Takes this thread's copy (its first bump): threads in turn, so that the first KS_SHARDS have one each. */
function kstat_shard(): number {
  if (region.words === 0) return KS_HDR; // not booted: no copy to take (the bump fails as it always did)
  mine = KS_HDR + (Atomics.add(I32, region.base, 1) % KS_SHARDS) * stride();
  return mine;
}

/**
 * Adds n (default 1, |n| < 2^31) to a counter. A copy is high * 2^32 +
 * low, the low word signed: a gauge's copy (a thread that frees what
 * another made goes below zero) crosses zero with no carry. With the low
 * word unsigned each crossing borrowed or carried, and a read between the
 * two bumps was off by 2^32; a carry now comes once per 2^32 bumps.
 */
export function kstat_add(c: Counter, n = 1): void {
  const w = region.base + (mine >= 0 ? mine : kstat_shard()) + slot[c]!;
  const old = Atomics.add(I32, w, n);
  if (old + n > 0x7fffffff) Atomics.add(I32, w + 1, 1);        // carry into the high word
  else if (old + n < -0x80000000) Atomics.sub(I32, w + 1, 1);  // borrow
}

/** A counter's value: the sum of its copies. */
function kstat_value(i: number): number {
  const st = stride();
  let v = 0;
  for (let k = 0, w = region.base + KS_HDR + i * 2; k < KS_SHARDS; k++, w += st) {
    v += Atomics.load(I32, w + 1) * 0x100000000 + Atomics.load(I32, w);
  }
  return v;
}

/** Every counter of a module (or all), as { 'module.name': value }. */
const gauges = new Map<string, () => number>();

/**
 * A gauge: a figure computed when a snapshot is taken (table sizes, high
 * water marks) rather than counted, listed beside the counters of its
 * module, so that every figure of the kernel is in one place (kstat()).
 */
export function kstat_gauge(module: string, name: string, read: () => number): void {
  gauges.set(`${module}.${name}`, read);
}

export function kstat_snapshot(module?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [n, fn] of gauges) if (module === undefined || n.startsWith(module + '.')) out[n] = fn();
  // Every counter in the kernel, named as the booting thread named them.
  (kernelNames ?? names).forEach((n, i) => {
    if (module === undefined || n.startsWith(module + '.')) {
      out[n] = kstat_value(i);
    }
  });
  return out;
}
