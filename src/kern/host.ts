/**
 * Node builtins the kernel needs only on some paths, loaded when first used
 * rather than at the kernel's load (issue 11: `import('ukern/sys')` + boot +
 * port_create must cost little beyond Node itself).
 *
 * Why. In a fresh main thread `node:worker_threads` costs ~1.5-1.8 ms to
 * load (it pulls in the streams, ~1 ms of it), a BroadcastChannel ~0.6 ms
 * more, and `node:v8` ~1.5 ms (the streams again, for its heap snapshots);
 * a program that imports the kernel, makes a port and exits needs none of
 * them. In a worker thread worker_threads is already loaded by Node's
 * worker bootstrap, so there its accessors cost nothing.
 *
 * `is_main_thread()` answers without loading the module on the main thread:
 * every worker has `worker_threads` in `process.moduleLoadList` before its
 * first line runs (Node's worker bootstrap loads it), so a thread where it
 * is absent is the main thread; where it is present (any worker, or a main
 * thread whose program loaded it) the module is read, at no cost. Without
 * `moduleLoadList` (another runtime) the module is simply loaded.
 * test/startup-host.test.ts checks both answers and that an import of the
 * kernel, boot and port_create load neither module in the main thread.
 *
 * The SAB channel of the class layer (ports/msg-codec.ts opens
 * `BroadcastChannel('ukern:sab')` at load, so that a thread listens before
 * any other posts a SharedArrayBuffer it must receive): `BroadcastChannel`
 * here is that channel opened lazily in the main thread. The host channel is
 * made at its first use in this thread (a post, a synchronous receive) or
 * before the kernel starts its first worker thread (`host_threads_coming`,
 * called by every kernel Worker start, lwp/execargv.ts), whichever comes
 * first: a post on it can only come from another thread, and before the
 * main thread's first Worker start there is none (LWP workers are the only
 * posters, and all descend from it). In any other thread it is opened at
 * once, as before.
 */
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import type * as V8 from 'node:v8';
import type * as Fs from 'node:fs';

type WT = typeof WorkerThreads;

const load: (id: string) => unknown =
  typeof process.getBuiltinModule === 'function' ? (id) => process.getBuiltinModule(id) : createRequire(import.meta.url);

/** A Node builtin by id (process.getBuiltinModule where Node has it). */
export function host_builtin(id: string): unknown { return load(id); }

// Through require, not an ES import: where this module runs as an ES module
// (the compiled tree), an ES import of node:fs builds its ESM facade, which
// reads every export and loads the streams (~1-2 ms of a fresh thread).
const { writeSync } = load('node:fs') as typeof Fs;

/*
 * The host's timer functions as they were when the kernel loaded. An LWP
 * worker's trampoline replaces the global ones (and node:timers' exports)
 * with run-scoped ones, whose callbacks never run once the LWP that
 * scheduled them is done (lwp/trampoline-main.ts): the kernel's timers of
 * the whole thread (the clock-stats bridge, a signal's retry, the
 * keepalive, the pool's refill and sweep) belong to no LWP and must keep
 * running whichever LWP the worker runs, so the kernel schedules them here.
 * The kernel loads before the trampoline runs, in both the compiled tree
 * and the bundle.
 */
export const host_setTimeout = globalThis.setTimeout;
export const host_clearTimeout = globalThis.clearTimeout;
export const host_setInterval = globalThis.setInterval;
export const host_clearInterval = globalThis.clearInterval;
/**
 * The longest delay host_setTimeout keeps: Node fires a longer one after 1 ms
 * (and prints a TimeoutOverflowWarning on the program's stderr). A kernel
 * timer that waits longer waits this long and looks again.
 */
export const HOST_TIMEOUT_MAX_MS = 0x7fffffff;
export const host_setImmediate = globalThis.setImmediate;
export const host_clearImmediate = globalThis.clearImmediate;

let wt: WT | undefined;
/** node:worker_threads, loaded at the first call. */
export function worker_threads(): WT { return (wt ??= load('node:worker_threads') as WT); }

let v8m: typeof V8 | undefined;
/** node:v8, loaded at the first call (~1.5 ms of a fresh main thread: it loads the streams too). */
export function v8_module(): typeof V8 { return (v8m ??= load('node:v8') as typeof V8); }

let main: boolean | undefined;
/** Whether this is the process's main thread (node:worker_threads' isMainThread), without loading the module there. */
export function is_main_thread(): boolean {
  if (main !== undefined) return main;
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  main = Array.isArray(list) && !list.includes('NativeModule worker_threads') ? true : worker_threads().isMainThread;
  return main;
}

/* ---- the lazily opened BroadcastChannel (see the header) */

const deferred = new Set<BroadcastChannel>();
let threadsComing = false;

/** The kernel is about to start a worker thread: open the channels the main thread deferred. */
export function host_threads_coming(): void {
  if (threadsComing) return;
  threadsComing = true;
  for (const c of deferred) c.real();
  deferred.clear();
}

/** A BroadcastChannel whose host channel may be opened at its first use (the members msg-codec.ts uses). */
export class BroadcastChannel {
  private ch: WorkerThreads.BroadcastChannel | undefined;
  private handler: ((ev: unknown) => void) | null = null;
  private refd = true;

  constructor(readonly name: string) {
    if (threadsComing || !is_main_thread()) this.real();
    else deferred.add(this);
  }

  /** The host channel, opened now if it was not. */
  real(): WorkerThreads.BroadcastChannel {
    if (this.ch !== undefined) return this.ch;
    deferred.delete(this);
    const ch = new (worker_threads().BroadcastChannel)(this.name);
    if (this.handler !== null) (ch as { onmessage: unknown }).onmessage = this.handler;
    if (!this.refd) (ch as unknown as { unref(): void }).unref();
    return (this.ch = ch);
  }

  get onmessage(): ((ev: unknown) => void) | null { return this.handler; }
  set onmessage(fn: ((ev: unknown) => void) | null) {
    this.handler = fn;
    if (this.ch !== undefined) (this.ch as { onmessage: unknown }).onmessage = fn;
  }

  unref(): void {
    this.refd = false;
    if (this.ch !== undefined) (this.ch as unknown as { unref(): void }).unref();
  }

  postMessage(m: unknown): void { this.real().postMessage(m); }
}

/** receiveMessageOnPort of node:worker_threads; a {@link BroadcastChannel} of this module is taken as its host channel. */
export function receiveMessageOnPort(p: WorkerThreads.MessagePort | BroadcastChannel): { message: unknown } | undefined {
  const port = p instanceof BroadcastChannel ? p.real() : p;
  return worker_threads().receiveMessageOnPort(port as WorkerThreads.MessagePort);
}

const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
/**
 * Adds 1 to eventfd fd's counter, through Node's fs.writeSync (loaded by
 * Node's bootstrap: no FFI, so any thread can, at process exit too). Never
 * throws: a counter that cannot take more has a wake-up pending already, and
 * one that is gone has nobody to wake.
 */
export function eventfd_ring(fd: number): void {
  try { writeSync(fd, ONE); } catch { /* full, or gone */ }
}
