/**
 * `ukern demo` (what `npm start` runs): LWPs doing real work together through
 * park/unpark, on the kernel's embedded defaults. Prints what happened, the
 * LWP states along the way and the kernel's counters, and exits 0.
 */
import * as sys from '../sys/index.js';
import { ParkMutex } from '../lib/parkmutex.js';
import type { WorkerArg } from './demo-worker.js';

const WORKER = new URL('./demo-worker.js', import.meta.url);

function states(): string {
  return sys.lwp_snapshot().lwps.map((l) => `${l.lid}:${l.state}${l.wmesg ? `(${l.wmesg})` : ''}`).join(' ');
}

export async function lwpDemo(out: (s: string) => void, opts: { workers: number; tasks: number; span: number }): Promise<void> {
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
  while (Atomics.load(q, 0) < Math.min(opts.tasks, opts.workers * 2)) await new Promise((r) => setTimeout(r, 1));
  out(`running:   ${states()}`);
  const victim = lids[0]!;
  try {
    sys.lwp_suspend(victim);
    // It stops at its next syscall boundary: its next lock or unlock of the queue.
    const deadline = Date.now() + 5000;
    while (sys.lwp_snapshot().lwps.find((l) => l.lid === victim)?.state !== 'SUSPENDED' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    out(`suspended LWP ${victim}: ${states()}`);
    sys.lwp_continue(victim);
    out(`continued LWP ${victim}`);
  } catch (e) {
    if (!(e instanceof sys.SysError) || e.code !== 'ESRCH') throw e;
    out(`LWP ${victim} finished before it could be suspended`);
  }
  const done: number[] = [];
  for (let i = 0; i < lids.length; i++) done.push(await sys.lwp_wait_async(0));
  const ms = performance.now() - t0;
  const r = new Float64Array(results);
  let total = 0, tasks = 0;
  for (let i = 0; i < opts.workers; i++) {
    const lid = r[i * 4]!, primes = r[i * 4 + 1]!, n = r[i * 4 + 2]!, busy = r[i * 4 + 3]!;
    total += primes; tasks += n;
    out(`  LWP ${lid}: ${n} tasks, ${primes} primes, busy ${busy.toFixed(0)} ms`);
  }
  out(`all collected by lwp_wait(0) in order ${done.join(', ')}: ${tasks} tasks, ${total} primes below ${opts.tasks * opts.span} in ${ms.toFixed(0)} ms`);
  out(`last digits of the primes (merged under the mutex): ${[...new Float64Array(digits)].map((n, i) => `${i}:${n}`).filter((x) => !x.endsWith(':0')).join(' ')}`);
  out(`after:     ${states()}`);
  const k1 = sys.kstat('lwp');
  const d = (k: string): number => (k1[`lwp.${k}`] ?? 0) - (k0[`lwp.${k}`] ?? 0);
  out(`park counters: parked ${d('park_parked')}, unparked early ${d('park_unparked_early')}, targeted unparks ${d('park_targeted')}, not parked ${d('park_not_parked')}; suspensions ${d('suspended')}`);
  if (tasks !== opts.tasks) throw new Error(`demo lost tasks: ${tasks} of ${opts.tasks}`);
}
