/**
 * Sleep queues. A sleeping LWP waits on the wait word of its own sleep-queue
 * entry (a "sleeper"); whoever wakes it chooses it, unlinks it under the
 * object's lock and changes that word, so exactly the chosen LWPs are
 * notified. Wait lists are two words (head, tail) inside the object that
 * owns them: a condition variable is just such a list plus the object lock.
 *
 * The wait word moves once from SQ_SLEEPING to its outcome by compare-and-swap:
 * SQ_WOKEN (a waker, holding the object lock, unlinked it), SQ_INTR
 * (lwp_wakeup or a close, without the object lock) or SQ_TIMEDOUT (the
 * sleeper itself). A sleeper that did not end SQ_WOKEN unlinks itself under
 * the object lock when it returns, so wake-ups never go to a departed
 * sleeper and none are lost.
 *
 * Entries are ordered by a priority (lower first, FIFO among equals): ports
 * use the number of events wanted so that the waiter wanting fewest is
 * served first.
 */
import { I32, define_struct, kcache_create } from './kmem.js';
import { mutex_enter, mutex_exit, notify_after_unlock } from './mutex.js';
import { mono_now } from './time.js';
import { cur, panicked } from './hdr.js';
import { hold } from './keepalive.js';
import { fail } from './errno.js';
import { on_panic, panic_error } from './panic.js';
import { mutex_class } from './lockdebug.js';
import { TailQ } from './queue.js';

export const SQ_SLEEPING = 0, SQ_WOKEN = 1, SQ_INTR = 2, SQ_TIMEDOUT = 3;
/**
 * Made runnable without a wake-up (NetBSD's setrunnable of an interruptible
 * sleeper, by lwp_suspend): settled like SQ_INTR (the sleeper unlinks
 * itself), but its syscall returns normally.
 */
export const SQ_UNSLEPT = 4;
/** Sleeper flags. */
export const SQF_INTERRUPTIBLE = 1, SQF_ASYNC = 2;
/** Set while the entry is allocated (a free entry's first word is the free-list link). */
const SQF_LIVE = 0x100;

export const SLEEPER = define_struct('sleeper', {
  wait: 'i32',   // the wait word (SQ_*)
  lwp: 'i32',    // handle of the sleeping LWP (0 for a helper thread)
  next: 'i32', prev: 'i32',
  list: 'i32',   // word index of the list head it is on, 0 when unlinked
  prio: 'i32',
  flags: 'i32',
  lnext: 'i32',  // chain of an LWP's async sleepers (under the LWP lock)
  wmesg: 'i32',  // what it waits for (WMESG_*), for the LWP snapshot
  arg: 'i32',    // per-use word (ports: events wanted)
  lid: 'i32',    // lid of the sleeping LWP (its slot may be reused after it exits)
  lockw: 'i32',  // word of the object lock guarding the list (for orphan cleanup)
  wlist: 'i32',  // the list it was enqueued on (kept after unlink)
});
const S = SLEEPER.F;
/** A sleep queue: a two-word head (first, last) anywhere in an object (its list word L), sleepers linked through next/prev, kept in priority order. */
const SQ = new TailQ(0, 1, S.next, S.prev);

export const sleepers = kcache_create('sleeper', SLEEPER, (t) => t.maxlwp! + t.async_sleepers! + 8);
mutex_class('sleeper', sleepers, { field: S.arg });

/**
 * Hooks through which the LWP layer learns of sleeps (state SLEEP, wmesg,
 * interruptibility) and suspends a sleeper in place. Installed by lwp/.
 */
export interface SleepHooks {
  /** The calling LWP starts a sync sleep on sl. */
  enter(sl: number): void;
  /** The sleep is over (returns to ONPROC). */
  leave(sl: number): void;
  /**
   * Clears the calling LWP's pending-interrupt flag (set by lwp_wakeup) and
   * says whether it was set: an interrupt aimed at a sleep that had just
   * ended is not lost but ends the next interruptible sleep, as NetBSD's
   * LW_CANCELLED does.
   */
  consume_cancel(): boolean;
  /** Non-zero when the calling LWP must suspend (or stop) before going on. */
  must_halt(): boolean;
  /** Blocks (sync) while the calling LWP is suspended. */
  halt(): void;
  /** Awaits (async) while the calling LWP is suspended. */
  haltAsync(): Promise<void>;
  /** Registers / unregisters an async sleeper with its LWP, so lwp_wakeup can reach it. */
  asyncEnter(sl: number): void;
  asyncLeave(sl: number): void;
}
let hooks: SleepHooks | undefined;
export function sq_set_sleep_ops(h: SleepHooks): void { hooks = h; }

