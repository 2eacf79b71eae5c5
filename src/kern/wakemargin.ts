/**
 * How far ahead of a deadline a thread must stop sleeping to be back on its
 * CPU at the deadline, learnt from how late its own timed sleeps woke (on a
 * VM whose idle vCPU halts, 20-400 µs): a quantile of the last 64 delays
 * plus a pad, bounded. Written once for the threads that sleep towards a
 * deadline and spin the rest: the clock thread (timers/clockthread-main.ts)
 * and a waiter fed by a timer (timers/dwait.ts: a port getter, a sigwait).
 * One per thread and use: the lateness is the thread's (its timer slack,
 * its vCPU).
 */
export class WakeMargin {
  readonly #delays = new Float64Array(64);
  #n = 0;
  /** The current margin (ns). */
  margin: number;
  /**
   * @param initial margin before any sample (ns)
   * @param every   recompute after this many samples (a power of two)
   * @param q       the quantile of the delays taken
   */
  constructor(initial: number, readonly every = 8, readonly q = 0.9,
    readonly min = 20_000, readonly max = 400_000, readonly pad = 10_000) {
    this.margin = initial;
  }
  /** A timed sleep woke `d` ns after it was meant to end. */
  note(d: number): void {
    this.#delays[this.#n++ & 63] = d;
    if ((this.#n & (this.every - 1)) !== 0) return;
    const a = Float64Array.from(this.#delays.subarray(0, Math.min(this.#n, 64))).sort();
    this.margin = Math.min(this.max, Math.max(this.min, a[Math.floor(a.length * this.q)]! + this.pad));
  }
  /** Starts again from `margin` (the thread's timer slack changed: the old delays no longer apply). */
  reset(margin: number): void { this.margin = margin; this.#n = 0; }
  /** Samples noted so far. */
  get samples(): number { return this.#n; }
}
