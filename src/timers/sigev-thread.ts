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
 * A mailbox belongs to an LWP, not to its worker thread: it is taken on the
 * LWP's first SIGEV_THREAD timer_create and given back when the LWP exits
 * (itself, or on its behalf when its worker died); its timers then stay
 * (timers are the process's) but are disconnected, their mailbox word 0:
 * they count expirations that no thread will run, as POSIX leaves a
 * notification function whose thread is gone. A worker reused for another
 * LWP starts with no mailbox. So mailboxes come back: maxlwp + 8 of them
 * serve any number of LWPs over time.
 *
 * Liveness: while any of the thread's SIGEV_THREAD timers is armed or has
 * expirations to deliver, the thread's event loop is kept alive (as an active
 * setInterval would be). Arming such a timer from another thread than its
 * creator works, but only keeps the creator alive from its next delivery on.
 */
import { I32, define_struct, kcache_create, f64_get } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { hold } from '../kern/keepalive.js';
import { cur } from '../kern/hdr.js';
import { on_lwp_exit } from '../kern/proc.js';
import { IT, IT_THREAD, itimers, itimer_register_notifier, itimer_take } from './itimer.js';

// owner: the lid (or system id) of the thread's LWP that took it, 0 when free.
const MBOX = define_struct('itimer.mbox', { seq: 'i32', owner: 'i32' });
const mboxes = kcache_create('itimer.mbox', MBOX, (t) => t.maxlwp! + 8);

itimer_register_notifier(IT_THREAD, {
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
  if (myMbox === 0) {
    const m = mboxes.alloc();
    if (m !== 0) { Atomics.store(I32, m + MBOX.F.owner, cur.lid); myMbox = m; }
  }
  return myMbox;
}

/**
 * Disconnects every SIGEV_THREAD timer still bound to mailbox m (each under
 * its timer mutex, as the clock thread's post reads the word under it), then
 * frees m. No allocation and nothing that throws between enter and exit.
 */
function mbox_release(m: number): void {
  for (let i = 0; i < itimers.count; i++) {
    const it = itimers.handle(i);
    if ((I32[it + IT.flags]! & IT_THREAD) === 0 || I32[it + IT.mbox] !== m) continue;
    mutex_enter(it + IT.mutex);
    if ((I32[it + IT.flags]! & IT_THREAD) !== 0 && I32[it + IT.mbox] === m) I32[it + IT.mbox] = 0;
    mutex_exit(it + IT.mutex);
  }
  Atomics.store(I32, m + MBOX.F.owner, 0);
  Atomics.add(I32, m + MBOX.F.seq, 1);
  Atomics.notify(I32, m + MBOX.F.seq); // the owner's pump, if any, looks again and stops
  mboxes.free(m);
}

// An LWP that exits gives its mailbox back. In its own thread the local
// state goes too (the worker may run another LWP next); for a dead worker
// (lwp0 exits it on its behalf) the mailbox is found by owner.
on_lwp_exit((lid) => {
  if (lid === cur.lid) {
    const m = myMbox;
    if (m === 0) return;
    myMbox = 0;
    local.clear();
    mbox_release(m);
    reeval();
    return;
  }
  for (let i = 0; i < mboxes.count; i++) {
    const m = mboxes.handle(i);
    if (Atomics.load(I32, m + MBOX.F.owner) === lid) mbox_release(m);
  }
});

/** Registers the function of a SIGEV_THREAD timer created by this thread. */
export function thread_register(it: number, fn: (value: number) => void): void {
  local.set(it, fn);
  if (!pumping) { pumping = true; void pump(); }
}

/** Forgets a timer (timer_delete in its creating thread). */
export function thread_unregister(it: number): void { local.delete(it); reeval(); }

function mine(it: number): boolean {
  return myMbox !== 0 && (I32[it + IT.flags]! & IT_THREAD) !== 0 && I32[it + IT.mbox] === myMbox;
}

/** Notify functions whose timers do not keep the event loop alive (the class layer's Timer.unref()). */
const unrefd = new Set<(value: number) => void>();

/** Whether the SIGEV_THREAD timer notifying `fn` keeps this thread's event loop alive (default: yes, as Node's timers). */
export function thread_notify_ref(fn: (value: number) => void, ref: boolean): void {
  if (ref) unrefd.delete(fn); else unrefd.add(fn);
  reeval();
}

/** Keeps the event loop alive exactly while one of this thread's ref'd timers may still deliver. */
export function reeval(): void {
  let live = false;
  for (const [it, fn] of local) {
    if (unrefd.has(fn)) continue;
    if (mine(it) && (Atomics.load(I32, it + IT.armed) !== 0 || Atomics.load(I32, it + IT.pending) !== 0)) { live = true; break; }
  }
  if (live && release === undefined) release = hold();
  else if (!live && release !== undefined) { release(); release = undefined; }
}

async function pump(): Promise<void> {
  try {
    while (local.size > 0 && myMbox !== 0) {
      // Read each round: the mailbox is given back when the LWP exits, and
      // the worker's next LWP may take another.
      const w = myMbox + MBOX.F.seq;
      const seen = Atomics.load(I32, w);
      const calls: [(v: number) => void, number][] = [];
      for (const [it, fn] of local) {
        mutex_enter(it + IT.mutex);
        if (!mine(it)) { mutex_exit(it + IT.mutex); local.delete(it); continue; }
        const n = itimer_take(it);
        const v = f64_get(it, IT.sigval);
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
