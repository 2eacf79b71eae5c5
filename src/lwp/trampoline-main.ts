/**
 * The body of every LWP worker thread (its entry, trampoline.ts or the
 * bundle's, calls trampoline_start once). It attaches to kernel memory, tells
 * lwp0 it is ready, and then runs LWPs one after another: bind to the LWP,
 * wait while it is suspended, import the module and call the start function
 * with its argument; when that returns or its Promise settles (or throws),
 * the LWP exits as by lwp_exit. The worker then goes back to the pool,
 * unless the LWP left work behind in this thread (timers, sockets, ports
 * listening, pending kernel waits) that would run under the next LWP, or an
 * uncaught error ended it while its start function was still suspended (it
 * could resume later, under the next LWP): then it is retired, as a plain
 * worker's thread would have ended with that work.
 */
import type { MessagePort } from 'node:worker_threads';
import { worker_threads } from '../kern/host.js';
import { attach, type KernelImage } from '../kern/boot.js';
import { cur, H_SCRATCH } from '../kern/hdr.js';
import { LW_THREW, lwp_byid } from './lwp.js';
import { sq_abandon_thread, sq_thread_abandoned } from '../kern/sleepwait.js';
import { lwp_bind, lwp_startup, lwp_halt, lwp_exit_common, lwp_orphan_sleepers } from './ops.js';
import { spawn_set_lwp0_port } from './spawn.js';
import { lwp_reap_dead } from './reap.js';
import { LwpExit, exited_self } from './exit.js';
import { WS_STARTING, WS_IDLE, WS_GONE, type RunRequest, type WorkerReport } from './pool.js';
import { start_importer, type ModuleImporter } from './start-import.js';

// The channel to the pool's owner (workerData.port); requests to lwp0 go on
// workerData.lwp0 when the owner is the main thread, else on this one.
let port: MessagePort;
/** This worker's state word, shared with the pool's owner (pool.ts). */
let state: Int32Array;
/** How the entry imports a start module (import() resolves from the file that calls it). */
let importer: ModuleImporter;
const START_IMPORT = Symbol.for('ukern.start_import');

/**
 * Attaches this worker to kernel memory and starts serving run requests.
 * `importer` is the entry's own `(s) => import(s)`.
 */
export function trampoline_start(imp: (specifier: string) => Promise<unknown>): void {
  const d = worker_threads().workerData as { image: KernelImage; port: MessagePort; lwp0?: MessagePort; state: Int32Array };
  importer = start_importer(imp, import.meta.url);
  // Offered to start modules that load another (the class layer's start
  // shim, ukern/lwp-start.ts, which loads no kernel code to import this).
  (globalThis as { [START_IMPORT]?: ModuleImporter })[START_IMPORT] = importer;
  port = d.port;
  state = d.state;
  attach(d.image);
  spawn_set_lwp0_port(d.lwp0 ?? port);
  process.on('uncaughtException', on_uncaught);
  process.on('exit', on_exit);
  process.on('unhandledRejection', (e) => {
    console.error(`ukern: unhandled rejection in LWP ${cur.lid || '(none)'}:`, e);
  });
  port.on('message', (m: RunRequest) => {
    if (m.t === 'run') void run(m);
  });
  ownPorts = ports_listed();
  Atomics.compareExchange(state, 0, WS_STARTING, WS_IDLE); // fails when already given an LWP
  post({ t: 'ready' });
}

/** This worker is free again (or must not be reused): the state word first, then the owner's bookkeeping. */
function done(lid: number, reusable: boolean): void {
  Atomics.store(state, 0, reusable ? WS_IDLE : WS_GONE);
  post({ t: 'idle', lid, reusable });
}

function post(m: WorkerReport): void { port.postMessage(m); }

function on_uncaught(e: unknown): void {
  if (e instanceof LwpExit) return; // lwp_exit() unwound through a callback: already exited
  const lid = cur.lid;
  console.error(`ukern: uncaught exception in LWP ${lid || '(none)'}:`, e);
  // The start function has not settled (finish would have unbound the LWP):
  // it may resume at any later event, and nothing here can cancel it. In a
  // worker of its own an uncaught error would end the thread, and that
  // function with it: so does this one, retired (not reused) once the LWP
  // has exited.
  if (cur.lwp !== 0) finish(LW_THREW, true);
}

