/**
 * The channel from any LWP to lwp0, the kernel helper thread that owns every
 * worker thread. Node ends a worker when the thread that created it ends,
 * so LWPs and kernel threads are all created by lwp0, which lives as long as
 * the process; a creating LWP only posts a request. The booting thread
 * starts lwp0 on first need and holds a reference on it (keeping the Node
 * process alive) exactly while LWPs other than LWP 1 are alive.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import { I32 } from '../kern/kmem.js';
import { panicked } from '../kern/hdr.js';
import { panic_mark } from '../kern/panic.js';
import { kernelImage } from '../kern/boot.js';
import { P, curproc } from './proc.js';

/** Messages to lwp0. */
export type Lwp0Request =
  | { t: 'create'; lid: number; module: string; exp: string; arg: unknown }
  | { t: 'kthread'; name: string; module: string };

let port: MessagePort | undefined;
let lwp0: Worker | undefined;

/** Set in worker threads the kernel started: their end of the channel to lwp0. */
export function setLwp0Port(p: MessagePort): void { port = p; }

/** Posts a request to lwp0 (throws DataCloneError when the message cannot be cloned). */
export function lwp0_post(m: Lwp0Request): void {
  if (port !== undefined) { port.postMessage(m); return; }
  if (lwp0 === undefined) startLwp0();
  lwp0!.postMessage(m);
}

/**
 * In the booting thread: keep the process alive while other LWPs live. Not
 * after a panic: LWPs that died in the kernel never exit, and the process
 * must still be able to end (with status 70 unless it already has one).
 */
export function lwp0_refresh(): void {
  if (lwp0 === undefined) return;
  if (panicked()) {
    lwp0.unref();
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = 70;
    return;
  }
  if (Atomics.load(I32, curproc() + P.nlive) > 0) lwp0.ref(); else lwp0.unref();
}

function startLwp0(): void {
  lwp0 = new Worker(new URL('./lwp0.js', import.meta.url), {
    workerData: { image: kernelImage() },
    name: 'ukern lwp0',
  });
  lwp0.on('message', lwp0_refresh);
  // Without lwp0 no LWP can ever run again and their waiters would wait
  // forever: that is a kernel panic, and it ends the process.
  lwp0.on('error', (e) => {
    panic_mark(`lwp0 failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(70);
  });
  // After the listener: adding a 'message' listener refs the worker again.
  lwp0.unref();
}
