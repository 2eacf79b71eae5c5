/**
 * kstat-style counters: named 64-bit counters in kernel
 * memory, kept as pairs of words (low, high) and bumped with Atomics. Each
 * subsystem declares its counters at module load under its own module name.
 */
import { I32, kregion_create } from './kmem.js';
import { KernelLayoutError } from './errno.js';

const names: string[] = [];
// Counters live in the region at the booting thread's positions: `slot`
// maps this thread's counter number to its word offset there (attach
// remaps it by name, since threads may load modules in another order).
let slot = new Int32Array(64);
const region = kregion_create('kstat', () => names.length * 2 + 2);

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

/** Adds n (default 1) to a counter. */
export function kstat_add(c: Counter, n = 1): void {
  const w = region.base + slot[c]!;
  const old = Atomics.add(I32, w, n) >>> 0;
  if (old + n > 0xffffffff) Atomics.add(I32, w + 1, 1); // carry into the high word
  else if (old + n < 0) Atomics.sub(I32, w + 1, 1);     // borrow (gauges go down)
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
      const w = region.base + i * 2;
      out[n] = Atomics.load(I32, w + 1) * 0x100000000 + (Atomics.load(I32, w) >>> 0);
    }
  });
  return out;
}
