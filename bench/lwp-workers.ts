/** Start functions for the LWP bench (each runs in its own LWP). */
import * as sys from '../src/sys/index.js';

function park(): void {
  try { sys.lwp_park(null); } catch (e) { if ((e as sys.SysError).code !== 'EALREADY') throw e; }
}

/** Side A of a park/unpark ping-pong: records each round trip (ns) into `out`. */
export function pingA(arg: { peerSab: SharedArrayBuffer; out: SharedArrayBuffer; rounds: number; warmup: number }): void {
  const peer = new Int32Array(arg.peerSab);
  while (Atomics.load(peer, 0) === 0) Atomics.wait(peer, 0, 0, 10);
  const b = Atomics.load(peer, 0);
  const out = new Float64Array(arg.out);
  for (let i = 0; i < arg.warmup + arg.rounds; i++) {
    const t0 = process.hrtime.bigint();
    sys.lwp_unpark(b);
    park();
    const dt = Number(process.hrtime.bigint() - t0);
    if (i >= arg.warmup) out[i - arg.warmup] = dt;
  }
}

/** Side B: parks, then unparks A, `total` times. */
export function pingB(arg: { peerSab: SharedArrayBuffer; a: number; total: number }): void {
  const peer = new Int32Array(arg.peerSab);
  Atomics.store(peer, 0, sys.lwp_self());
  Atomics.notify(peer, 0);
  for (let i = 0; i < arg.total; i++) { park(); sys.lwp_unpark(arg.a); }
}

/** Records when it started running (ns, process-wide monotonic clock) and wakes the creator. */
export function stamp(arg: { sab: SharedArrayBuffer }): void {
  const f = new Float64Array(arg.sab);
  f[1] = Number(process.hrtime.bigint());
  const i = new Int32Array(arg.sab);
  Atomics.store(i, 0, 1);
  Atomics.notify(i, 0);
}
