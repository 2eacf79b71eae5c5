/**
 * Kernel mutexes: futex-style words. The word holds 0 when free, else the
 * owner's id (a lid, or a helper thread's system id) with {@link M_WAITERS}
 * set when someone may be asleep on it. Uncontended enter and exit are one
 * compare-and-swap each. Held only for short bounded sections and never
 * while user code runs. The owner id lets the kernel tell that a thread died
 * holding a lock (lwp/lwp0.ts), and a thread that tries to take a mutex it
 * already holds is a kernel panic rather than a silent self-deadlock. After
 * a panic every thread asleep on a mutex is woken (the word it published,
 * below) and gets EIO.
 */
import { I32, SAB, kregion_create } from './kmem.js';
import { cur, panicked, SYSID_BASE } from './hdr.js';
import { kpanic, on_panic, panic_error } from './panic.js';
import { kstat_counter, kstat_add } from './kstat.js';
import { lockdebug, lockdebug_enter, lockdebug_exit } from './lockdebug.js';
import { eventfd_ring } from './host.js';

const C_SPUN = kstat_counter('kern', 'mutex_spun');     // contended, got it by spinning
const C_SLEPT = kstat_counter('kern', 'mutex_slept');   // contended, had to sleep

export const M_WAITERS = 0x40000000;

/**
 * Told when the calling thread goes to sleep on a contended mutex and when
 * it wakes: the LWP layer shows such an LWP as sleeping uninterruptibly
 * (lwp_wakeup answers EBUSY), as NetBSD does for an LWP on a turnstile.
 */
let sleepHook: ((asleep: boolean) => void) | undefined;
export function mutex_set_sleep_hook(fn: (asleep: boolean) => void): void { sleepHook = fn; }
// Spin this many times before sleeping: a sleep costs a wake-up of ~25 us on
// this kind of VM, kernel critical sections last well under a microsecond.
const SPIN = 1000;

/** Acquires the mutex at word w. */
export function mutex_enter(w: number): void {
  if (lockdebug) lockdebug_enter(w, false);
  const me = cur.lid;
  if (Atomics.compareExchange(I32, w, 0, me) !== 0 || me === 0) mutex_enter_slow(w);
  I32[cur.nlocksw]++;
}

/** Tries once; true when acquired. */
export function mutex_tryenter(w: number): boolean {
  if (cur.lid === 0) no_owner(w);
  if (Atomics.compareExchange(I32, w, 0, cur.lid) !== 0) return false;
  if (lockdebug) lockdebug_enter(w, true);
  I32[cur.nlocksw]++;
  return true;
}

/** Releases the mutex at word w, waking one waiter if any may sleep on it. */
export function mutex_exit(w: number): void {
  const me = cur.lid;
  if (lockdebug) lockdebug_exit(w);
  I32[cur.nlocksw]--;
  const v = Atomics.compareExchange(I32, w, me, 0);
  if (v !== me) {
    // Contended: the word holds our id with M_WAITERS. Anything else is a
    // release by a thread that does not hold the mutex, which would free
    // another thread's lock: a kernel bug, caught here rather than as a
    // corrupted structure later.
    if (v !== (me | M_WAITERS)) not_owner(w, v);
    Atomics.store(I32, w, 0);
    Atomics.notify(I32, w, 1);
  }
  if (nwake !== 0) flush_wakes();
}