/*
 * process.exit() in an LWP ends the worker: its LWP exits as LW_DIED here,
 * synchronously, before the thread goes (the pool's owner reaps it too, from
 * the worker's 'exit' event, but the owner may be the main thread, blocked
 * in the kernel waiting for this very LWP).
 */
function on_exit(): void {
  if (running !== 0 && cur.lwp !== 0 && !exited_self()) lwp_reap_dead(cur.lid);
}

/**
 * The run whose LWP this worker is bound to (a serial of this worker's
 * runs), 0 when none. Each run finishes its LWP only while it is still the
 * current one: a start function that settles after its LWP was ended for it
 * (an uncaught error) must not end the LWP bound after it.
 */
let running = 0;
let runs = 0;
/** MessagePorts the trampoline itself keeps listening (its channel to the pool's owner), as Node lists them. */
let ownPorts = 0;

function ports_listed(): number {
  let n = 0;
  for (const r of process.getActiveResourcesInfo()) if (r === 'MessagePort') n++;
  return n;
}

/**
 * Whether the thread holds work of the LWP that would run under the next
 * one: whatever keeps the event loop alive (Node lists what is ref'd:
 * timers, immediates, handles, requests), but the trampoline's own ports
 * and a close in progress. A ref'd port the LWP left listening (a
 * MessagePort or BroadcastChannel with a handler: Node lists both as
 * MessagePort) is work too: it would deliver its next message to that
 * handler, under whichever LWP runs then. One more is not: a worker's
 * stdout and stderr write to the parent thread on a port of Node's own,
 * ref'd while a write waits for the parent to take it (as long as the
 * parent does not turn its event loop: the main thread may be blocked in
 * lwp_wait). Counted, any LWP that printed just before it ended (3 % of the
 * test suite's LWPs) would cost the next create a worker start.
 */
function left_behind(): boolean {
  let ports = 0;
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'MessagePort') ports++;
    else if (r !== 'CloseReq') return true;
  }
  if (ports <= ownPorts) return false;
  const stdio = process.stdout.writableLength > 0 || process.stderr.writableLength > 0 ? 1 : 0;
  return ports > ownPorts + stdio;
}

/**
 * Start modules this worker has imported, by href. A warm worker that runs
 * the same module again calls its export at once: import() of a module
 * already loaded still resolves it through the loader and settles a
 * Promise (~8-10 us of an lwp_create -> running of ~40 us, measured).
 */
const loaded = new Map<string, Record<string, unknown>>();
async function load(href: string): Promise<Record<string, unknown>> {
  const mod = (await importer(href)) as Record<string, unknown>;
  loaded.set(href, mod);
  return mod;
}

async function run(req: RunRequest): Promise<void> {
  const h = lwp_byid(req.lid);
  if (h === 0) { done(req.lid, true); return; }
  const me = running = ++runs;
  lwp_bind(h);
  lwp_startup(h);
  lwp_halt(); // created LWP_SUSPENDED: wait here for lwp_continue
  let flags = 0;
  try {
    const mod = loaded.get(req.module) ?? await load(req.module);
    const fn = mod[req.exp];
    if (typeof fn !== 'function') throw new TypeError(`lwp_create: ${req.module} has no function export '${req.exp}'`);
    await (fn as (a: unknown) => unknown)(req.arg);
  } catch (e) {
    if (!(e instanceof LwpExit)) {
      flags = LW_THREW;
      console.error(`ukern: LWP ${req.lid} start function threw:`, e);
    }
  }
  if (running === me) finish(flags);
}

/**
 * Ends the current LWP (unless lwp_exit already did) and returns the worker
 * to its pool; `abandoned`: its start function has not settled, and the
 * worker is retired.
 */
function finish(flags: number, abandoned = false): void {
  running = 0;
  const h = cur.lwp, lid = cur.lid;
  if (h === 0) return;
  if (!exited_self()) {
    // Pending async waits leave their queues (and are freed) before the LWP
    // goes: their continuations must not run under the next LWP.
    if (lwp_orphan_sleepers(h) > 0) sq_abandon_thread();
    lwp_exit_common(h, lid, flags);
  }
  const busy = abandoned || left_behind();
  cur.lid = 0; cur.lwp = 0; cur.nlocksw = H_SCRATCH; cur.sparew = 0;
  exited_self(false);
  done(lid, !busy && !sq_thread_abandoned());
}

