/**
 * Who starts the kernel's threads, from the booting main thread and from
 * LWPs. Node ends a worker when the thread that created it ends, so threads
 * are started by threads that live as long as the process: the booting main
 * thread and lwp0 (pool.ts says which pool runs which LWPs).
 *
 *  - lwp_create in the main thread: its own pool (pool.ts) gives the LWP a
 *    worker at once; the first create also starts lwp0, in parallel, so
 *    that the LWPs have somewhere to send their own creates.
 *  - lwp_create in an LWP: a request to lwp0 on the LWP's channel to it.
 *  - kernel threads: kthread.ts (started by the main thread directly, or
 *    by lwp0 for an LWP).
 *
 * The booting thread holds a reference on lwp0 (keeping the Node process
 * alive) exactly while LWPs other than LWP 1 are alive and not unref'd
 * (p_nkeep: lwp_ref), or kernel threads
 * lwp0 starts for them are not yet up (kthread.ts); no LWP worker keeps the
 * process alive by itself.
 *
 * When they start. When boot was given lwp_pool, not 0 (the program asked for
 * warm workers), a booting main thread prestarts its pool (and lwp0) on its first
 * event-loop turn after boot, from an unref'd timer: they start while the
 * program does other things, and a short-lived program (import, boot, a few
 * syscalls, exit) pays for no worker. Otherwise nothing starts before the
 * first lwp_create: measured, starting lwp0 on the first turn by default
 * made a timer armed right after boot fire ~2x later on a loaded 2-CPU
 * machine, for programs that may never create an LWP.
 *
 * Every thread the kernel starts loads the kernel from the same place as the
 * booting thread (import.meta.url): from the package's bundle (build/bundle,
 * where ./trampoline.cjs, ./lwp0.js and ./clockthread.cjs are bundles too:
 * scripts/bundle.mjs), or from the compiled tree build/src, whose kernel
 * threads (not LWP workers) still start from their bundles when those are
 * current. An LWP worker must load the very module instances its start
 * module imports (a start module of the package imports 'ukern/sys', the
 * bundle; the tests' start modules import build/src).
 */
import { worker_start } from './execargv.js';
import type { Worker, MessagePort } from 'node:worker_threads';
import { worker_threads, is_main_thread, host_setTimeout } from '../kern/host.js';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { I32 } from '../kern/kmem.js';
import { panicked, panic_status_set, PANIC_STATUS } from '../kern/hdr.js';
import { panic_mark } from '../kern/panic.js';
import { on_panic_seen, PANIC_GRACE_MS } from '../kern/keepalive.js';
import { kernel_image, kernel_text_share, on_boot } from '../kern/boot.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { P, curproc } from '../kern/proc.js';
import { WorkerPool, type Lwp0Request } from './pool.js';
import type { MainToLwp0 } from './lwp0.js';
import { lwp_reap_dead } from './reap.js';

/** Gauges kept by lwp0: warm workers waiting for an LWP, and workers starting for the pool. */
export const C_POOL_IDLE = kstat_counter('lwp', 'pool_idle');
export const C_POOL_STARTING = kstat_counter('lwp', 'pool_starting');
/** Start modules LWP workers loaded by require(), and by import() (start-import.ts; declared here, where the booting thread declares them too). */
export const C_START_REQUIRED = kstat_counter('lwp', 'start_required');
export const C_START_IMPORTED = kstat_counter('lwp', 'start_imported');

export type { Lwp0Request };

let port: MessagePort | undefined;
let lwp0: Worker | undefined;

/** Set in worker threads the kernel started: their end of the channel to lwp0. */
export function spawn_set_lwp0_port(p: MessagePort): void { port = p; }

/**
 * Posts a request to lwp0, or, for a create in the main thread, serves it
 * from the main thread's pool (throws DataCloneError when the argument
 * cannot be cloned; nothing changed then).
 */
