/**
 * The sleeper's side of the sleep queues (sleepq.ts holds the queues, the
 * sleeper entries and the wakers' side): how a thread waits on its wait word
 * until a waker, an interrupt or its deadline settles it, in the blocking
 * form (sq_block: optional sleep-first and spin phases, the idle hook, the
 * wait loop) and the Promise form (sq_sleep_async + sq_relock), and the
 * hooks through which the LWP layer sees those sleeps. Apart from sleepq.ts
 * because the two meet only at the wait word and the list: wakers never run
 * any of this, and nothing here changes a list except the sleeper's own
 * unlink after a sleep that did not end SQ_WOKEN.
 */
import { I32 } from './kmem.js';
import { mutex_enter, mutex_exit } from './mutex.js';
import { mono_now } from './time.js';
import { panicked } from './hdr.js';
import { hold } from './keepalive.js';
import { panic_error } from './panic.js';
import { sysent_sleep_begin, sysent_sigsleep, sysent_sigintr, ps_combine } from './sysent.js';
import { SLEEPER, SQ_SLEEPING, SQ_KICKED, SQ_WOKEN, SQ_INTR, SQ_TIMEDOUT, SQF_INTERRUPTIBLE, SQF_ASYNC, sq_alloc, sq_free, sq_unlink, sq_end, sq_asleep } from './sleepq.js';

const S = SLEEPER.F;

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
   * says whether it was set (SQC_CANCELLED), or else, when a sleep begins,
   * whether a signal is deliverable (SQC_SIGNAL): an interrupt aimed at a
   * sleep that had just ended is not lost but ends the next interruptible
   * sleep, as NetBSD's LW_CANCELLED does. 0: neither.
   */
  consume_cancel(start: boolean): number; // start: a sleep begins (a pending signal ends it at once); false: it ended interrupted
  /**
   * Sets the flag consume_cancel took again: the sleep that took it had
   * ended otherwise first (a waker chose it between the drop of the object
   * lock and the look at the flag), so the interrupt is the next sleep's.
   */
  cancel_again(): void;
  /** Non-zero when the calling LWP must suspend (or stop) before going on. */
  must_halt(): boolean;
  /** Runs what another thread nudged the calling LWP for, if it did (lwp_nudge); the sleep goes on. */
  nudged(): void;
  /** Blocks (sync) while the calling LWP is suspended. */
  halt(): void;
  /** Awaits (async) while the calling LWP is suspended. */
  haltAsync(): Promise<void>;
  /** Registers / unregisters an async sleeper with its LWP, so lwp_wakeup can reach it. */
  asyncEnter(sl: number): void;
  asyncLeave(sl: number): void;
}
/** What {@link SleepHooks.consume_cancel} found: the pending interrupt (taken), a deliverable signal (left pending). */
export const SQC_CANCELLED = 1, SQC_SIGNAL = 2;
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
export interface SleepIdle {
  /**
   * The next callout deadline (Infinity: none). `busy`: when this sleeper
   * expects to be woken for its own sake at the latest (its timeout, or a
   * deadline-aware wait's sleep end; Infinity: no such time; 0 for a
   * poll), so that work the hook would do here (the clock thread's
   * deferred start) waits for a sleep in which neither is due yet.
   */
  next(busy: number): number;
  run(): void;
}
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
  const due = idle.next(0); // a poll has no room for anything but what is due
  if (due !== Infinity && due <= mono_now()) idle.run();
}

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

/** What {@link HostWait.wait} saw: the object's descriptor ready, the kick eventfd rung (bits; 0: the time passed). */
export const HW_READY = 1, HW_KICK = 2;

/**
 * A sleep in the host instead of on the wait word: the sleeper blocks in
 * the host on the descriptor its event will come from and on its kick
 * eventfd, so an OS event wakes it directly (one hop), where otherwise the
 * intr thread is woken first and then wakes it (two; ports/hostwait.ts has
 * the figures). Every other waker rings the kick eventfd, which the sleeper
 * publishes in its entry while it waits (sleepq.ts sq_host_kick). Given by
 * the caller of sq_block (ports/getn.ts, for a port's PORT_SOURCE_FD
 * association); the phases before the wait loop (sleep-first, spin) do not
 * combine with it.
 */
