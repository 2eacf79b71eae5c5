/**
 * The demo's unit of work and its check. LWPs count primes by trial division
 * on purpose: it is CPU work that takes real time, so the demo has something
 * to show while it runs. The sieve is the independent answer the main thread
 * checks their sum against, so a lost or doubled task cannot pass as a result.
 * No kernel imports: LWP start modules load this after the sys facade.
 */

/** Primes in [lo, hi) by trial division; `hist`, when given, gets +1 per prime at its last digit. */
export function countPrimes(lo: number, hi: number, hist?: number[]): number {
  let n = 0;
  for (let x = Math.max(2, lo); x < hi; x++) {
    let p = true;
    for (let d = 2; d * d <= x; d++) if (x % d === 0) { p = false; break; }
    if (p) { n++; if (hist) hist[x % 10]!++; }
  }
  return n;
}

/** Number of primes below n (sieve of Eratosthenes). */
export function primesBelow(n: number): number {
  if (n <= 2) return 0;
  const composite = new Uint8Array(n);
  let count = 0;
  for (let x = 2; x < n; x++) {
    if (composite[x]) continue;
    count++;
    for (let m = x * x; m < n; m += x) composite[m] = 1;
  }
  return count;
}
