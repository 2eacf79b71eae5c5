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
 */
import { Worker, MessageChannel, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import '../sys/index.js'; // registers every subsystem so the layout matches
import { attachSystemThread, tunables, type KernelImage } from '../kern/boot.js';
import { I32 } from '../kern/kmem.js';
import { panicked } from '../kern/hdr.js';
import { panic_mark } from '../kern/panic.js';
import { L, LW_DIED, lwp_byid } from './lwp.js';
import { lwp_exit_common, lwp_orphan_sleepers } from './ops.js';
import type { Lwp0Request } from './spawn.js';

/** Messages from an LWP worker to lwp0. */
export type WorkerReport =
  | Lwp0Request
  | { t: 'ready' }
  | { t: 'idle'; lid: number; reusable: boolean };

/** Messages from lwp0 to an LWP worker. */
export interface RunRequest { t: 'run'; lid: number; module: string; exp: string; arg: unknown }

const image = (workerData as { image: KernelImage }).image;
attachSystemThread(image);

interface Slot { w: Worker; port: MessagePort; lid: number; ready: boolean; pending?: RunRequest }
const idle: Slot[] = [];
const slots = new Set<Slot>();
const kthreads = new Map<string, Worker>();
const poolSize = tunables().lwp_pool!;
const queue: RunRequest[] = [];

function spawnWorker(): Slot {
  const { port1, port2 } = new MessageChannel();
  const w = new Worker(new URL('./trampoline.js', import.meta.url), {
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

function dispatch(req: RunRequest): void {
  const s = idle.pop() ?? spawnWorker();
  s.lid = req.lid;
  if (s.ready) s.port.postMessage(req); else s.pending = req;
  // Keep the pool warm for the next lwp_create.
  while (idle.length + starting() < poolSize) spawnWorker();
}
function starting(): number { let n = 0; for (const s of slots) if (!s.ready && s.lid === 0) n++; return n; }

function onReport(s: Slot, m: WorkerReport): void {
  switch (m.t) {
    case 'ready':
      s.ready = true;
      if (s.pending) { s.port.postMessage(s.pending); s.pending = undefined; }
      else idle.push(s);
      drain();
      break;
    case 'idle':
      s.lid = 0;
      if (m.reusable && idle.length < Math.max(poolSize, 1)) idle.push(s);
      else retire(s);
      tellMain();
      drain();
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
    if (kthreads.has(m.name)) return;
    const w = new Worker(new URL(m.module), { workerData: { image }, name: `ukern ${m.name}` });
    w.on('error', (e) => { console.error(`ukern: kernel thread ${m.name} failed:`, e); });
    w.unref();
    kthreads.set(m.name, w);
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
  const h = lwp_byid(lid);
  if (h === 0) return;
  if (I32[h + L.nlocks] > 0 || panicked()) {
    // Kernel memory is inconsistent: nothing may touch it again. The panic
    // wakes everyone waiting on it (they get EIO), and the booting thread,
    // told below, stops keeping the process alive for LWPs that will never
    // exit.
    panic_mark(`LWP ${lid} died holding ${I32[h + L.nlocks]} kernel lock(s); kernel memory is inconsistent`, lid);
    return;
  }
  lwp_orphan_sleepers(h);
  lwp_exit_common(h, lid, LW_DIED);
}

function tellMain(): void { parentPort?.postMessage({ t: 'live' }); }

parentPort!.on('message', (m: Lwp0Request) => request(m));
for (let i = 0; i < poolSize; i++) spawnWorker();