export interface HostWait {
  /** The calling thread's kick eventfd. */
  readonly kick: number;
  /**
   * Blocks up to ns (Infinity: no limit): HW_READY | HW_KICK bits, 0 when
   * the time passed (or the wait did not start: `word`, the sleeper's wait
   * word, which the caller has just seen SQ_SLEEPING, may be read again),
   * -1 when the host failed.
   */
  wait(ns: number, word: number): number;
  /** Resets the kick eventfd. */
  drain(): void;
  /**
   * The descriptor looked ready: queue the event it means, if any (no lock
   * held; it may wake this very sleeper). Called whenever wait() said
   * HW_READY, also when the sleeper was woken meanwhile. False when there was none of
   * ours: the rest of the sleep is on the wait word (no busy loop on a
   * descriptor ready for someone else).
   */
  ready(): boolean;
}

/**
 * Waits on sl's wait word for up to ns (Infinity: none), or in the host
 * when `host` is given. Returns the HostWait to use for the next wait
 * (undefined once the host wait has been given up).
 */
function wait_word(sl: number, w: number, ns: number, host: HostWait | undefined): HostWait | undefined {
  if (host === undefined) {
    if (ns === Infinity) Atomics.wait(I32, w, SQ_SLEEPING); else Atomics.wait(I32, w, SQ_SLEEPING, ns / 1e6);
    return undefined;
  }
  // Publish the kick eventfd, then look at the word: a waker changes the
  // word, then reads the eventfd (sleepq.ts): one of us sees the other.
  Atomics.store(I32, sl + S.hostfd, host.kick + 1);
  if (Atomics.load(I32, w) !== SQ_SLEEPING) { Atomics.store(I32, sl + S.hostfd, 0); return host; } // ended, or kicked: the caller looks
  const r = host.wait(ns, w);
  Atomics.store(I32, sl + S.hostfd, 0);
  if (r < 0) return undefined;
  if ((r & HW_KICK) !== 0) host.drain();
  // Ready is always handled, woken or not: the host wait may hold what it
  // must finish (the epoll set's waiter count: intr/hostwait.ts).
  if ((r & HW_READY) !== 0 && !host.ready() && sq_asleep(Atomics.load(I32, w))) return undefined;
  return host;
}

/**
 * Blocks the calling thread on sl, enqueued on a list guarded by the mutex
 * at word `lock`, which the caller holds. Releases the lock while asleep and
 * holds it again on return — except that with `norelock` a woken sleeper
 * returns without it. `deadline` is kernel monotonic ns (Infinity: none).
 * With `host`, it waits in the host (see {@link HostWait}). Returns the
 * outcome (SQ_WOKEN, SQ_INTR or SQ_TIMEDOUT).
 */