function not_owner(w: number, v: number): never {
  I32[cur.nlocksw]++; // undo: this thread released nothing
  kpanic(`mutex_exit: thread ${cur.lid} released the kernel mutex at word ${w}, which ${v === 0 ? 'nobody' : `thread ${v & ~M_WAITERS}`} holds`, 'mutex_exit');
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
/**
 * Notifies word w (one waiter) when this thread next releases a kernel
 * mutex; w = -(fd + 1) rings eventfd fd instead (a sleeper waiting in the
 * host: sleepq.ts sq_host_kick).
 */
export function notify_after_unlock(w: number): void {
  if (nwake === wakes.length) flush_wakes();
  wakes[nwake++] = w;
}
function flush_wakes(): void {
  for (let i = 0; i < nwake; i++) {
    const w = wakes[i]!;
    if (w >= 0) Atomics.notify(I32, w, 1); else eventfd_ring(-w - 1);
  }
  nwake = 0;
}

/*
 * Owner id 0 means "free": a thread without one (a pool worker between two
 * LWPs, whose event loop may still run callbacks its last LWP left behind)
 * would "take" a free mutex by writing 0 into it, i.e. take nothing, and run
 * its critical section beside the real owner. That corrupted the callout
 * heap once (a count of -1): such a call is a kernel bug, and a panic.
 */
function no_owner(w: number): never {
  kpanic(`mutex_enter: a thread with no owner id (no LWP, not a kernel thread) tried to take the kernel mutex at word ${w}`, 'mutex_enter');
}

function mutex_enter_slow(w: number): void {
  const me = cur.lid;
  if (me === 0) no_owner(w);
  if (((Atomics.load(I32, w) & ~M_WAITERS) === me) && me !== 0) {
    kpanic(`mutex_enter: thread ${me} tried to take the kernel mutex at word ${w}, which it already holds`, 'mutex_enter');
  }
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
    // A panic wakes the word published here (see below); the bound only
    // covers a panic that lands between this check and the wait.
    const slot = mwait_slot();
    if (slot !== 0) Atomics.store(I32, slot, w);
    if (panicked()) { if (slot !== 0) Atomics.store(I32, slot, 0); throw panic_error('mutex_enter'); }
    sleepHook?.(true);
    Atomics.wait(I32, w, v, PANIC_BACKSTOP_MS);
    sleepHook?.(false);
    if (slot !== 0) Atomics.store(I32, slot, 0);
    if (panicked()) throw panic_error('mutex_enter');
  }
}
const PANIC_BACKSTOP_MS = 1000;

/*
 * Who sleeps on which mutex, for the panic's wake-up: a thread that sleeps
 * on a contended mutex publishes the word in a slot of its own (the
 * 'mwait' region: word 0 counts the slots handed out, then one word per
 * thread, 0 while it is not asleep on a mutex). A thread claims its slot at
 * its first such sleep and keeps it for its life (a pool worker for every
 * LWP it runs). After a panic each published word is notified: a sleeper
 * that published its word before the panic flag was set is notified, one
 * that looks at the flag after publishing sees it (both sides are
 * sequentially consistent), and the backstop covers the one notify that
 * can land before its wait begins. A process that has had more sleeping
 * threads than slots falls back to scanning the whole of kernel memory,
 * as every panic did before (48 MiB by default: ~150-200 ms, where the
 * slots take microseconds).
 */
const MW_SLOTS = 1024;
const mwait = kregion_create('mwait', () => 1 + MW_SLOTS);
/** This thread's slot word; 0 before its first sleep, -1 when none was left. */
let myslot = 0;
function mwait_slot(): number {
  if (myslot > 0) return myslot;
  if (myslot < 0 || mwait.words === 0) return 0;
  const i = Atomics.add(I32, mwait.base, 1);
  myslot = i < MW_SLOTS ? mwait.base + 1 + i : -1;
  return myslot > 0 ? myslot : 0;
}

/**
 * After a panic: notify the word each sleeping thread published (above).
 * Past the slots, notify every word of kernel memory that looks like a
 * contended mutex (M_WAITERS set, an owner id in range); a word that only
 * looks like one gets a spurious notify, which no one waits for.
 */
on_panic(() => {
  const claimed = mwait.words === 0 ? Infinity : Atomics.load(I32, mwait.base);
  if (claimed <= MW_SLOTS) {
    for (let i = 1; i <= claimed; i++) {
      const w = Atomics.load(I32, mwait.base + i);
      if (w !== 0) Atomics.notify(I32, w);
    }
    return;
  }
  const n = SAB.byteLength >> 2;
  const hi = SYSID_BASE + 0x10000;
  for (let i = 0; i < n; i++) {
    const v = I32[i]!;
    if ((v & M_WAITERS) === 0) continue;
    const o = v & ~M_WAITERS;
    if (o > 0 && o < hi) Atomics.notify(I32, i);
  }
});
