/**
 * lwp0: the kernel helper thread that owns all worker threads (like
 * NetBSD's lwp0/swapper owns the process's bootstrap). It
 *  - keeps a warm pool of worker threads and hands one to each new LWP
 *    (so lwp_create costs a message hop, not a Worker start),
 *  - starts kernel threads (clock, intr) once each,
 *  - reaps workers that die: their LWP becomes a zombie (or is freed if
 *    detached), its waiters wake, and its async sleepers leave their queues.
 *    A worker that died holding a kernel lock leaves kernel memory
 *    inconsistent: the kernel is marked panicked and says so.
 * Start-up order: the warm pool's workers (when boot was given lwp_pool;
 * by default the pool fills once the first create's worker is up) are
 * started first, from the kernel image alone, and only then does lwp0 load
 * the kernel's modules and attach; so the pool starts in parallel with lwp0's own loading instead of
 * after it. Creates are served from the start too (giving an LWP a worker
 * needs no kernel memory: the worker binds to its LWP itself); what needs
 * the kernel waits for the attach: a kernel-thread request is served then,
 * and a worker that dies meanwhile is reaped then.
 */
import { Worker, MessageChannel, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { KernelImage } from '../kern/boot.js';
import type { Lwp0Request } from './spawn.js';

/** Messages from an LWP worker to lwp0. */
export type WorkerReport =
  | Lwp0Request
  | { t: 'ready' }
  | { t: 'idle'; lid: number; reusable: boolean };

/** Messages from lwp0 to an LWP worker. */
export interface RunRequest { t: 'run'; lid: number; module: string; exp: string; arg: unknown }

const { image, trampoline } = workerData as { image: KernelImage; trampoline: string };

interface Slot { w: Worker; port: MessagePort; lid: number; ready: boolean; pending?: RunRequest }
const idle: Slot[] = [];
const slots = new Set<Slot>();
const kthreads = new Map<string, Worker>();
const poolSize = image.tunables.lwp_pool!;
let attached = false;
const deadBeforeAttach: number[] = [];
const kthreadsBeforeAttach: Lwp0Request[] = [];
const queue: RunRequest[] = [];

function spawnWorker(): Slot {
  const { port1, port2 } = new MessageChannel();
  const w = new Worker(new URL(trampoline), {
    workerData: { image, port: port2 },
    transferList: [port2],
    name: 'ukern lwp',
  });
  const s: Slot = { w, port: port1, lid: 0, ready: false };
  slots.add(s);
  port1.on('message', (m: WorkerReport) => onReport(s, m));
  w.on('exit', () => onWorkerExit(s));
  w.on('error', (e) => { console.error(`ukern: LWP ${s.lid || '(idle worker)'} thread failed:`, e); });
  return s;
}

/**
 * Gives an LWP a worker: a warm one, else the earliest one already starting
 * for the pool (it is nearer to ready than a new one), else a new one. A
 * create never waits for more than its own worker's start.
 */
function dispatch(req: RunRequest): void {
  const s = idle.pop() ?? firstStarting() ?? spawnWorker();
  s.lid = req.lid;
  if (s.ready) s.port.postMessage(req); else s.pending = req;
  refill();
}
function firstStarting(): Slot | undefined {
  for (const s of slots) if (!s.ready && s.lid === 0) return s;
  return undefined;
}
function starting(): number { let n = 0; for (const s of slots) if (!s.ready && s.lid === 0) n++; return n; }
function assignedStarting(): boolean { for (const s of slots) if (!s.ready && s.lid !== 0) return true; return false; }

/**
 * Keeps `poolSize` workers warm or starting, ahead of the next create; but
 * not while the workers of a burst of creates are still starting: they
 * would share the CPUs with the refill (a worker start is CPU-bound), and the
 * pool then refills as soon as the last of them is up.
 */
function refill(): void {
  if (refillQueued) return;
  refillQueued = true;
  // After the messages already queued, and a little later still: a burst of
  // creates is dispatched first (none waits behind the refill's Worker
  // constructors, ~0.5 ms of this thread each), and its LWPs get going before
  // the refill's worker starts (CPU-bound, ~76 modules each) compete with them
  // for the CPUs. The pool is still refilled long before a worker could start
  // on demand.
  setTimeout(refillNow, REFILL_DELAY_MS);
}
let refillQueued = false;
const REFILL_DELAY_MS = 10;
function refillNow(): void {
  refillQueued = false;
  if (assignedStarting()) return;
  while (idle.length + starting() < poolSize) spawnWorker();
  publish();
}

function onReport(s: Slot, m: WorkerReport): void {
  switch (m.t) {
    case 'ready':
      s.ready = true;
      if (s.pending) { s.port.postMessage(s.pending); s.pending = undefined; }
      else idle.push(s);
      drain();
      refill();
      publish();
      break;
    case 'idle':
      s.lid = 0;
      if (m.reusable && idle.length < Math.max(poolSize, 1)) idle.push(s);
      else retire(s);
      tellMain();
      drain();
      publish();
      break;
    default:
      request(m);
  }
}

function drain(): void {
  while (queue.length > 0 && idle.length > 0) dispatch(queue.shift()!);
}

function request(m: Lwp0Request): void {
  if (m.t === 'create') {
    dispatch({ t: 'run', lid: m.lid, module: m.module, exp: m.exp, arg: m.arg });
    tellMain();
  } else if (m.t === 'kthread') {
    if (!attached) { kthreadsBeforeAttach.push(m); return; }
    if (kthreads.has(m.name)) return;
    kthreads.set(m.name, kernel_worker_start(new URL(m.module), m.name));
  }
}

function retire(s: Slot): void {
  slots.delete(s);
  s.lid = 0;
  s.port.close();
  void s.w.terminate();
}

function onWorkerExit(s: Slot): void {
  slots.delete(s);
  const i = idle.indexOf(s);
  if (i >= 0) idle.splice(i, 1);
  const lid = s.lid;
  s.lid = 0;
  if (lid !== 0) reapDead(lid);
  tellMain();
}

/** The worker of LWP `lid` is gone without exiting its LWP: exit it on its behalf. */
function reapDead(lid: number): void {
  if (!attached) { deadBeforeAttach.push(lid); return; }
  const h = lwp_byid(lid);
  if (h === 0) return;
  if (kmem.I32[h + L.nlocks]! > 0 || panicked()) {
    // Kernel memory is inconsistent: nothing may touch it again. The panic
    // wakes everyone waiting on it (they get EIO), and the booting thread,
    // told below, stops keeping the process alive for LWPs that will never
    // exit.
    panic_mark(`LWP ${lid} died holding ${kmem.I32[h + L.nlocks]} kernel lock(s); kernel memory is inconsistent`, lid);
    return;
  }
  lwp_orphan_sleepers(h);
  lwp_exit_common(h, lid, LW_DIED);
}

function tellMain(): void { parentPort?.postMessage({ t: 'live' }); publish(); }

// The pool gauges (kstat lwp.pool_idle / lwp.pool_starting), once attached.
let shownIdle = 0, shownStarting = 0;
function publish(): void {
  if (!attached) return;
  const i = idle.length, st = starting();
  if (i !== shownIdle) { kstat_add(C_POOL_IDLE, i - shownIdle); shownIdle = i; }
  if (st !== shownStarting) { kstat_add(C_POOL_STARTING, st - shownStarting); shownStarting = st; }
}

// Prestart the pool when boot asked for one; by default it fills from the first create on (refill).
if (image.prestart) for (let i = 0; i < poolSize; i++) spawnWorker();
// Creates are served at once (a worker start needs nothing from the kernel):
// the first LWP's worker starts while lwp0 is still loading the kernel.
parentPort!.on('message', (m: Lwp0Request) => request(m));
await import('../sys/index.js'); // registers every subsystem so the layout matches
const { attachSystemThread } = await import('../kern/boot.js');
const kmem = await import('../kern/kmem.js'); // kmem.I32: a live binding, replaced by attach
const { panicked } = await import('../kern/hdr.js');
const { panic_mark } = await import('../kern/panic.js');
const { L, LW_DIED, lwp_byid } = await import('./lwp.js');
const { lwp_exit_common, lwp_orphan_sleepers } = await import('./ops.js');
const { kernel_worker_start, C_POOL_IDLE, C_POOL_STARTING } = await import('./spawn.js');
const { kstat_add } = await import('../kern/kstat.js');
attachSystemThread(image);
attached = true;
for (const lid of deadBeforeAttach.splice(0)) reapDead(lid);
for (const m of kthreadsBeforeAttach.splice(0)) request(m);
publish();
