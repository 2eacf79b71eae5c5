/**
 * lwp0: the kernel helper thread that lives as long as the process and
 * serves what LWPs ask of a thread that outlives them (like NetBSD's
 * lwp0/swapper owns the process's bootstrap). It
 *  - runs the LWPs that other LWPs create, in workers of its own pool
 *    (pool.ts; the main thread's own creates run in the main thread's pool),
 *  - starts kernel threads (clock, intr, aio) for LWPs that ask, once each
 *    until a start fails before the thread is up (kthread.ts),
 *  - reaps its workers that die: their LWP is exited as LW_DIED (reap.ts);
 *    so too an LWP it could start no worker for.
 *
 * Start-up order. lwp0 answers creates from its first moment (giving an LWP
 * a worker needs no kernel memory: the worker binds to its LWP itself) and
 * loads the kernel's modules only when it first needs them: a kernel-thread
 * request, a worker of its own that died (to reap its LWP), or a create it
 * serves (its pool's gauges are kstat counters); a kernel-thread request is
 * served and a dead worker reaped once the kernel is attached. Why so late:
 * lwp0 starts at the main thread's first lwp_create, beside that LWP's
 * worker, and loading the kernel there (then an ES module bundle of the
 * whole kernel, ~200 KiB to compile with no code cache; now the bundle's
 * kernel script with its cache, lwp0-kern.cjs, ~7 ms) took a CPU from the
 * first LWP's own start on a 2-CPU machine, for a thread that most programs
 * never ask for anything. Its pool fills once it has served a create (the
 * main thread's pool is the one boot({ lwp_pool }) prestarts).
 *
 * Channels in: the parent port (from the main thread: kernel-thread
 * requests, and the lwp0 ends of the main thread's workers' request
 * channels), its own workers' pool channels, and those request channels.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { KernelImage } from '../kern/boot.js';
import { WorkerPool, WS_BUSY, WS_LID, type Lwp0Request } from './pool.js';

/** Messages from the main thread to lwp0. */
export type MainToLwp0 = Lwp0Request | { t: 'ports'; ports: MessagePort[]; states: Int32Array[] };

/** `kern`: the URL of the kernel part (the bundle's lwp0-kern.cjs), when this code runs eval'd (the bundle's lwp0, spawn.ts), where './lwp0-kern.js' resolves from nowhere useful. */
const { image, trampoline, kern } = workerData as { image: KernelImage; trampoline: string; kern?: string };

type Kern = typeof import('./lwp0-kern.js');
let k: Kern | undefined;
const deadBeforeAttach: number[] = [];
const kthreadsBeforeAttach: Lwp0Request[] = [];

/** Exits LWP `lid` as LW_DIED (reap.ts): at once, or once the kernel is attached. */
function reap(lid: number): void { if (k === undefined) { deadBeforeAttach.push(lid); kern_load(); } else k.lwp_reap_dead(lid); }

const pool = new WorkerPool(image, trampoline, image.tunables.lwp_pool!, image.tunables.lwp_pool_linger!, {
  reap,
  changed: tell_main,
  request,
});

function request(m: Lwp0Request): void {
  if (m.t === 'live') tell_main(); // an LWP's keep-alive changed (lwp_ref)
  else if (m.t === 'create') {
    try {
      pool.dispatch({ t: 'run', lid: m.lid, module: m.module, exp: m.exp, arg: m.arg });
    } catch (e) {
      // No worker could be started for it (new Worker threw: resources
      // short). Its creator has its lid already: it ends as a worker that
      // died before it ran it would, and its waiter collects it. Thrown
      // through, it ended lwp0 (a panic) and left the LWP with no worker.
      console.error(`ukern: no worker could be started for LWP ${m.lid}; it ends as died:`, e);
      reap(m.lid);
      tell_main();
    }
    kern_load();
  } else if (m.t === 'kthread') {
    if (k === undefined) { kthreadsBeforeAttach.push(m); kern_load(); return; }
    // Each request was counted by its LWP (kthread.ts): uncounted once the
    // thread is up or failed, or at once for a name started already (since
    // its last failed start). Watched as the booting thread watches its own
    // starts: its end before it is up gives the LWP's claim back, its end
    // once it is up (terminated, out of memory, an error its body did not
    // catch) is a panic, not a silent stop of what it served.
    const kk = k;
    kk.kthread_serve(m.name, new URL(m.module), m, () => { kk.kthread_settled(); tell_main(); });
  }
}

