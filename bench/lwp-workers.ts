/** Start functions for the LWP bench (each runs in its own LWP). */
import * as sys from '../src/sys/index.js';

function park(): void {
  try { sys.lwp_park(null); } catch (e) { if ((e as sys.SysError).code !== 'EALREADY') throw e; }
}

/**
 * Side A of a park/unpark ping-pong: records each round trip (ns) into `out`.
 * Timed as the Atomics peer times its own (bench/peers/loops.ts): with
 * performance.now() and the loop's bounds in locals, so that the two figures
 * differ by what they measure, not by their clocks (process.hrtime.bigint()
 * allocates a BigInt per call and costs more; each `arg.` read in the loop
 * is a property load of a structured-clone copy).
 */
export function pingA(arg: { peerSab: SharedArrayBuffer; out: SharedArrayBuffer; rounds: number; warmup: number }): void {
  const peer = new Int32Array(arg.peerSab);
  while (Atomics.load(peer, 0) === 0) Atomics.wait(peer, 0, 0, 10);
  const b = Atomics.load(peer, 0);
  const out = new Float64Array(arg.out);
  const warmup = arg.warmup, total = arg.warmup + arg.rounds;
  for (let i = 0; i < total; i++) {
    const t0 = performance.now();
    sys.lwp_unpark(b);
    park();
    const dt = (performance.now() - t0) * 1e6;
    if (i >= warmup) out[i - warmup] = dt;
  }
}

/** Side B: parks, then unparks A, `total` times. */
export function pingB(arg: { peerSab: SharedArrayBuffer; a: number; total: number }): void {
  const peer = new Int32Array(arg.peerSab);
  Atomics.store(peer, 0, sys.lwp_self());
  Atomics.notify(peer, 0);
  const a = arg.a, total = arg.total;
  for (let i = 0; i < total; i++) { park(); sys.lwp_unpark(a); }
}

/** Records when it started running (ns, process-wide monotonic clock) and wakes the creator. */
export function stamp(arg: { sab: SharedArrayBuffer }): void {
  const f = new Float64Array(arg.sab);
  f[1] = Number(process.hrtime.bigint());
  const i = new Int32Array(arg.sab);
  Atomics.store(i, 0, 1);
  Atomics.notify(i, 0);
}
