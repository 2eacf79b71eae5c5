/**
 * Kernel panic: the one way the kernel declares itself unusable. A panic
 * marks H_PANIC, records which thread (lid or system id) caused it, prints
 * one message (only the first panic is printed), and then wakes everyone
 * who may be waiting on kernel state that will now never change (mutex
 * sleepers, sleep-queue sleepers, suspended LWPs, the main thread waiting
 * for process exit), so that they fail with EIO at once instead of hanging.
 *
 * It is separate from hdr.ts so that the wakers can be registered by the
 * modules that own the wait words (mutex.ts, sleepq.ts, lwp/) without hdr.ts
 * depending on any of them.
 */
import { I32, type KRegion } from './kmem.js';
import { cur, H_PANIC, H_PANIC_LID, SYSID_BASE, panic_status_set } from './hdr.js';
import { KernelPanicError } from './errno.js';
import { diag_publish, diag_publish_later, diag_listened, dc_panic } from './diag.js';

type Waker = () => void;
const wakers: Waker[] = [];

/** Registers a function run after every panic (in the panicking thread) to wake waiters. */
export function on_panic(fn: Waker): void { wakers.push(fn); }

let lastMsg = '';

/*
 * H_PANIC: 0 while the kernel is sound; PANIC_WRITING from the first
 * panic's claim (a compare-exchange: one thread wins) until its message is
 * in kernel memory, then PANIC_PUBLISHED. Both mean panicked (hdr.ts
 * panicked(): nonzero). A thread that met the mark before the message was
 * written gave "kernel panic (a kernel thread)" and no more (a kernel
 * thread's death, seen by a main thread whose kevent entered as the intr
 * thread died: test/kthread-dies, 1 run in 25 beside two CPU hogs).
 */
const PANIC_PUBLISHED = 1, PANIC_WRITING = 2;
/** How long panic_error waits for the message (the writer is between two stores; a page fault on this VM is ~13 us). */
const PANIC_WRITE_WAIT_MS = 100;

/*
 * The first panic's message, in kernel memory for every thread: word 0 its
 * length in UTF-16 code units (published last), then the code units two to
 * a word, cut at MSG_UNITS. Only the thread that panicked had it before, so
 * every other thread's EIO said "kernel panic (thread 1056964608)" and no
 * more (a kernel thread's death, the likeliest panic, is never in the
 * thread that then fails).
 */
export const PANIC_MSG_UNITS = 510;
/**
 * The region, made by boot.ts (kmem.ts imports this module, so a region
 * made here at load would meet kmem's classes not yet initialized).
 */
let msgRegion: KRegion | undefined;
export function panic_msg_region(r: KRegion): void { msgRegion = r; }
function msg_store(msg: string): void {
  if (msgRegion === undefined || I32.length <= msgRegion.base) return;
  const b = msgRegion.base, n = Math.min(msg.length, PANIC_MSG_UNITS);
  for (let i = 0; i < n; i += 2) I32[b + 1 + (i >> 1)] = msg.charCodeAt(i) | ((i + 1 < n ? msg.charCodeAt(i + 1) : 0) << 16);
  Atomics.store(I32, b, n);
}
function msg_load(): string {
  if (msgRegion === undefined || I32.length <= msgRegion.base) return '';
  const b = msgRegion.base, n = Atomics.load(I32, b);
  let s = '';
  for (let i = 0; i < n; i += 2) {
    const w = I32[b + 1 + (i >> 1)]!;
    s += String.fromCharCode(w & 0xffff);
    if (i + 1 < n) s += String.fromCharCode(w >>> 16);
  }
  return s;
}
/** Who panicked, as a reader of an error understands it. */
function who_text(who: number): string { return who >= SYSID_BASE ? 'a kernel thread' : `LWP ${who}`; }

/**
 * Marks the kernel panicked on behalf of thread `who` (default: the caller)
 * and wakes every waiter. Never throws. Returns the message of the first
 * panic (the one that was printed).
 */