export function lwp0_post(m: Lwp0Request): void {
  if (port !== undefined) { port.postMessage(m); return; }
  if (m.t !== 'create') { lwp0_start(); lwp0!.postMessage(m); return; }
  // The LWP's worker first: its thread starts ~2 ms (one new Worker on this
  // thread) before lwp0's instead of after it. lwp0 is still started now,
  // within the create: an LWP may ask it for things (creates, kernel
  // threads) while this thread blocks outside the kernel, where nothing
  // could start it later.
  before_start();
  main_pool().dispatch({ t: 'run', lid: m.lid, module: m.module, exp: m.exp, arg: m.arg });
  lwp0_try_start();
}

/**
 * Called before this thread starts a worker: from its second start on, the
 * kernel text is shared first (kern/boot.ts kernel_text_share says why not
 * before the first: the copy costs this thread ~3 ms, which only pays off
 * for the workers after the one at hand, and a program that starts one
 * kernel thread and nothing else should not pay it).
 */
let startedOne = false;
function before_start(): void {
  if (startedOne) kernel_text_share();
  startedOne = true;
}

/** The main thread's pool (pool.ts); its workers send their requests to lwp0 on channels of their own. */
let pool: WorkerPool | undefined;
function main_pool(): WorkerPool {
  if (pool !== undefined) return pool;
  const img = kernel_image();
  pool = new WorkerPool(img, TRAMPOLINE, img.tunables.lwp_pool!, img.tunables.lwp_pool_linger!, {
    reap: lwp_reap_dead,
    changed() { lwp0_refresh(); publish(); },
    lwp0Port(st) {
      const { port1, port2 } = new (worker_threads().MessageChannel)();
      lwp0Ends.push(port1);
      lwp0States.push(st);
      if (lwp0 !== undefined) send_lwp0_ends();
      return port2;
    },
  });
  return pool;
}

/** lwp0's ends of the main pool's workers' request channels, with each worker's state words, until lwp0 has them. */
const lwp0Ends: MessagePort[] = [];
const lwp0States: Int32Array[] = [];
function send_lwp0_ends(): void {
  const ports = lwp0Ends.splice(0);
  const states = lwp0States.splice(0);
  const msg: MainToLwp0 = { t: 'ports', ports, states };
  lwp0!.postMessage(msg, ports);
}

function publish(): void { pool!.publish(kstat_add, C_POOL_IDLE, C_POOL_STARTING); }

/**
 * In the booting thread: keep the process alive while other LWPs live. Not
 * after a panic: LWPs that died in the kernel never exit, and the process
 * must still be able to end (with status 70 unless it already has one).
 */
export function lwp0_refresh(): void {
  if (lwp0 === undefined) return;
  if (panicked()) {
    lwp0.unref();
    panic_status_set();
    return;
  }
  const p = curproc();
  if (Atomics.load(I32, p + P.nkeep) > 0 || Atomics.load(I32, p + P.kstarting) > 0) lwp0.ref(); else lwp0.unref();
}

/**
 * An LWP's keep-alive changed (lwp_ref): the booting thread looks again, at
 * once when this is it, else when lwp0 passes the word on (the same path as
 * an LWP's exit takes).
 */
export function lwp0_live(): void {
  if (port !== undefined) port.postMessage({ t: 'live' } satisfies Lwp0Request);
  else lwp0_refresh();
}


/** Set by the bundle step in the kernel script: the bundle's LWP entry (CommonJS, scripts/bundle.mjs says why). */
declare const UKERN_TRAMPOLINE: string | undefined;
/** The LWP worker's entry, beside this module: in the bundle when the kernel was loaded from it. */
const TRAMPOLINE = new URL(typeof UKERN_TRAMPOLINE === 'string' ? UKERN_TRAMPOLINE : './trampoline.js', import.meta.url).href;

/** Milliseconds since the file was last written, or NaN when it is not there. */
function mtime(u: URL): number {
  try { return statSync(fileURLToPath(u)).mtimeMs; } catch { return NaN; }
}

