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
import { cur } from './hdr.js';
import { lockdebug } from './lockdebug.js';
import { kpanic } from './panic.js';

/** A libc function bound by its C signature. */
export type LibcFn = (...a: unknown[]) => unknown;
export interface Libc {
  /** Binds a function of libc by its C declaration. */
  func(sig: string): LibcFn;
  /** The calling thread's errno after the last call. */
  errno(): number;
  /** An ArrayBuffer over `len` bytes of native memory at pointer `ptr` (koffi.view; aio's io_uring rings). Throws only while the process exits (host_enter). */
  view(ptr: unknown, len: number): ArrayBuffer;
  /** The address a pointer value holds (koffi.address). */
  address(ptr: unknown): bigint;
}

let libc: Libc | null | undefined;

/*
 * Host work and process exit. Node ends a process by terminating every
 * worker once the main thread's 'exit' listeners return, and then joins
 * them. Two kinds of host work go wrong if that lands in the middle:
 *
 *  - koffi's N-API work: loading the addon, binding a function (koffi sets
 *    properties on the function it makes), viewing native memory. In a
 *    terminating environment those N-API calls fail, and node-addon-api
 *    treats its own failing napi_throw as fatal ("FATAL ERROR:
 *    Error::ThrowAsJavaScriptException napi_throw"): the whole process
 *    aborts after its work was done. A worker binding functions in a loop
 *    took an exiting process down 8 times in 10. (A call of a bound
 *    function passes numbers and typed arrays: nothing there can fail; 12
 *    exits beside a worker looping on three bound calls, none aborted.)
 *  - a blocking host wait (an LWP's ppoll in a host wait, the intr thread's
 *    epoll_wait): termination cannot interrupt it, so Node's join waited
 *    for ever. A process calling process.exit() while an LWP waited in
 *    kevent on a pipe hung 12 times in 12.
 *
 * So a thread brackets such work with host_enter/host_leave, which count it
 * in one kernel word, and the main thread's 'exit' listener (1) sets the
 * exiting bit of that word, (2) runs the rousers the subsystems registered (each rings
 * the eventfds its blocking waits also wait on: intr/start.ts, intr/kick.ts)
 * and (3) waits, bounded, until the count is 0. A thread other than the
 * main one that enters, or leaves, while the process exits waits in
 * Atomics.wait for its termination instead (termination does interrupt
 * that). Count and bit share the word, so each side's one atomic operation
 * sees the other's: either the exit finds the thread counted and waits for
 * it, or the thread's increment returns the bit and it never starts (two
 * atomic operations per bracket). A rouser reads what it rings after the bit is set, and a
 * waiter publishes what it will wait on before it enters, so the same
 * holds for the rings: a wait that began is rung, one not begun never
 * begins. A ring is not always taken by the waiter it was meant for: an
 * LWP's kick eventfd sits in the kernel's epoll set, where any waiter of
 * the set may take it with its own (intr/kick.ts), and that waiter rings
 * it again only once its wait has returned, which its host_leave, parking
 * here first, forestalled: with several LWPs in kevent's host wait, the
 * first one woken took the others' kicks and parked, and they slept on
 * (test/intr-exit-waiters). So a thread that parks on leaving runs the
 * rousers again before it parks: whatever rings it took are rung anew,
 * and the last waiter still in the host is rung by the last one to park
 * (a parked thread takes nothing more).
 */
const guard = kregion_create('libc', () => 1);
/** The one word: host work in progress (a count), with G_EXITING once the process exits. */
const G_EXITING = 0x40000000;
/** How long the main thread's exit waits for host work in progress, ms (a load takes a few, a rung wait microseconds). */
const EXIT_WAIT_MS = 500;
const rousers: (() => void)[] = [];
/** Registers what wakes this subsystem's blocking host waits at process exit (run on the main thread, after the exiting bit is set). */
export function host_exit_rouser(fn: () => void): void { rousers.push(fn); }

/** A thread past its usefulness at process exit: waits for the termination that is coming. */
function await_termination(): never {
  const never = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(never, 0, 0);
}

