/**
 * The host's libc through koffi (an FFI package that ships prebuilt
 * binaries), opened once per thread, for the subsystems that make host calls
 * Node does not expose (timers/ffi.ts, intr/ffi.ts). Optional: on another OS,
 * a platform without a prebuilt binary, or with UKERN_NO_FFI=1, it is null
 * and each caller falls back or says so. Loaded lazily (createRequire: koffi
 * is CommonJS with a native addon), so threads that never need it do not pay
 * for it.
 */
import { createRequire } from 'node:module';
import { is_main_thread } from './host.js';
import { I32, kregion_create } from './kmem.js';

/** A libc function bound by its C signature. */
export type LibcFn = (...a: unknown[]) => unknown;
export interface Libc {
  /** Binds a function of libc by its C declaration. */
  func(sig: string): LibcFn;
  /** The calling thread's errno after the last call. */
  errno(): number;
  /** An ArrayBuffer over `len` bytes of native memory at pointer `ptr` (koffi.view; aio's io_uring rings). */
  view(ptr: unknown, len: number): ArrayBuffer;
  /** The address a pointer value holds (koffi.address). */
  address(ptr: unknown): bigint;
}

let libc: Libc | null | undefined;

/*
 * A thread must not be torn down while it loads koffi: the addon's init
 * treats the failing N-API calls of a terminating environment as fatal
 * (node-addon-api's ThrowAsJavaScriptException: "FATAL ERROR ... napi_throw")
 * and aborts the whole process. Node terminates every worker when the main
 * thread exits, and a kernel thread (the intr thread, an aio thread) or an
 * LWP that makes its first host call just then was seen to take the process
 * down after its work was done. So the threads attached to kernel memory
 * count their loads in progress in one word, and the main thread's 'exit'
 * waits (bounded) until none is under way (the LWP pool terminates a
 * worker only once its LWP is done).
 */
const loading = kregion_create('libc', () => 2);
/** How long the main thread's exit waits for loads in progress, ms (a load takes a few). */
const EXIT_WAIT_MS = 500;
function load_begin(): number {
  const w = loading.base;
  if (w !== 0) Atomics.add(I32, w, 1);
  return w;
}
function load_end(w: number): void {
  if (w === 0) return;
  Atomics.sub(I32, w, 1);
  Atomics.notify(I32, w);
}
// Registered in every thread, but only the main thread waits (whether it is
// one is asked at exit: nothing at load needs node:worker_threads).
process.on('exit', () => {
  const w = loading.base;
  if (w === 0 || !is_main_thread()) return;
  const until = Date.now() + EXIT_WAIT_MS;
  for (let n = Atomics.load(I32, w); n > 0 && Date.now() < until; n = Atomics.load(I32, w)) {
    Atomics.wait(I32, w, n, until - Date.now());
  }
});

/** This thread's libc, or null when host calls are unavailable. Never throws. */
export function libc_open(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux' || process.env.UKERN_NO_FFI === '1') return libc;
  const w = load_begin();
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(name: string): { func(sig: string): LibcFn }; errno(): number;
      view(ptr: unknown, len: number): ArrayBuffer; address(ptr: unknown): bigint;
    };
    const lib = koffi.load('libc.so.6');
    libc = {
      func: (sig) => lib.func(sig), errno: () => koffi.errno(),
      view: (ptr, len) => koffi.view(ptr, len), address: (ptr) => koffi.address(ptr),
    };
  } catch {
    libc = null;
  } finally {
    load_end(w);
  }
  return libc;
}

/** Functions bound by {@link libc_binder}, with the thread's errno. */
export type LibcBound<K extends string> = Readonly<Record<K, LibcFn>> & { errno(): number };

/**
 * What each host-call module does with libc, written once: a getter that
 * binds `sigs` (name -> C declaration) on this thread's libc at its first
 * call and gives the same bindings afterwards, or null when host calls are
 * unavailable or a declaration does not bind (the module then falls back or
 * says so). Never throws.
 */
export function libc_binder<K extends string>(sigs: Readonly<Record<K, string>>): () => LibcBound<K> | null {
  let bound: LibcBound<K> | null | undefined;
  return () => {
    if (bound !== undefined) return bound;
    bound = null;
    const lib = libc_open();
    if (lib === null) return bound;
    try {
      const out: Record<string, LibcFn> = {};
      for (const k of Object.keys(sigs) as K[]) out[k] = lib.func(sigs[k]);
      bound = Object.assign(out, { errno: () => lib.errno() }) as LibcBound<K>;
    } catch {
      bound = null;
    }
    return bound;
  };
}