/** Kernel threads whose bundle entry is CommonJS over the kernel script (scripts/bundle.mjs). */
const KTHREAD_CJS = new Set(['clockthread', 'intrthread', 'aiothread']);

/**
 * The module to start a kernel thread from. From the bundle (the kernel
 * loaded from build/bundle): the bundle's entry of that name, a CommonJS
 * file over the kernel script for the kernel threads of KTHREAD_CJS. From
 * the compiled tree: that bundle entry when the bundle step made it and it
 * is not older than this build of the kernel (a stale bundle could lay out
 * kernel memory differently), else the module itself.
 */
export function kernel_module_url(module: URL): URL {
  // From the module's own URL, not import.meta.url: this code may itself run
  // from a bundle (lwp0 starting the clock thread).
  const m = /^(.*\/build\/)(src\/(?:lwp|timers|intr|aio)|bundle)\/([a-z0-9]+)\.js$/.exec(module.href);
  if (m === null) return module;
  const name = m[3]!;
  const b = new URL(`${m[1]}bundle/${name}${KTHREAD_CJS.has(name) ? '.cjs' : '.js'}`);
  if (m[2] === 'bundle') return b;
  if (process.env.UKERN_NO_BUNDLE === '1') return module;
  return mtime(b) >= mtime(new URL(`${m[1]}src/kern/boot.js`)) ? b : module;
}

/**
 * Test hook: UKERN_KTHREAD_FAIL_UP=name:n[:exit] makes the first n kernel
 * workers of `name` this thread starts end before their first message (a
 * start that fails once the request was made: a module that does not load,
 * koffi failing in the thread, a worker out of memory). Their code throws
 * at its top level ('error', then 'exit'), or with `:exit` calls
 * process.exit(1) ('exit' alone). Read here, where the starter (the booting
 * thread directly, or lwp0) makes the worker, so it serves both; each
 * starter counts its own n.
 */
let failUp: { name: string; left: number; exit: boolean } | null | undefined;
function fail_up(name: string): string | undefined {
  if (failUp === undefined) {
    const m = /^([a-z0-9]+):(\d+)(:exit)?$/.exec(process.env.UKERN_KTHREAD_FAIL_UP ?? '');
    failUp = m === null ? null : { name: m[1]!, left: Number(m[2]), exit: m[3] !== undefined };
  }
  if (failUp === null || failUp.name !== name || failUp.left <= 0) return undefined;
  failUp.left--;
  return failUp.exit ? 'process.exit(1);'
    : `throw new Error(${JSON.stringify(`UKERN_KTHREAD_FAIL_UP: ${name} fails before it is up (test)`)});`;
}

/** Starts a kernel worker with the execArgv Worker accepts (per-process flags it names as invalid are dropped). */
function new_kernel_worker(module: URL, name: string): Worker {
  before_start();
  return worker_start(kernel_module_url(module), {
    workerData: { image: kernel_image(), trampoline: TRAMPOLINE },
    name: `ukern ${name}`,
  });
}

/**
 * Starts kernel thread `name` from this thread (which must live as long as
 * the process: the booting main thread, or lwp0). Its failure is reported,
 * as lwp0 reports its own. It keeps the process alive only until it says it
 * is up (its first message): a thread terminated while it loads a native
 * addon (koffi, for the clock thread's timer slack) can abort the whole
 * process (koffi's init throws into a dying environment: SIGABRT, seen when
 * a short program exited right after creating its first timer). So a
 * program that ends at once waits for that start, tens of ms, and no more.
 */
export function kernel_worker_start(module: URL, name: string, settled?: () => void): Worker {
  let once = settled;
  const up = (): void => { w.unref(); const f = once; once = undefined; f?.(); };
  const fail = fail_up(name);
  const w = fail === undefined ? new_kernel_worker(module, name) : worker_start(fail, { eval: true, name: `ukern ${name}` });
  // The failure is reported and given back by the starter's watch (kthread.ts kthread_watch).
  w.on('error', up);
  w.once('message', up);
  w.once('exit', up);
  return w;
}

