/**
 * Bench helpers: statistics over samples and one reporting format. Every
 * figure is reported beside the alternative a Node user has today, measured
 * in the same run, as a ratio (ukern / peer); the goal says which way is good.
 */
import { createHistogram } from 'node:perf_hooks';

export interface Figure {
  /** What is measured, e.g. 'park/unpark round trip p50'. */
  name: string;
  value: number;
  unit: string;
  /** The alternative measured in the same run, and its value. */
  peer?: string;
  peerValue?: number;
  /** The target, e.g. '<= 1.1x' (ratio) or '<= 200 us' (absolute). */
  goal?: string;
  /** Whether the goal was met in this run. */
  met?: boolean;
  note?: string;
}

const figures: Figure[] = [];

/** Records a figure and prints it as one line. */
export function report(f: Figure): void {
  figures.push(f);
  const ratio = f.peerValue !== undefined && f.peerValue !== 0 ? f.value / f.peerValue : undefined;
  const parts = [`${f.name}: ${fmt(f.value)} ${f.unit}`];
  if (f.peer !== undefined && f.peerValue !== undefined) parts.push(`| ${f.peer}: ${fmt(f.peerValue)} ${f.unit}`);
  if (ratio !== undefined) parts.push(`| ratio ${ratio.toFixed(3)}x`);
  if (f.goal !== undefined) parts.push(`| goal ${f.goal}${f.met === undefined ? '' : f.met ? ' MET' : ' NOT MET'}`);
  if (f.note !== undefined) parts.push(`| ${f.note}`);
  console.log('  ' + parts.join(' '));
}

/** All figures recorded so far in this process (the runner collects them as JSON). */
export function figuresSoFar(): readonly Figure[] { return figures; }

/** Prints the figures as a JSON line the runner picks up. */
export function flush(): void { console.log('@@FIGURES ' + JSON.stringify(figures)); }

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/**
 * Latency percentiles of non-negative samples in units of `unit_ns`
 * nanoseconds (1 for ns, 1e3 for us, 1e6 for ms), from Node's HDR histogram
 * (perf_hooks.createHistogram: 3 significant digits at every magnitude),
 * returned in the samples' unit.
 */
export function latency(samples: ArrayLike<number>, unit_ns: number): { p50: number; p99: number; max: number; count: number } {
  const h = createHistogram();
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    if (!(v >= 0)) throw new RangeError(`latency samples must be non-negative numbers, got ${v}`);
    h.record(Math.max(1, Math.round(v * unit_ns)));
  }
  if (h.count === 0) return { p50: NaN, p99: NaN, max: NaN, count: 0 };
  return { p50: h.percentile(50) / unit_ns, p99: h.percentile(99) / unit_ns, max: h.max / unit_ns, count: h.count };
}

/**
 * Percentile (0..100) of samples, by nearest rank: for the few numbers a
 * median over repetitions takes, and for signed samples (a timer's lateness
 * is negative when it fires early), which a histogram cannot record;
 * latency samples go through {@link latency}.
 */
export function percentile(samples: ArrayLike<number>, p: number): number {
  const a = Float64Array.from(samples as ArrayLike<number>).sort();
  if (a.length === 0) return NaN;
  const i = Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1));
  return a[i]!;
}
export function median(samples: ArrayLike<number>): number { return percentile(samples, 50); }

/** Runs fn `reps` times and returns the median of its results (the medians-over-repetitions rule). */
export async function medianOf(reps: number, fn: (rep: number) => Promise<number> | number): Promise<number> {
  const r: number[] = [];
  for (let i = 0; i < reps; i++) r.push(await fn(i));
  return median(r);
}

/** Reps from the environment (BENCH_REPS), for quick runs. */
export function reps(dflt: number): number {
  const v = Number(process.env.BENCH_REPS);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}

/** Nanoseconds from the process-wide monotonic clock, as a number. */
export function nowNs(): number { return Number(process.hrtime.bigint()); }
