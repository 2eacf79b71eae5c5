/**
 * The LWP part of `ukern demo` (what `npm start` runs): LWPs doing real work
 * together through park/unpark, on the kernel's embedded defaults. Prints
 * what happened, the LWP states along the way and the kernel's counters.
 * Any worker count and task count the CLI accepts must work, so the steps
 * that watch the LWPs accept every legal outcome (a worker may finish before
 * it can be suspended) and each has a deadline; the result is checked
 * against a sieve.
 */
import * as sys from '../sys/index.js';
import { ParkMutex } from '../index.js';
import type { WorkerArg } from './demo-worker.js';
import { primesBelow } from './primes.js';

const WORKER = new URL('./demo-worker.js', import.meta.url);
/** How long the workers may take to start taking tasks, and a suspended LWP to stop. */
const START_MS = 30_000, SUSPEND_MS = 30_000;

export interface LwpDemoOptions { workers: number; tasks: number; span: number }

function states(): string {
  return sys.lwp_snapshot().lwps.map((l) => `${l.lid}:${l.state}${l.wmesg ? `(${l.wmesg})` : ''}`).join(' ');
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** State of LWP `lid` as lwp_snapshot reports it; undefined once it is gone. */
function stateOf(lid: number): string | undefined {
  return sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.state;
}

/** Suspends `victim`, waits until it stops (or has finished), continues it. */
async function suspendOne(victim: number, out: (s: string) => void): Promise<void> {
  try {
    sys.lwp_suspend(victim);
  } catch (e) {
    if (!(e instanceof sys.SysError) || e.code !== 'ESRCH') throw e;
    out(`LWP ${victim} finished before it could be suspended`);
    return;
  }
  // It stops at its next syscall boundary: its next lock or unlock of the queue.
  const deadline = Date.now() + SUSPEND_MS;
  let st = stateOf(victim);
  while (st !== 'SUSPENDED' && st !== 'ZOMB' && st !== undefined) {
    if (Date.now() > deadline) throw new Error(`lwp demo: LWP ${victim} did not stop within ${SUSPEND_MS} ms of lwp_suspend: ${states()}`);
    await tick();
    st = stateOf(victim);
  }
  if (st === 'SUSPENDED') out(`suspended LWP ${victim}: ${states()}`);
  else out(`LWP ${victim} finished before its suspension took effect`);
  try {
    sys.lwp_continue(victim);
    if (st === 'SUSPENDED') out(`continued LWP ${victim}`);
  } catch (e) {
    if (!(e instanceof sys.SysError) || e.code !== 'ESRCH') throw e;
  }
}

export async function lwpDemo(out: (s: string) => void, opts: LwpDemoOptions): Promise<void> {
  out(`== LWPs: ${opts.workers} worker LWPs share a queue of ${opts.tasks} prime-counting tasks, guarded by a mutex built on lwp_park/lwp_unpark`);
  const mutex = new ParkMutex(opts.workers + 1);
  const queue = new SharedArrayBuffer((2 + opts.tasks * 2) * 4);
  const q = new Int32Array(queue);
  for (let i = 0; i < opts.tasks; i++) { q[2 + i * 2] = i * opts.span; q[3 + i * 2] = (i + 1) * opts.span; }
  q[1] = opts.tasks;
  const results = new SharedArrayBuffer(opts.workers * 4 * 8);
  const digits = new SharedArrayBuffer(10 * 8);
  const k0 = sys.kstat('lwp');
  const t0 = performance.now();
  const lids: number[] = [];
  for (let i = 0; i < opts.workers; i++) {
    const arg: WorkerArg = { mutex: mutex.sab, queue, results, digits, slot: i };
    lids.push(sys.lwp_create({ module: WORKER, export: 'worker', arg }, sys.LWP_SUSPENDED));
  }
  out(`created LWPs ${lids.join(', ')} suspended: ${states()}`);
  for (const l of lids) sys.lwp_continue(l);
  // Let them get going, then show suspension taking effect at a syscall boundary.
  const started = Date.now() + START_MS;
  while (Atomics.load(q, 0) < Math.min(opts.tasks, opts.workers * 2)) {
    if (Date.now() > started) throw new Error(`lwp demo: the workers took no task in ${START_MS} ms: ${states()}`);
    await tick();
  }
  out(`running:   ${states()}`);
  await suspendOne(lids[0]!, out);
  const done: number[] = [];
  for (let i = 0; i < lids.length; i++) done.push(await sys.lwp_wait_async(0));
  const ms = performance.now() - t0;
  const r = new Float64Array(results);
  let total = 0, tasks = 0;
  const idle: number[] = [];
  for (let i = 0; i < opts.workers; i++) {
    const lid = r[i * 4]!, primes = r[i * 4 + 1]!, n = r[i * 4 + 2]!, busy = r[i * 4 + 3]!;
    total += primes; tasks += n;
    if (n === 0) idle.push(lid);
    else out(`  LWP ${lid}: ${n} tasks, ${primes} primes, busy ${busy.toFixed(0)} ms`);
  }
  if (idle.length > 0) out(`  LWP${idle.length > 1 ? 's' : ''} ${idle.join(', ')}: no task left when ${idle.length > 1 ? 'they' : 'it'} looked`);
  out(`all collected by lwp_wait(0) in order ${done.join(', ')}: ${tasks} tasks, ${total} primes below ${opts.tasks * opts.span} in ${ms.toFixed(0)} ms`);
  out(`last digits of the primes (merged under the mutex): ${[...new Float64Array(digits)].map((n, i) => `${i}:${n}`).filter((x) => !x.endsWith(':0')).join(' ')}`);
  out(`after:     ${states()}`);
  const k1 = sys.kstat('lwp');
  const d = (k: string): number => (k1[`lwp.${k}`] ?? 0) - (k0[`lwp.${k}`] ?? 0);
  out(`park counters: parked ${d('park_parked')}, unparked early ${d('park_unparked_early')}, targeted unparks ${d('park_targeted')}, not parked ${d('park_not_parked')}; suspensions ${d('suspended')}`);
  if (tasks !== opts.tasks) throw new Error(`lwp demo lost tasks: ${tasks} of ${opts.tasks}`);
  const expect = primesBelow(opts.tasks * opts.span);
  if (total !== expect) throw new Error(`lwp demo: the workers counted ${total} primes below ${opts.tasks * opts.span}, a sieve counts ${expect}`);
}