/** Starts lwp0 now unless it runs (the first lwp_create, or the timer set at boot). */
export function lwp0_start(): void { if (lwp0 === undefined && port === undefined) start_lwp0(); }

let saidNoLwp0 = false;
/**
 * lwp0_start where a throw (new Worker: resources short) would fail what
 * does not depend on it: the prestart's timer (an uncaught exception, the
 * program's end) and a create whose LWP has its worker already (undone
 * then, under that worker). Said once; the next create (or kernel-thread
 * request) tries again, and LWPs' requests wait in their channels till then.
 */
function lwp0_try_start(): void {
  try {
    lwp0_start();
  } catch (e) {
    if (saidNoLwp0) return;
    saidNoLwp0 = true;
    console.error('ukern: lwp0 could not be started (the next lwp_create tries again):', e);
  }
}

on_boot(() => {
  // lwp_pool: 0 asks for no warm worker: nothing starts before the first create, lwp0 included.
  if (!kernel_image().prestart || kernel_image().tunables.lwp_pool === 0 || !is_main_thread()) return;
  host_setTimeout(() => { lwp0_try_start(); before_start(); const p = main_pool(); p.prestart(p.size); }, 0).unref();
});

/**
 * lwp0's code as CommonJS source, in the bundle's kernel script only
 * (scripts/bundle.mjs defines it; the kernel part it requires later is the
 * bundle's lwp0-kern.cjs, the kernel script's own instance). Why eval'd
 * CommonJS: lwp0 starts beside the first LWP's worker, and a worker whose
 * entry is an ES module file also starts Node's ES module loader (~3-5 ms of
 * CPU); measured, a sibling worker started that way delayed a kernel-loading
 * worker ~6.5 ms on 2 CPUs, an eval'd CommonJS one ~3.5 ms.
 */
declare const UKERN_LWP0_CJS: string | undefined;

function lwp0_worker(): Worker {
  if (typeof UKERN_LWP0_CJS !== 'string' || process.env.UKERN_NO_BUNDLE === '1') {
    return new_kernel_worker(new URL('./lwp0.js', import.meta.url), 'lwp0');
  }
  before_start();
  return worker_start(UKERN_LWP0_CJS, {
    eval: true,
    workerData: { image: kernel_image(), trampoline: TRAMPOLINE, kern: new URL('./lwp0-kern.cjs', import.meta.url).href },
    name: 'ukern lwp0',
  });
}

function start_lwp0(): void {
  lwp0 = lwp0_worker();
  lwp0.on('message', lwp0_refresh);
  // Without lwp0 no LWP can ever run again and their waiters would wait
  // forever: that is a kernel panic, and it ends the process.
  lwp0.on('error', (e) => {
    panic_mark(`lwp0 failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(PANIC_STATUS);
  });
  // After the listener: adding a 'message' listener refs the worker again.
  lwp0.unref();
  if (lwp0Ends.length > 0) send_lwp0_ends();
  on_panic_seen(lwp0_panic_seen);
}

/**
 * The booting thread saw a panic (kern/keepalive.ts watches the mark): it
 * looks at its hold on lwp0 again, PANIC_GRACE_MS later. It looked only
 * when lwp0 or a pool said something, and a panic raised in another thread
 * (a kernel thread's death, an LWP's panic) while LWPs lived outside the
 * kernel (plain JS, awaiting something not in the kernel) brought nothing
 * more from them: the process stayed alive for ever. Not at once: the
 * workers' own report of the panic (the line of an LWP that died in a
 * lock, an LWP's EIO it prints) comes through this thread's event loop,
 * and a process let go at the mark ended before it did; within the grace
 * a worker that ends is reaped (its output drained first), which looks
 * again by itself. Only the kernel's hold goes: a ref'd handle of the
 * program's own still keeps the process alive.
 */
function lwp0_panic_seen(): void {
  host_setTimeout(lwp0_refresh, PANIC_GRACE_MS).unref();
}
