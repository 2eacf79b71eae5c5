/**
 * The synchronous measuring loops of the peer benches. They live apart from
 * the worker entry so that the same loop can run on the main thread (the
 * main<->worker variants block the caller on purpose, as a Node user doing
 * Atomics.wait on main would).
 */
import { STOP } from './protocol.js';

/** performance.now() in µs: ~46 ns a call here, cheaper than Number(hrtime.bigint()) (~63 ns). */
const nowUs = (): number => performance.now() * 1000;
/** Nanoseconds of the process-wide monotonic clock, comparable across threads. */
export const monoNs = (): number => Number(process.hrtime.bigint());

export interface LoopResult { samples: Float64Array; completed: number; overruns?: number }

/**
 * Side A of a shared-word ping-pong. Word 0 holds a sequence: A writes the
 * odd ping 2k+1, B answers with 2k+2. A strictly increasing value (rather than
 * a 0/1 flag) means neither side can mistake an old value for a new one.
 * `block` chooses Atomics.wait/notify; otherwise both sides spin on load.
 */
export function pingSideA(sab: SharedArrayBuffer, rounds: number, warmup: number, budgetMs: number, block: boolean): LoopResult {
  const f = new Int32Array(sab);
  const samples = new Float64Array(rounds);
  let completed = 0;
  const total = warmup + rounds;
  let deadline = Infinity;
  // Side A may be the main thread, blocked where no timer can rescue it: if
  // side B dies, fail after this long instead of hanging the bench.
  const stallMs = budgetMs * 3 + 30_000;
  let spins = 0;
  for (let k = 0; k < total; k++) {
    // The time budget starts after warm-up so that a slow warm-up cannot eat it.
    if (k === warmup) deadline = nowUs() + budgetMs * 1000;
    const ping = 2 * k + 1;
    const t0 = nowUs();
    Atomics.store(f, 0, ping);
    if (block) {
      Atomics.notify(f, 0);
      while (Atomics.load(f, 0) === ping) {
        if (Atomics.wait(f, 0, ping, stallMs) === 'timed-out') throw new Error(`ping-pong: no answer in ${stallMs} ms`);
      }
    } else {
      while (Atomics.load(f, 0) === ping) {
        // One masked increment per spin: too cheap to show in a ~0.1 µs handoff.
        if ((++spins & 0xfffff) === 0 && nowUs() - t0 > stallMs * 1000) throw new Error(`ping-pong: no answer in ${stallMs} ms`);
      }
    }
    const t1 = nowUs();
    if (k >= warmup) {
      samples[completed++] = t1 - t0;
      // A loaded machine (other builds on the 2 vCPUs) can make a spin
      // handoff cost a scheduler tick; the budget bounds the run instead.
      if (t1 > deadline) break;
    }
  }
  Atomics.store(f, 0, STOP);
  if (block) Atomics.notify(f, 0);
  return { samples: samples.subarray(0, completed), completed };
}

/** Side B: waits for each ping and answers it, until `total` rounds or STOP. */
export function pingSideB(sab: SharedArrayBuffer, total: number, block: boolean): number {
  const f = new Int32Array(sab);
  let k = 0;
  for (; k < total; k++) {
    const ping = 2 * k + 1;
    let v: number;
    while ((v = Atomics.load(f, 0)) !== ping) {
      if (v === STOP) return k;
      if (block) Atomics.wait(f, 0, v);
    }
    Atomics.store(f, 0, ping + 1);
    if (block) Atomics.notify(f, 0);
  }
  return k;
}

/**
 * Sleeps with Atomics.wait(timeout) to absolute deadlines start + k*period
 * and records lateness = wake time - deadline (µs). Deadlines already past on
 * waking are skipped and counted as overruns (POSIX timer_getoverrun), so one
 * stall gives one late sample rather than a run of them (BASELINES.md §3).
 */
export function atomicsTimerLoop(periodUs: number, fires: number, budgetMs: number): LoopResult {
  const word = new Int32Array(new SharedArrayBuffer(4));
  const periodNs = periodUs * 1000;
  const samples = new Float64Array(fires);
  let overruns = 0;
  const start = monoNs();
  const stopAt = start + budgetMs * 1e6;
  let k = 1;
  let deadline = start + periodNs;
  let n = 0;
  while (n < fires) {
    let now = monoNs();
    // Loop: a timed wait may return a hair early; the peer sleeps *until* the deadline.
    while (now < deadline) {
      Atomics.wait(word, 0, 0, (deadline - now) / 1e6);
      now = monoNs();
    }
    samples[n++] = (now - deadline) / 1000;
    if (now > stopAt) break;
    k++;
    deadline = start + k * periodNs;
    if (now >= deadline) {
      const skip = Math.floor((now - deadline) / periodNs) + 1;
      overruns += skip;
      k += skip;
      deadline = start + k * periodNs;
    }
  }
  return { samples: samples.subarray(0, n), completed: n, overruns };
}
