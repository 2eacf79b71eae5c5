/**
 * SIGEV_THREAD notification. POSIX runs the function "as if on a new
 * thread"; ukern runs it on the event loop of the thread that created the
 * timer (it is a JS closure and cannot move between threads), from a task
 * of that thread, never while the thread is inside the kernel.
 *
 * Each thread that creates SIGEV_THREAD timers owns a mailbox word in kernel
 * memory. A firing (clock thread, it_mutex held) whose pending count goes
 * from 0 to n bumps the mailbox and notifies it; the owner's loop, an
 * `Atomics.waitAsync` on that word, then takes every pending count of its
 * timers (overrun = pending - 1, as a signal delivery would) and calls each
 * function with sigev_value. timer_getoverrun() inside the function reports
 * that delivery's overrun.
 *
 * Liveness: while any of the thread's SIGEV_THREAD timers is armed or has
 * expirations to deliver, the thread's event loop is kept alive (as an active
 * setInterval would be). Arming such a timer from another thread than its
 * creator works, but only keeps the creator alive from its next delivery on.
 */
import { I32, defineStruct, kcacheCreate } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { hold } from '../kern/keepalive.js';
import { IT, IT_THREAD, itimer_set_notifier, itimer_take, f64get } from './itimer.js';

const MBOX = defineStruct('itimer.mbox', { seq: 'i32', owner: 'i32' });
const mboxes = kcacheCreate('itimer.mbox', MBOX, (t) => t.maxlwp! + 8);

itimer_set_notifier(IT_THREAD, {
  post(it: number): void {
    const m = I32[it + IT.mbox]!;
    if (m === 0) return;
    Atomics.add(I32, m + MBOX.F.seq, 1);
    Atomics.notify(I32, m + MBOX.F.seq);
  },
});

let myMbox = 0;
const local = new Map<number, (value: number) => void>();
let release: (() => void) | undefined;
let pumping = false;

/** This thread's mailbox (allocated on first use; 0 when the cache is exhausted). */
export function thread_mbox(): number {
  if (myMbox === 0) myMbox = mboxes.alloc();
  return myMbox;
}

/** Registers the function of a SIGEV_THREAD timer created by this thread. */
export function thread_register(it: number, fn: (value: number) => void): void {
  local.set(it, fn);
  if (!pumping) { pumping = true; void pump(); }
}

/** Forgets a timer (timer_delete in its creating thread). */
export function thread_unregister(it: number): void { local.delete(it); reeval(); }

function mine(it: number): boolean {
  return (I32[it + IT.flags]! & IT_THREAD) !== 0 && I32[it + IT.mbox] === myMbox;
}

/** Keeps the event loop alive exactly while one of this thread's timers may still deliver. */
export function reeval(): void {
  let live = false;
  for (const it of local.keys()) {
    if (mine(it) && (Atomics.load(I32, it + IT.armed) !== 0 || Atomics.load(I32, it + IT.pending) !== 0)) { live = true; break; }
  }
  if (live && release === undefined) release = hold();
  else if (!live && release !== undefined) { release(); release = undefined; }
}

async function pump(): Promise<void> {
  const w = myMbox + MBOX.F.seq;
  try {
    while (local.size > 0) {
      const seen = Atomics.load(I32, w);
      const calls: [(v: number) => void, number][] = [];
      for (const [it, fn] of local) {
        mutex_enter(it + IT.mutex);
        if (!mine(it)) { mutex_exit(it + IT.mutex); local.delete(it); continue; }
        const n = itimer_take(it);
        const v = f64get(it, IT.sigval);
        mutex_exit(it + IT.mutex);
        if (n > 0) calls.push([fn, v]);
      }
      for (const [fn, v] of calls) {
        try { fn(v); } catch (e) { process.nextTick(() => { throw e; }); }
      }
      reeval();
      if (local.size === 0) break;
      const r = Atomics.waitAsync(I32, w, seen);
      if (r.async) await r.value;
    }
  } finally {
    pumping = false;
    reeval();
  }
}
