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
import { I32 } from './kmem.js';
import { cur, H_PANIC, H_PANIC_LID } from './hdr.js';
import { KernelPanicError } from './errno.js';
import { diag_publish, dc_panic } from './diag.js';

type Waker = () => void;
const wakers: Waker[] = [];

/** Registers a function run after every panic (in the panicking thread) to wake waiters. */
export function on_panic(fn: Waker): void { wakers.push(fn); }

let lastMsg = '';

/**
 * Marks the kernel panicked on behalf of thread `who` (default: the caller)
 * and wakes every waiter. Never throws. Returns the message of the first
 * panic (the one that was printed).
 */
export function panic_mark(msg: string, who: number = cur.lid): string {
  if (I32.length <= H_PANIC_LID) { console.error(`ukern: panic: ${msg}`); return msg; }
  if (Atomics.compareExchange(I32, H_PANIC, 0, 1) === 0) {
    Atomics.store(I32, H_PANIC_LID, who);
    lastMsg = msg;
    console.error(`ukern: panic: ${msg}`);
    diag_publish(dc_panic, () => ({ message: msg, lid: who }));
  }
  Atomics.notify(I32, H_PANIC);
  for (const w of wakers) {
    try { w(); } catch { /* a waker must not stop the others */ }
  }
  return lastMsg || msg;
}

/** Panics (see {@link panic_mark}) and throws EIO for `syscall`. */
export function kpanic(msg: string, syscall = 'kernel'): never {
  const first = panic_mark(msg);
  throw new KernelPanicError(syscall, first, `kernel panic: ${msg}`);
}

/** The EIO every call gets once the kernel is panicked. */
export function panic_error(syscall: string): KernelPanicError {
  const who = I32.length > H_PANIC_LID ? Atomics.load(I32, H_PANIC_LID) : 0;
  return new KernelPanicError(syscall, lastMsg, `kernel panic${who ? ` (thread ${who})` : ''}${lastMsg ? `: ${lastMsg}` : ''}`);
}

/** Throws EIO when the kernel is panicked. */
export function panic_check(syscall: string): void {
  if (I32.length > H_PANIC && Atomics.load(I32, H_PANIC) !== 0) throw panic_error(syscall);
}
