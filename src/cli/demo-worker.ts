/**
 * LWP start functions for the demo. Each worker LWP takes tasks from a
 * shared queue guarded by a ParkMutex (park/unpark underneath, as NetBSD's
 * libpthread does), counts the primes in each task's range, and records
 * what it did.
 */
import { ParkMutex } from '../index.js';
import { lwp_self, lwp_setprivate } from '../sys/index.js';
import { countPrimes } from './primes.js';

/**
 * Queue layout in `queue` (Int32): [head, tail, task0.lo, task0.hi, task1.lo, ...].
 * `digits` (Float64, 10 entries) is a shared histogram of the primes' last
 * digits, merged under the same mutex.
 */
export interface WorkerArg { mutex: SharedArrayBuffer; queue: SharedArrayBuffer; results: SharedArrayBuffer; digits: SharedArrayBuffer; slot: number }

export function worker(arg: WorkerArg): void {
  const m = new ParkMutex(arg.mutex);
  const q = new Int32Array(arg.queue);
  const r = new Float64Array(arg.results);
  const digits = new Float64Array(arg.digits);
  r[arg.slot * 4] = lwp_self();
  for (;;) {
    m.lock();
    const head = q[0]!, tail = q[1]!;
    if (head === tail) { m.unlock(); break; }
    q[0] = head + 1;
    const lo = q[2 + head * 2]!, hi = q[3 + head * 2]!;
    m.unlock();
    const t0 = performance.now();
    const hist = new Array<number>(10).fill(0);
    r[arg.slot * 4 + 1]! += countPrimes(lo, hi, hist);
    r[arg.slot * 4 + 2]! += 1;
    r[arg.slot * 4 + 3]! += performance.now() - t0;
    // Merge into the shared histogram under the mutex: this is where LWPs contend and park.
    m.lock();
    for (let i = 0; i < 10; i++) digits[i]! += hist[i]!;
    m.unlock();
    lwp_setprivate(r[arg.slot * 4 + 2]!); // publish progress (and pass a syscall boundary)
  }
}