export function panic_mark(msg: string, who: number = cur.lid): string {
  if (I32.length <= H_PANIC_LID) { console.error(`ukern: panic: ${msg}`); return msg; }
  if (Atomics.compareExchange(I32, H_PANIC, 0, PANIC_WRITING) === 0) {
    Atomics.store(I32, H_PANIC_LID, who);
    lastMsg = msg;
    msg_store(msg);
    Atomics.store(I32, H_PANIC, PANIC_PUBLISHED);
    console.error(`ukern: panic: ${msg}`);
  }
  Atomics.notify(I32, H_PANIC);
  for (const w of wakers) {
    try { w(); } catch { /* a waker must not stop the others */ }
  }
  // After the wakers: the subscribers are user code, and the waiters fail
  // with EIO whatever it does.
  panic_tell(false);
  return lastMsg || msg;
}

/** This thread has published the panic (ukern:panic). */
let told = false;
/**
 * Publishes the first panic on ukern:panic in this thread, once. Every
 * thread that meets it does (the one that raised it, and each thread whose
 * call fails with its EIO): the likeliest panic, a kernel thread's death,
 * is raised where no program can subscribe. `later`: from a microtask (a
 * call failing inside the kernel, perhaps under a lock).
 */
function panic_tell(later: boolean): void {
  if (told || !diag_listened(dc_panic)) return;
  told = true;
  const make = (): object => {
    const who = I32.length > H_PANIC_LID ? Atomics.load(I32, H_PANIC_LID) : 0;
    return { message: lastMsg || msg_load(), lid: who };
  };
  if (later) diag_publish_later(dc_panic, make); else diag_publish(dc_panic, make);
}

/** Panics (see {@link panic_mark}) and throws EIO for `syscall`. */
export function kpanic(msg: string, syscall = 'kernel'): never {
  const first = panic_mark(msg);
  throw new KernelPanicError(syscall, first, `kernel panic: ${msg}`);
}

/** The EIO every call gets once the kernel is panicked. */
export function panic_error(syscall: string): KernelPanicError {
  // The first panic's message is published with the mark: a thread that
  // met the mark while the panicking thread still writes the message waits
  // for it (microseconds; bounded, should that thread die meanwhile).
  if (I32.length > H_PANIC && Atomics.load(I32, H_PANIC) === PANIC_WRITING) Atomics.wait(I32, H_PANIC, PANIC_WRITING, PANIC_WRITE_WAIT_MS);
  const who = I32.length > H_PANIC_LID ? Atomics.load(I32, H_PANIC_LID) : 0;
  const msg = lastMsg || msg_load();
  panic_tell(true);
  return new KernelPanicError(syscall, msg, `kernel panic${who ? ` (${who_text(who)})` : ''}${msg ? `: ${msg}` : ''}`);
}

/** Throws EIO when the kernel is panicked. */
export function panic_check(syscall: string): void {
  if (I32.length > H_PANIC && Atomics.load(I32, H_PANIC) !== 0) throw panic_error(syscall);
}

/**
 * The booting thread (LWP 1: lwp/sys.ts at boot) ends with the panic's
 * status (70) whenever its kernel panicked, unless it has another non-zero
 * one. The status was set only where a thread saw the panic through a
 * kernel hold (keepalive.ts), lwp0 (lwp/spawn.ts) or its lwp_exit: a
 * program whose calls met the panic as a blocking call's EIO, which it
 * caught, or whose kernel panicked in another thread while it waited for
 * nothing, ended with 0, and its CI called that success. Looked at in the
 * thread's 'exit' event, which also sees an exit(0) (process.exit,
 * lwp_exit of the last LWP): a clean exit (no panic) keeps its status.
 */
export function panic_status_at_exit(): void {
  process.on('exit', () => {
    if (I32.length > H_PANIC && Atomics.load(I32, H_PANIC) !== 0) panic_status_set();
  });
}