/** Tells the booting thread that LWPs may have come or gone (it keeps the process alive for them). */
function tell_main(): void { parentPort!.postMessage({ t: 'live' }); publish(); }

// The pool gauges (kstat lwp.pool_idle / lwp.pool_starting), once attached.
function publish(): void { if (k !== undefined) pool.publish(k.kstat_add, k.C_POOL_IDLE, k.C_POOL_STARTING); }

parentPort!.on('message', (m: MainToLwp0) => {
  if (m.t !== 'ports') { request(m); return; }
  m.ports.forEach((p, i) => {
    p.on('message', request);
    const st = m.states[i];
    if (st !== undefined) p.once('close', () => { main_worker_gone(st); });
  });
});

/**
 * A worker of the main thread's pool is gone (its channel to lwp0 closed):
 * if it was running an LWP (BUSY, a lid), that LWP is reaped here, as one
 * of lwp0's own dead workers' (pool.ts WS_LID says why not only by the
 * main thread). An LWP that exited already is left as it is (reap.ts).
 */
function main_worker_gone(st: Int32Array): void {
  const lid = Atomics.load(st, WS_LID);
  if (Atomics.load(st, 0) !== WS_BUSY || lid === 0) return;
  reap(lid);
  tell_main();
}

let loading = false;
/** Loads the kernel and attaches (once, at the first need: see the header), then serves what waited for it. */
function kern_load(): void {
  if (loading) return;
  loading = true;
  // The bundle's lwp0-kern.cjs is required (the kernel script with its code
  // cache, and no ES module loader set up in this thread for it).
  const loaded = kern === undefined ? import('./lwp0-kern.js')
    : Promise.resolve(createRequire(import.meta.url)(fileURLToPath(kern)) as Kern);
  void loaded.then((kk) => {
    if (k !== undefined) return; // attached by lwp0_dies meanwhile
    kk.attach_system_thread(image);
    k = kk;
    for (const lid of deadBeforeAttach.splice(0)) kk.lwp_reap_dead(lid);
    for (const m of kthreadsBeforeAttach.splice(0)) request(m);
    // Not only the gauges: the booting thread heard of a dead worker (its
    // 'exit') before its LWP was reaped here, and holds the process for it
    // until it is told again.
    tell_main();
  });
}

/*
 * lwp0's death is a kernel panic: no LWP that another LWP creates can run
 * without it, and those it ran end with it, unreaped (it was their reaper).
 * The booting thread raises it from lwp0's 'error' (spawn.ts), but only at
 * its next event-loop turn: one blocked in lwp_wait for an LWP of lwp0's
 * never got there, and waited for ever. So lwp0 raises it itself as it
 * dies, and the panic ends every sleep with EIO at once: at its uncaught
 * error (uncaughtExceptionMonitor, which changes nothing of the death) or
 * its 'exit' (it never ends otherwise: a worker that the process's end
 * terminates runs no 'exit' listener). Before its kernel is attached, the
 * bundle's kernel part is loaded now (a require); from the compiled tree
 * (an import, never synchronous) the booting thread's panic is all there is.
 */
let dying = false;
function lwp0_dies(what: string): void {
  if (dying) return;
  dying = true;
  try {
    if (k === undefined && kern !== undefined) {
      const kk = createRequire(import.meta.url)(fileURLToPath(kern)) as Kern;
      kk.attach_system_thread(image);
      k = kk;
    }
    k?.panic_mark_sync(what);
  } catch { /* the booting thread's 'error' listener panics too */ }
}
process.on('uncaughtExceptionMonitor', (e) => { lwp0_dies(`lwp0 failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`); });
process.on('exit', (code) => { lwp0_dies(`lwp0 ended (exit code ${code})`); });