/**
 * Work a blocked thread does itself while nobody else can (the timers' bridge
 * until the clock thread runs, timers/clockstats.ts): `next()` is when it is
 * due (ns, mono_now; Infinity: nothing, the usual case, one atomic load), and a
 * sleep in sq_block lasts no longer than that before calling `run()`. Both
 * are called with the object lock dropped and check themselves that the
 * thread holds no other kernel lock.
 */
export interface SleepIdle { next(): number; run(): void }
let idle: SleepIdle | undefined;
export function sq_set_idle_ops(i: SleepIdle): void { idle = i; }

/**
 * The same for a thread that polls the kernel (a zero timeout) holding no
 * kernel lock: while the clock thread is not running yet, it runs what is
 * due, so that a thread that arms timers and then only polls still sees them
 * fire (one call and a load once the clock thread runs).
 */
export function sq_poll_idle(): void {
  if (idle === undefined) return;
  const due = idle.next();
  if (due !== Infinity && due <= mono_now()) idle.run();
}

/** Takes a sleeper for the calling thread (EAGAIN when the table is full). */
export function sq_alloc(flags: number, wmesg: number, syscall: string): number {
  const sl = sleepers.alloc();
  if (sl === 0) fail('EAGAIN', syscall, 'no free sleep-queue entries');
  I32[sl + S.lwp] = cur.lwp;
  I32[sl + S.lid] = cur.lid;
  I32[sl + S.flags] = flags | SQF_LIVE;
  I32[sl + S.wmesg] = wmesg;
  return sl;
}
export function sq_free(sl: number): void { I32[sl + S.flags] = 0; sleepers.free(sl); }

/**
 * After a panic no waker may ever come: interrupt every sleeper (the wait
 * word changes, so a sleeper about to wait cannot miss it); each sees the
 * panic when it wakes and fails with EIO.
 */
on_panic(() => {
  for (let i = 0; i < sleepers.count; i++) {
    const sl = sleepers.handle(i);
    if ((I32[sl + S.flags]! & SQF_LIVE) === 0) continue;
    if (Atomics.compareExchange(I32, sl + S.wait, SQ_SLEEPING, SQ_INTR) === SQ_SLEEPING) Atomics.notify(I32, sl + S.wait);
  }
});

/** Enqueues sl on the list at word L (object lock held). */
export function sq_enqueue(L: number, sl: number, prio = 0): void {
  // Atomic: ordered against a panic's scan (which interrupts every sleeper).
  Atomics.store(I32, sl + S.wait, SQ_SLEEPING);
  I32[sl + S.prio] = prio;
  I32[sl + S.list] = L;
  I32[sl + S.wlist] = L;
  // Walk back from the tail past entries of higher priority value.
  let after = SQ.tail(L);
  while (after !== 0 && I32[after + S.prio]! > prio) after = SQ.before(after);
  if (after === 0) SQ.insert_head(L, sl); else SQ.insert_after(L, after, sl);
}

/** Unlinks sl from its list (object lock held). */
export function sq_unlink(sl: number): void {
  const L = I32[sl + S.list]!;
  if (L === 0) return;
  SQ.remove(L, sl);
  I32[sl + S.list] = 0;
}

/**
 * Wakes sl if it is still asleep: unlinks it and sets SQ_WOKEN (object lock
 * held). The notify goes out when the caller releases that lock.
 */
