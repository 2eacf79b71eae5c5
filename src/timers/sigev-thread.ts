/**
 * SIGEV_THREAD notification of timers, a consumer of the thread mailbox
 * (kern/mailbox.ts, which says how a function reaches its thread's event
 * loop, why the mailbox is the LWP's and when it is given back).
 *
 * A timer created with SIGEV_THREAD is bound to its creating thread's
 * mailbox (it_mbox holds the binding). A firing (clock thread, it_mutex
 * held) whose pending count goes from 0 to n posts the binding; the owner's
 * pump then has this module take every pending count of the thread's timers
 * (overrun = pending - 1, as a signal delivery would) and call each function
 * with sigev_value. timer_getoverrun() inside the function reports that
 * delivery's overrun.
 *
 * When the mailbox is given back (its LWP exited), the timers bound to it
 * stay (timers are the process's) but are disconnected, it_mbox 0: they
 * count expirations that no thread will run, as POSIX leaves a notification
 * function whose thread is gone. (A post racing with that finds the
 * mailbox's generation moved on and does nothing.)
 *
 * Liveness: while any of the thread's ref'd SIGEV_THREAD timers is armed or
 * has expirations to deliver, the thread's event loop is kept alive (as an
 * active setInterval would be). The creator re-evaluates that at its own
 * calls and after each delivery round; a timer_settime or timer_delete made
 * by another thread posts the creator's mailbox (thread_changed), so that
 * its pump runs a round and looks again. Without the post, a timer disarmed
 * or deleted by another thread kept its creator's loop alive for ever (no
 * expiry would come to run the round; test/timers-thread-foreign).
 */
import { user_rethrow } from '../kern/errno.js';
import { I32, f64_get } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import {
  mbox_consumer_register, mbox_mine, mbox_held, mbox_post, mbox_watch, mbox_reeval,
} from '../kern/mailbox.js';
import { IT, IT_THREAD, itimers, itimer_register_notifier, itimer_take } from './itimer.js';

itimer_register_notifier(IT_THREAD, {
  post(it: number): void { mbox_post(I32[it + IT.mbox]!); },
});

/** This thread's timers with their functions (timer handle -> function). */
const local = new Map<number, (value: number) => void>();
/** Notify functions whose timers do not keep the event loop alive (the class layer's Timer.unref()). */
const unrefd = new Set<(value: number) => void>();

function mine(it: number): boolean {
  const b = mbox_held();
  return b !== 0 && (I32[it + IT.flags]! & IT_THREAD) !== 0 && I32[it + IT.mbox] === b;
}

/** Sets it_mbox 0 if timer `it` is still bound to `b` (under its it_mutex, which the clock thread's post holds). */
function disconnect(it: number, b: number): void {
  if ((I32[it + IT.flags]! & IT_THREAD) === 0 || I32[it + IT.mbox] !== b) return;
  mutex_enter(it + IT.mutex);
  if ((I32[it + IT.flags]! & IT_THREAD) !== 0 && I32[it + IT.mbox] === b) I32[it + IT.mbox] = 0;
  mutex_exit(it + IT.mutex);
}

mbox_consumer_register('timer', {
  deliver(): boolean {
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
      try { fn(v); } catch (e) { user_rethrow(e); }
    }
    return local.size > 0;
  },
  live(): boolean {
    for (const [it, fn] of local) {
      if (unrefd.has(fn) || !mine(it)) continue;
      if (Atomics.load(I32, it + IT.armed) !== 0 || Atomics.load(I32, it + IT.pending) !== 0) return true;
    }
    return false;
  },
  released(b: number, own: boolean): void {
    if (own) {
      // Every timer this thread bound is in `local` (a timer deleted meanwhile
      // has no IT_THREAD, a reused handle another binding): O(its timers).
      for (const it of local.keys()) disconnect(it, b);
      local.clear();
      return;
    }
    for (let i = 0; i < itimers.count; i++) disconnect(itimers.handle(i), b);
  },
});

/** This thread's mailbox binding (taken on first use; 0 when every mailbox is taken). */
export function thread_mbox(): number { return mbox_mine(); }

/** Registers the function of a SIGEV_THREAD timer created by this thread. */
export function thread_register(it: number, fn: (value: number) => void): void {
  local.set(it, fn);
  mbox_watch();
}

/**
 * Forgets a timer being deleted, whose mailbox binding was `b` (read under
 * its it_mutex): in its creating thread, and in another (thread_changed).
 */
export function thread_unregister(it: number, b: number): void {
  local.delete(it);
  thread_changed(b);
}

/**
 * A SIGEV_THREAD timer bound to `b` (its it_mbox, read under its it_mutex)
 * was armed or disarmed: its creator's keepalive is re-evaluated, here when
 * this thread is the creator, else by a post that runs the creator's pump.
 */
export function thread_changed(b: number): void {
  if (b !== 0 && b !== mbox_held()) mbox_post(b);
  else mbox_reeval();
}

/** Whether the SIGEV_THREAD timer notifying `fn` keeps this thread's event loop alive (default: yes, as Node's timers). */
export function thread_notify_ref(fn: (value: number) => void, ref: boolean): void {
  if (ref) unrefd.delete(fn); else unrefd.add(fn);
  mbox_reeval();
}

/** Keeps the event loop alive exactly while something of this thread's mailbox may still deliver. */
export function reeval(): void { mbox_reeval(); }