export function sq_block(sl: number, lock: number, deadline: number, spin?: SpinPolicy, norelock = false, host?: HostWait): number {
  const w = sl + S.wait;
  const h = hooks;
  I32[sl + S.lockw] = lock;
  mutex_exit(lock);
  // Mark the LWP asleep after dropping the object lock, to keep that lock's
  // hold time (and its contention with the waker) short.
  h?.enter(sl);
  sysent_sleep_begin();
  const intr = (I32[sl + S.flags] & SQF_INTERRUPTIBLE) !== 0;
  if (intr && h !== undefined) sq_begin_intr(w, h);
  let v = Atomics.load(I32, w);
  if (v === SQ_SLEEPING && spin !== undefined) {
    if (spin.sleepUntil !== undefined) v = sleep_first(w, Math.min(spin.sleepUntil, deadline), h, intr);
    if (v === SQ_SLEEPING && spin.budgetNs > 0) v = spin_wait(w, spin, deadline);
  }
  while (sq_asleep(v)) {
    if (panicked()) break;
    // Kicked: asleep again first, then the flags (a later kick changes the word again).
    if (v === SQ_KICKED) Atomics.compareExchange(I32, w, SQ_KICKED, SQ_SLEEPING);
    if (h !== undefined && intr && h.must_halt()) { h.halt(); v = Atomics.load(I32, w); continue; }
    if (h !== undefined) h.nudged();
    const due = idle !== undefined ? idle.next(Math.min(deadline, spin?.sleepUntil ?? Infinity)) : Infinity;
    if (due < deadline) {
      const now = mono_now();
      if (due <= now) idle!.run();
      else host = wait_word(sl, w, due - now, host);
    } else if (deadline !== Infinity) {
      const left = deadline - mono_now();
      if (left <= 0) {
        v = sq_end(w, SQ_TIMEDOUT);
        if (v === SQ_SLEEPING) v = SQ_TIMEDOUT;
        break;
      }
      host = wait_word(sl, w, left, host);
    } else {
      host = wait_word(sl, w, Infinity, host);
    }
    v = Atomics.load(I32, w);
  }
  // Kernel state this sleep waited on will never change: fail, without the lock.
  if (panicked()) throw panic_error('sleep');
  // Woken while it must suspend (the wake-up came before it saw the kick):
  // it suspends here, before it acts on the wake-up, as it would have in
  // the loop; what it was woken for waits with it (a sigwaiter stays a
  // waiter, and the signals sent meanwhile queue on it).
  if (h !== undefined && intr && h.must_halt()) h.halt();
  return sq_settle(sl, lock, v, norelock, undefined);
}

/**
 * An interruptible sleep on wait word w begins (object lock dropped): a
 * pending interrupt or a deliverable signal ends it at once (SQ_INTR).
 * The sleeper is on its list from before the drop, so a waker may have
 * ended it already (SQ_WOKEN; or lwp_suspend's SQ_UNSLEPT): then the
 * interrupt it took is put back for the next sleep, or it was lost (no
 * sleep ever ended in EINTR for that lwp_wakeup).
 */
function sq_begin_intr(w: number, h: SleepHooks): void {
  const c = h.consume_cancel(true);
  if (c !== 0 && sq_end(w, SQ_INTR) !== SQ_SLEEPING && (c & SQC_CANCELLED) !== 0) h.cancel_again();
}

/**
 * The end of a sleep, sync or async: settles the LWP's state and the
 * sleeper, and takes the object lock again (not for a woken sleeper with
 * `norelock`). An interrupted one first takes the LWP's signals, with no
 * lock held, before the caller relocks and fails (EINTR) or restarts: the
 * handler runs as soon as the sleeper is back on its CPU (NetBSD's postsig
 * on the way out of the sleep), not after the error is built.
 */
