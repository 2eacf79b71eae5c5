/**
 * Kernel mutexes: futex-style words. The word holds 0 when free, else the
 * owner's id (a lid, or a helper thread's system id) with {@link M_WAITERS}
 * set when someone may be asleep on it. Uncontended enter and exit are one
 * compare-and-swap each. Held only for short bounded sections and never
 * while user code runs. The owner id lets the kernel tell that a thread died
 * holding a lock (see lwp/reaper.ts).
 */
import { I32 } from './kmem.js';
import { cur, panicked, H_PANIC_LID } from './hdr.js';
import { SysError } from './errno.js';
import { kstat_counter, kstat_add } from './kstat.js';

const C_SPUN = kstat_counter('kern', 'mutex_spun');     // contended, got it by spinning
const C_SLEPT = kstat_counter('kern', 'mutex_slept');   // contended, had to sleep

export const M_WAITERS = 0x40000000;

/**
 * Told when the calling thread goes to sleep on a contended mutex and when
 * it wakes: the LWP layer shows such an LWP as sleeping uninterruptibly
 * (lwp_wakeup answers EBUSY), as NetBSD does for an LWP on a turnstile.
 */
let sleepHook: ((asleep: boolean) => void) | undefined;
export function setMutexSleepHook(fn: (asleep: boolean) => void): void { sleepHook = fn; }
// Spin this many times before sleeping: a sleep costs a wake-up of ~25 us on
// this kind of VM, kernel critical sections last well under a microsecond.
const SPIN = 1000;

/** Acquires the mutex at word w. */
export function mutex_enter(w: number): void {
  if (Atomics.compareExchange(I32, w, 0, cur.lid) !== 0) mutexEnterSlow(w);
  I32[cur.nlocksw]++;
}

/** Tries once; true when acquired. */
export function mutex_tryenter(w: number): boolean {
  if (Atomics.compareExchange(I32, w, 0, cur.lid) !== 0) return false;
  I32[cur.nlocksw]++;
  return true;
}

/** Releases the mutex at word w, waking one waiter if any may sleep on it. */
export function mutex_exit(w: number): void {
  const me = cur.lid;
  I32[cur.nlocksw]--;
  if (Atomics.compareExchange(I32, w, me, 0) !== me) {
    Atomics.store(I32, w, 0);
    Atomics.notify(I32, w, 1);
  }
  if (nwake !== 0) flushWakes();
}

/*
 * Wake-ups chosen under a lock are delivered after it is released. A notify
 * that reaches a sleeping thread costs microseconds (a cross-CPU interrupt
 * on this kind of VM), and the woken thread's first act is often to take the
 * very lock its waker still held: notifying first made it spin and then
 * sleep on that lock, a second wake-up per hand-off. A notify that lands
 * after its sleeper has already gone (and its word was reused) is only a
 * spurious wake-up, which every wait loop in the kernel tolerates.
 */
const wakes = new Int32Array(64);
let nwake = 0;
/** Notifies word w (one waiter) when this thread next releases a kernel mutex. */
export function notify_after_unlock(w: number): void {
  if (nwake === wakes.length) flushWakes();
  wakes[nwake++] = w;
}
function flushWakes(): void {
  for (let i = 0; i < nwake; i++) Atomics.notify(I32, wakes[i]!, 1);
  nwake = 0;
}

function mutexEnterSlow(w: number): void {
  const me = cur.lid;
  for (let i = 0; i < SPIN; i++) {
    if (Atomics.load(I32, w) === 0 && Atomics.compareExchange(I32, w, 0, me) === 0) { kstat_add(C_SPUN); return; }
  }
  kstat_add(C_SLEPT);
  // Take it marked contended once we had to sleep for it: we cannot know
  // whether others still sleep, so our exit must notify.
  for (;;) {
    let v = Atomics.load(I32, w);
    if (v === 0) {
      if (Atomics.compareExchange(I32, w, 0, me | M_WAITERS) === 0) return;
      continue;
    }
    if ((v & M_WAITERS) === 0) {
      if (Atomics.compareExchange(I32, w, v, v | M_WAITERS) !== v) continue;
      v |= M_WAITERS;
    }
    // A bounded wait so that a lock left held by a dead thread is noticed.
    sleepHook?.(true);
    const r = Atomics.wait(I32, w, v, 1000);
    sleepHook?.(false);
    if (r === 'timed-out' && panicked()) {
      throw new SysError('EIO', 'mutex_enter', `kernel panic: LWP ${Atomics.load(I32, H_PANIC_LID)} died holding a kernel lock`);
    }
  }
}