/**
 * Begins host work that must not be cut by termination (see above). Returns
 * the token for {@link host_leave}: the word (counted), 0 (not counted: no
 * kernel attached, or the main thread, which is not terminated), or -1: the
 * process exits and this thread holds kernel locks, so the work must not
 * be done (the caller fails it: host calls unavailable) and the thread goes
 * on to release them. A thread other than the main one that holds none
 * never returns once the process exits: it waits for its termination.
 */
export function host_enter(): number {
  const w = guard.base;
  if (w === 0) return 0;
  if ((Atomics.add(I32, w, 1) & G_EXITING) === 0) return w;
  Atomics.sub(I32, w, 1);
  Atomics.notify(I32, w);
  if (is_main_thread()) return 0;
  // Parked with a lock held, it could keep the main thread's later 'exit'
  // listeners (which may make syscalls) from it for ever.
  if (I32[cur.nlocksw]! !== 0) return -1;
  return await_termination();
}
/** Ends host work begun by {@link host_enter}; once the process exits, a thread other than the main one that holds no kernel lock rings the rousers again (it may have taken others' rings: above) and stays here. */
export function host_leave(w: number): void {
  if (w <= 0) return;
  if ((Atomics.sub(I32, w, 1) & G_EXITING) === 0) return;
  Atomics.notify(I32, w);
  if (is_main_thread() || I32[cur.nlocksw]! !== 0) return;
  rouse();
  await_termination();
}
/** Runs every rouser (a ring that fails: the main thread's wait for the count is bounded). */
function rouse(): void {
  for (const fn of rousers) { try { fn(); } catch { /* the bounded wait */ } }
}
// Registered in every thread, but only the main thread acts (whether it is
// one is asked at exit: nothing at load needs node:worker_threads).
process.on('exit', () => {
  const w = guard.base;
  if (w === 0 || !is_main_thread()) return;
  Atomics.or(I32, w, G_EXITING);
  rouse();
  const until = Date.now() + EXIT_WAIT_MS;
  for (let v = Atomics.load(I32, w); v !== G_EXITING && Date.now() < until; v = Atomics.load(I32, w)) {
    Atomics.wait(I32, w, v, until - Date.now());
  }
});

/** This thread's libc, or null when host calls are unavailable. Never throws (but, under LOCKDEBUG, panics when called with a kernel lock held: below). */
export function libc_open(): Libc | null {
  if (libc !== undefined) return libc;
  // Never under a kernel lock: loading koffi takes milliseconds (everyone
  // who needs the lock waits them out), and a load that fails leaves the
  // caller nothing to call there. Callers load before they lock
  // (intr/hostwait.ts intr_host_load); LOCKDEBUG holds them to it.
  if (lockdebug && I32[cur.nlocksw]! !== 0) load_locked_panic();
  libc = null;
  if (process.platform !== 'linux' || process.env.UKERN_NO_FFI === '1') return libc;
  const w = host_enter();
  if (w < 0) return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(name: string): { func(sig: string): LibcFn }; errno(): number;
      view(ptr: unknown, len: number): ArrayBuffer; address(ptr: unknown): bigint;
    };
    const lib = koffi.load('libc.so.6');
    libc = {
      func: (sig) => guarded(() => lib.func(sig)), errno: () => koffi.errno(),
      view: (ptr, len) => guarded(() => koffi.view(ptr, len)), address: (ptr) => koffi.address(ptr),
    };
  } catch {
    libc = null;
  } finally {
    host_leave(w);
  }
  return libc;
}
function load_locked_panic(): never {
  kpanic(`lockdebug: the host calls (koffi) loaded with ${I32[cur.nlocksw]} kernel lock(s) held\n${new Error('loaded here').stack ?? ''}`, 'lockdebug');
}
/** Runs koffi's N-API work f between host_enter and host_leave. */
function guarded<T>(f: () => T): T {
  const w = host_enter();
  if (w < 0) throw new Error('ukern: the process is exiting');
  try { return f(); } finally { host_leave(w); }
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