function sq_settle(sl: number, lock: number, v: number, norelock: boolean, call: AsyncCall | undefined): number {
  const h = hooks;
  const async = call !== undefined;
  if (v === SQ_INTR) {
    h?.consume_cancel(false);
    if (async) h?.asyncLeave(sl); else h?.leave(sl);
    // A sync sleep leaves what the signal step did in the thread's word
    // (kern/sysent.ts), which its call reads before anything else can run
    // in this thread. An async call reads it microtasks later, after other
    // async calls of the thread may have begun or settled sleeps of their
    // own and wiped or taken it (a restart lost to EINTR): so an async
    // sleep takes the signals and keeps the outcome in its own call, and
    // leaves the thread's word as it found it, empty.
    if (async) { sysent_sleep_begin(); call.ps = ps_combine(call.ps, sysent_sigintr()); } else sysent_sigsleep();
    mutex_enter(lock);
    sq_unlink(sl);
    return v;
  }
  // A woken sleeper was unlinked by its waker; when the caller has nothing
  // to re-check it need not take the lock again (that would only make it
  // contend with the waker, which often still holds it).
  if (v === SQ_WOKEN && norelock) { if (async) h?.asyncLeave(sl); else h?.leave(sl); return v; }
  mutex_enter(lock);
  if (v !== SQ_WOKEN) sq_unlink(sl);
  if (async) h?.asyncLeave(sl); else h?.leave(sl);
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

let abandoned = false;
/**
 * This thread's LWP has exited with async sleeps still pending, and those
 * sleepers were orphaned and freed: their continuations must never touch
 * kernel memory again. The thread is retired (never reused for another LWP).
 */
export function sq_abandon_thread(): void { abandoned = true; }
export function sq_thread_abandoned(): boolean { return abandoned; }
/**
 * What an async wait of an LWP that is gone awaits instead of resuming: a
 * Promise that never settles, so that no kernel code runs for it (here, the
 * callers in kern/sleeprun.ts, and the ports' room waits: ports/room.ts).
 */
export const sq_never = (): Promise<never> => new Promise<never>(() => {});

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
export async function sq_sleep_async(sl: number, lock: number, deadline: number): Promise<number> {
  const w = sl + S.wait;
  const h = hooks;
  I32[sl + S.lockw] = lock;
  // Marked here, not only by the caller's sq_alloc: a waker in this same
  // thread (sq_wake) skips the notify of a sleeper it takes for a blocked
  // sync one, and this sleeper, waiting for that notify, would never wake.
  // Under the object lock, before any waker can look.
  I32[sl + S.flags] |= SQF_ASYNC;
  h?.asyncEnter(sl);
  mutex_exit(lock);
  // (No sysent_sleep_begin: an async sleep keeps its signal outcome in its
  // call, sq_relock, and must not wipe a word it does not use.)
  const intr = (I32[sl + S.flags] & SQF_INTERRUPTIBLE) !== 0;
  if (intr && h !== undefined) sq_begin_intr(w, h);
  const release = hold();
  let v = Atomics.load(I32, w);
  try {
    while (sq_asleep(v)) {
      // Kicked (an async sleeper's thread runs its event loop: the flags are looked at on its next kernel entry).
      if (v === SQ_KICKED) Atomics.compareExchange(I32, w, SQ_KICKED, SQ_SLEEPING);
      if (h !== undefined && intr && h.must_halt()) { await h.haltAsync(); v = Atomics.load(I32, w); continue; }
      let timeout: number | undefined;
      if (deadline !== Infinity) {
        const left = deadline - mono_now();
        if (left <= 0) {
          v = sq_end(w, SQ_TIMEDOUT);
          if (v === SQ_SLEEPING) v = SQ_TIMEDOUT;
          break;
        }
        timeout = left / 1e6;
      }
      if (panicked()) break;
      const r = Atomics.waitAsync(I32, w, SQ_SLEEPING, timeout);
      if (r.async) await r.value;
      if (abandoned) { release(); return sq_never(); }
      v = Atomics.load(I32, w);
    }
    // Woken while it must suspend: as in sq_block.
    if (h !== undefined && intr && !panicked() && h.must_halt()) {
      await h.haltAsync();
      if (abandoned) return sq_never();
    }
  } finally {
    release();
  }
  if (panicked()) throw panic_error('sleep');
  return v;
}

/**
 * What one async call keeps across its sleeps: what the signal step did in
 * those that were interrupted (PS_*, kern/sysent.ts), for its decision to
 * restart (kern/sleeprun.ts run_async_restart). One per call, not per
 * thread: a thread may have several async calls pending at once.
 */
export interface AsyncCall { ps: number }


/**
 * Second half of an async sleep: takes the object lock again and settles
 * the sleeper. Returns the outcome; an interrupted sleep's signal outcome
 * goes to `call`.
 */
export function sq_relock(sl: number, lock: number, v: number, norelock: boolean | undefined, call: AsyncCall): number {
  return sq_settle(sl, lock, v, norelock ?? false, call);
}