export function sq_wake(sl: number): boolean {
  sq_unlink(sl);
  if (Atomics.compareExchange(I32, sl + S.wait, SQ_SLEEPING, SQ_WOKEN) !== SQ_SLEEPING) return false;
  const lid = I32[sl + S.lid]!;
  // Delivered when the caller drops the object lock. Not for a synchronous
  // sleeper of the calling thread itself: that thread is running this, not
  // waiting (a getter in its deadline-aware wait that fired its own timer,
  // ports/dwait.ts), and the notify would cost its event ~0.5 us of V8's
  // futex table for nobody. An async sleeper (waitAsync) needs it.
  if (lid !== cur.lid || lid <= 0 || (I32[sl + S.flags]! & SQF_ASYNC) !== 0) notify_after_unlock(sl + S.wait);
  sq_last_woken.lid = lid;
  return true;
}

/**
 * The LWP this thread last woke: it is about to run even though its state
 * still reads SLEEP, so the adaptive spin (kern/spin.ts) counts it as active;
 * that is what lets a ping-pong between two LWPs enter the spinning regime.
 */
export const sq_last_woken = { lid: 0 };

/** Wakes the first sleeper on list L; false when none was asleep (object lock held). */
export function sq_wake_one(L: number): boolean {
  for (let sl = I32[L]; sl !== 0; sl = I32[L]) if (sq_wake(sl)) return true;
  return false;
}

/** Wakes every sleeper on list L; returns how many (object lock held). */
export function sq_wake_all(L: number): number {
  let n = 0;
  for (let sl = I32[L]; sl !== 0; sl = I32[L]) if (sq_wake(sl)) n++;
  return n;
}

/** First sleeper on list L, or 0. */
export function sq_first(L: number): number { return SQ.head(L); }
export function sq_next(sl: number): number { return SQ.after(sl); }
export function sq_lwp(sl: number): number { return I32[sl + S.lwp]; }
export function sq_arg(sl: number): number { return I32[sl + S.arg]; }
export function sq_setarg(sl: number, v: number): void { I32[sl + S.arg] = v; }
export function sq_wmesg(sl: number): number { return I32[sl + S.wmesg]; }
export function sq_flags(sl: number): number { return I32[sl + S.flags]; }
export function sq_lid(sl: number): number { return I32[sl + S.lid]; }
export function sq_lnext(sl: number): number { return I32[sl + S.lnext]; }
export function sq_setlnext(sl: number, v: number): void { I32[sl + S.lnext] = v; }

/** Interrupts sl (lwp_wakeup, close): no object lock needed. */
export function sq_interrupt(sl: number): boolean {
  if (Atomics.compareExchange(I32, sl + S.wait, SQ_SLEEPING, SQ_INTR) !== SQ_SLEEPING) return false;
  Atomics.notify(I32, sl + S.wait, 1);
  return true;
}

/** Ends sl's sleep with {@link SQ_UNSLEPT} (no object lock needed). */
export function sq_unsleep(sl: number): boolean {
  if (Atomics.compareExchange(I32, sl + S.wait, SQ_SLEEPING, SQ_UNSLEPT) !== SQ_SLEEPING) return false;
  Atomics.notify(I32, sl + S.wait, 1);
  return true;
}

/** Nudges a sleeper to look at its LWP's flags (suspend requests) without ending its sleep. */
export function sq_kick(sl: number): void { Atomics.notify(I32, sl + S.wait, 1); }

/** Optional spin before sleeping: spin while `active()` says the other side may soon wake us. */
export interface SpinPolicy {
  budgetNs: number;
  active?: () => boolean;
  /**
   * Optional (kernel monotonic ns): sleep until this time first, then spin
   * (budgetNs / active() as usual), then sleep until the deadline. A wake-up
   * ends any of the three phases. This is the deadline-aware wait for an
   * event known to be due soon after `sleepUntil` (a timer feeding a port):
   * a blocked thread needs ~25-30 µs to wake on this kind of VM, a spinning
   * one sees the wake at once, and the sleep keeps the spin short.
   * Absent or in the past: spin at once (the behaviour without the field).
   */
  sleepUntil?: number;
  /**
   * Loads of the wait word between looks at the clock and active(), a power
   * of two (default 64). The deadline-aware wait uses fewer: it runs the due
   * callouts itself from active(), and every look saved there is time its
   * event waits.
   */
  stride?: number;
}

