/**
 * kstat-style counters: named 64-bit counters in kernel
 * memory, kept as pairs of words (low, high) and bumped with Atomics. Each
 * subsystem declares its counters at module load under its own module name.
 */
import { I32, kregionCreate } from './kmem.js';

const names: string[] = [];
const region = kregionCreate('kstat', () => names.length * 2 + 2);

/** A counter handle: bump with {@link kstat_add}. */
export type Counter = number;

/** Declares a counter named `module.name` (before boot). */
export function kstat_counter(module: string, name: string): Counter {
  names.push(`${module}.${name}`);
  return (names.length - 1) * 2;
}

/** Adds n (default 1) to a counter. */
export function kstat_add(c: Counter, n = 1): void {
  const w = region.base + c;
  const old = Atomics.add(I32, w, n) >>> 0;
  if (old + n > 0xffffffff) Atomics.add(I32, w + 1, 1); // carry into the high word
}

/** Reads one counter. */
export function kstat_read(c: Counter): number {
  const w = region.base + c;
  return Atomics.load(I32, w + 1) * 0x100000000 + (Atomics.load(I32, w) >>> 0);
}

/** Every counter of a module (or all), as { 'module.name': value }. */
export function kstat_snapshot(module?: string): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((n, i) => {
    if (module === undefined || n.startsWith(module + '.')) out[n] = kstat_read(i * 2);
  });
  return out;
}