/**
 * Blocks the calling thread on sl, enqueued on a list guarded by the mutex
 * at word `lock`, which the caller holds. Releases the lock while asleep and
 * holds it again on return — except that with `norelock` a woken sleeper
 * returns without it. `deadline` is kernel monotonic ns (Infinity: none). Returns the outcome (SQ_WOKEN, SQ_INTR or SQ_TIMEDOUT).
 */
export function sq_block(sl: number, lock: number, deadline: number, spin?: SpinPolicy, norelock = false): number {
  const w = sl + S.wait;
  const h = hooks;
  I32[sl + S.lockw] = lock;
  mutex_exit(lock);
  // Mark the LWP asleep after dropping the object lock, to keep that lock's
  // hold time (and its contention with the waker) short.
  h?.enter(sl);
  const intr = (I32[sl + S.flags] & SQF_INTERRUPTIBLE) !== 0;
  if (intr && h !== undefined && h.consume_cancel()) Atomics.compareExchange(I32, w, SQ_SLEEPING, SQ_INTR);
  let v = Atomics.load(I32, w);
  if (v === SQ_SLEEPING && spin !== undefined) {
    if (spin.sleepUntil !== undefined) v = sleep_first(w, Math.min(spin.sleepUntil, deadline), h, intr);
    if (v === SQ_SLEEPING && spin.budgetNs > 0) v = spin_wait(w, spin, deadline);
  }
  while (v === SQ_SLEEPING) {
    if (panicked()) break;
    if (h !== undefined && intr && h.must_halt()) { h.halt(); v = Atomics.load(I32, w); continue; }
    const due = idle !== undefined ? idle.next() : Infinity;
    if (due < deadline) {
      const now = mono_now();
      if (due <= now) idle!.run();
      else Atomics.wait(I32, w, SQ_SLEEPING, (due - now) / 1e6);
    } else if (deadline !== Infinity) {
      const left = deadline - mono_now();
      if (left <= 0) {
        v = Atomics.compareExchange(I32, w, SQ_SLEEPING, SQ_TIMEDOUT);
        if (v === SQ_SLEEPING) v = SQ_TIMEDOUT;
        break;
      }
      Atomics.wait(I32, w, SQ_SLEEPING, left / 1e6);
    } else {
      Atomics.wait(I32, w, SQ_SLEEPING);
    }
    v = Atomics.load(I32, w);
  }
  // Kernel state this sleep waited on will never change: fail, without the lock.
  if (panicked()) throw panic_error('sleep');
  // A woken sleeper was unlinked by its waker; when the caller has nothing
  // to re-check it need not take the lock again (that would only make it
  // contend with the waker, which often still holds it).
  if (v === SQ_INTR) h?.consume_cancel();
  if (v === SQ_WOKEN && norelock) { h?.leave(sl); return v; }
  mutex_enter(lock);
  if (v !== SQ_WOKEN) sq_unlink(sl);
  h?.leave(sl);
  return v;
}

/** The first phase of a SpinPolicy with sleepUntil: a timed sleep that a wake-up ends early. */
function sleep_first(w: number, until: number, h: SleepHooks | undefined, intr: boolean): number {
  let v = Atomics.load(I32, w);
  while (v === SQ_SLEEPING) {
    if (h !== undefined && intr && h.must_halt()) { h.halt(); v = Atomics.load(I32, w); continue; }
    const left = until - mono_now();
    if (left <= 0) break;
    Atomics.wait(I32, w, SQ_SLEEPING, left / 1e6);
    v = Atomics.load(I32, w);
  }
  return v;
}

function spin_wait(w: number, spin: SpinPolicy, deadline: number): number {
  const end = Math.min(mono_now() + spin.budgetNs, deadline);
  const mask = (spin.stride ?? 64) - 1;
  let i = 0;
  for (;;) {
    const v = Atomics.load(I32, w);
    if (v !== SQ_SLEEPING) return v;
    if ((++i & mask) === 0) {
      if (mono_now() >= end) return v;
      if (spin.active !== undefined && !spin.active()) return v;
    }
  }
}

/**
 * A sleep that times out at once, through every phase of sq_block (the
 * sleep-first and spin phases, the idle hook, the wait loop), on a sleeper
 * of its own guarded by a lock word inside it and enqueued on no list:
 * nothing else sees it. For warming the code of a fresh thread (timers'
 * first timer_create); uninterruptible, so no pending interrupt is consumed.
 */
export function sq_warm(): void {
  const sl = sq_alloc(0, 0, 'sq_warm');
  const lock = sl + S.arg;
  I32[lock] = 0;
  mutex_enter(lock);
  const now = mono_now();
  sq_block(sl, lock, now, { budgetNs: 1, sleepUntil: now - 1, active: () => false });
  mutex_exit(lock);
  I32[lock] = 0;
  sq_free(sl);
}

/**
 * The Promise form of {@link sq_block}, in two halves. sq_sleep_async
 * releases `lock` (held by the caller) and resolves with the outcome once
 * the sleep is over, without the lock; the caller must then call
 * {@link sq_relock} in the same synchronous continuation. The halves are
 * split because between an async function's return and its caller's
 * continuation other microtasks of this thread may run, e.g. another async
 * sleeper of the same object resuming: had the lock been taken before that
 * gap, that sleeper would block on a lock its own thread holds. Never
 * blocks the event loop; keeps the process alive while pending.
 */
let abandoned = false;
/**
 * This thread's LWP has exited with async sleeps still pending, and those
 * sleepers were orphaned and freed: their continuations must never touch
 * kernel memory again. The thread is retired (never reused for another LWP).
 */
export function sq_abandon_thread(): void { abandoned = true; }
export function sq_thread_abandoned(): boolean { return abandoned; }
const never = (): Promise<never> => new Promise<never>(() => {});

export async function sq_sleep_async(sl: number, lock: number, deadline: number): Promise<number> {
  const w = sl + S.wait;
  const h = hooks;
  I32[sl + S.lockw] = lock;
  h?.asyncEnter(sl);
  mutex_exit(lock);
  const intr = (I32[sl + S.flags] & SQF_INTERRUPTIBLE) !== 0;
  if (intr && h !== undefined && h.consume_cancel()) Atomics.compareExchange(I32, w, SQ_SLEEPING, SQ_INTR);
  const release = hold();
  let v = Atomics.load(I32, w);
  try {
    while (v === SQ_SLEEPING) {
      if (h !== undefined && intr && h.must_halt()) { await h.haltAsync(); v = Atomics.load(I32, w); continue; }
      let timeout: number | undefined;
      if (deadline !== Infinity) {
        const left = deadline - mono_now();
        if (left <= 0) {
          v = Atomics.compareExchange(I32, w, SQ_SLEEPING, SQ_TIMEDOUT);
          if (v === SQ_SLEEPING) v = SQ_TIMEDOUT;
          break;
        }
        timeout = left / 1e6;
      }
      if (panicked()) break;
      const r = Atomics.waitAsync(I32, w, SQ_SLEEPING, timeout);
      if (r.async) await r.value;
      if (abandoned) { release(); return never(); }
      v = Atomics.load(I32, w);
    }
  } finally {
    release();
  }
  if (panicked()) throw panic_error('sleep');
  return v;
}

/** Second half of an async sleep: takes the object lock again and settles the sleeper. Returns the outcome. */
export function sq_relock(sl: number, lock: number, v: number, norelock = false): number {
  if (v === SQ_INTR) hooks?.consume_cancel();
  if (v === SQ_WOKEN && norelock) { hooks?.asyncLeave(sl); return v; }
  mutex_enter(lock);
  if (v !== SQ_WOKEN) sq_unlink(sl);
  hooks?.asyncLeave(sl);
  return v;
}

/**
 * Detaches a sleeper whose thread will not come back for it (its LWP exited
 * with an async wait pending, or its worker died): interrupts it, unlinks it
 * under its object lock, and if a waker had already chosen it, passes that
 * wake-up on to the next sleeper so that none is lost. Does not free it.
 */
export function sq_orphan(sl: number): void {
  sq_interrupt(sl);
  const lock = I32[sl + S.lockw];
  if (lock === 0) return;
  mutex_enter(lock);
  if (I32[sl + S.list] !== 0) sq_unlink(sl);
  else if (Atomics.load(I32, sl + S.wait) === SQ_WOKEN && I32[sl + S.wlist] !== 0) sq_wake_one(I32[sl + S.wlist]);
  mutex_exit(lock);
}
