/**
 * Sleep queues. A sleeping LWP waits on the wait word of its own sleep-queue
 * entry (a "sleeper"); whoever wakes it chooses it, unlinks it under the
 * object's lock and changes that word, so exactly the chosen LWPs are
 * notified. Wait lists are two words (head, tail) inside the object that
 * owns them: a condition variable is just such a list plus the object lock.
 *
 * The wait word moves once from SQ_SLEEPING to its outcome by compare-and-swap
 * (sq_end): SQ_WOKEN (a waker, holding the object lock, unlinked it),
 * SQ_INTR (lwp_wakeup or a close, without the object lock) or SQ_TIMEDOUT
 * (the sleeper itself). A sleeper that did not end SQ_WOKEN unlinks itself
 * under the object lock when it returns, so wake-ups never go to a departed
 * sleeper and none are lost.
 *
 * One more value means asleep: SQ_KICKED, a kick (sq_kick: look at your
 * LWP's flags, the sleep goes on). A kick must change the word, or one that
 * lands between the sleeper's look at its flags and its futex wait would
 * not end that wait (the futex compares the word; a notify before the wait
 * is lost). The sleeper puts SQ_SLEEPING back before it looks at its flags
 * (sleepwait.ts), and every outcome is set from either value.
 *
 * A waker may also hand the sleeper a value with its wake-up (a sleeper
 * that asked for it: SQF_HANDOFF), doing under the lock what the sleeper
 * would have come back for: ports hand a blocking port_get its event, so
 * that it returns without touching the port again (sq_wake_handoff).
 *
 * Entries are ordered by a priority (lower first, FIFO among equals): ports
 * use the number of events wanted so that the waiter wanting fewest is
 * served first.
 *
 * This file is the queues and the wakers' side (enqueue, unlink, wake,
 * interrupt, orphan); the sleeper's side (sq_block, sq_sleep_async and
 * sq_relock, the LWP layer's sleep hooks) is in sleepwait.ts.
 */
import { I32, F64, define_struct, kcache_create, kregion_create } from './kmem.js';
import { mutex_enter, mutex_exit, notify_after_unlock } from './mutex.js';
import { cur } from './hdr.js';
import { fail } from './errno.js';
import { on_panic } from './panic.js';
import { mutex_class } from './lockdebug.js';
import { TailQ } from './queue.js';
import { eventfd_ring } from './host.js';

export const SQ_SLEEPING = 0, SQ_WOKEN = 1, SQ_INTR = 2, SQ_TIMEDOUT = 3;
/**
 * Made runnable without a wake-up (NetBSD's setrunnable of an interruptible
 * sleeper, by lwp_suspend): settled like SQ_INTR (the sleeper unlinks
 * itself), but its syscall returns normally.
 */
export const SQ_UNSLEPT = 4;
/** Still asleep, kicked (sq_kick): the sleeper looks at its LWP's flags and sleeps on. */
export const SQ_KICKED = 5;
/** Whether wait-word value v means the sleep goes on. */
export const sq_asleep = (v: number): boolean => v === SQ_SLEEPING || v === SQ_KICKED;

/**
 * Ends the sleep on wait word w with outcome `to` unless it has ended:
 * from SQ_SLEEPING or SQ_KICKED. Returns SQ_SLEEPING when this call ended
 * it, else the outcome it already had (the compare-and-swap's convention).
 */
export function sq_end(w: number, to: number): number {
  let v = Atomics.compareExchange(I32, w, SQ_SLEEPING, to);
  while (v === SQ_KICKED) {
    v = Atomics.compareExchange(I32, w, SQ_KICKED, to);
    if (v === SQ_KICKED) return SQ_SLEEPING;
    if (v === SQ_SLEEPING) v = Atomics.compareExchange(I32, w, SQ_SLEEPING, to); // un-kicked meanwhile
  }
  return v;
}
/**
 * Sleeper flags. SQF_HANDOFF: the sleeper takes a value handed to it by its
 * waker (sq_wake_handoff) and then returns without the object lock;
 * SQF_HANDED: the waker did so (set under the object lock, before the wait
 * word changes).
 */
export const SQF_INTERRUPTIBLE = 1, SQF_ASYNC = 2, SQF_HANDOFF = 4, SQF_HANDED = 8;
/**
 * Its wake-ups are meant for it alone, not for whichever waiter of the
 * list (an unpark names one LWP): an orphaned one's is not passed on
 * (sq_orphan), where it would end another LWP's sleep for nothing.
 */
export const SQF_TARGETED = 16;
/** Kinds of orphan release (sq_set_orphan): a port getter's thread count, a kevent's kqueue reference. */
export const SQO_PORT = 1, SQO_KQ = 2;
/** Set while the entry is allocated (a free entry's first word is the free-list link). */
const SQF_LIVE = 0x100;
/**
 * A sleeper whose events the intr thread must dispatch (it waits on an
 * object with OS sources, but not in the host on the kernel's epoll set):
 * counted kernel-wide from sq_set_served until it is freed, so that the
 * count also drops for an async sleeper abandoned with its thread (the
 * generator that marked it never resumes; lwp_orphan_sleepers frees it).
 */
const SQF_SERVED = 0x200;
const served = kregion_create('sq_served', () => 1);

export const SLEEPER = define_struct('sleeper', {
  hand: 'f64',   // with SQF_HANDED: the value handed over (ports: portev_user; arg then holds portev_events);
                 //   a sleeper that takes no hand-off may keep a key of its own here (sq_setkey: lwp_park's hint)
  wait: 'i32',   // the wait word (SQ_*)
  lwp: 'i32',    // handle of the sleeping LWP (0 for a helper thread)
  next: 'i32', prev: 'i32',
  list: 'i32',   // word index of the list head it is on, 0 when unlinked
  prio: 'i32',
  flags: 'i32',
  lnext: 'i32',  // chain of an LWP's async sleepers (under the LWP lock)
  wmesg: 'i32',  // what it waits for (WMESG_*), for the LWP snapshot
  arg: 'i32',    // per-use word (ports: events wanted; once handed a value, its second word)
  lid: 'i32',    // lid of the sleeping LWP (its slot may be reused after it exits)
  lockw: 'i32',  // word of the object lock guarding the list (for orphan cleanup)
  wlist: 'i32',  // the list it was enqueued on (kept after unlink)
  hostfd: 'i32', // while it waits in the host (sleepwait.ts HostWait): its kick eventfd + 1; else 0 (the sleeper's own thread writes it)
  orel: 'i32',   // an async sleep's orphan release (sq_set_orphan): what its call holds besides the sleeper, by kind; 0: nothing
  oarg: 'i32',   // its argument (the object held)
}, true); // lines: a waker's compare-and-swap on one wait word is no transfer of its neighbours'
const S = SLEEPER.F;
/** A sleep queue: a two-word head (first, last) anywhere in an object (its list word L), sleepers linked through next/prev, kept in priority order. */
const SQ = new TailQ(0, 1, S.next, S.prev);

// One per LWP for its synchronous sleep and one more it may keep spare
// (sq_alloc), the async sleepers, and a few for helper threads.
export const sleepers = kcache_create('sleeper', SLEEPER, (t) => 2 * t.maxlwp! + t.async_sleepers! + 8);
mutex_class('sleeper', sleepers, { field: S.arg });

/** Takes a sleeper for the calling thread (EAGAIN when the table is full). */
export function sq_alloc(flags: number, wmesg: number, syscall: string): number {
  // The thread's spare first (its last freed sleeper, still in its CPU's
  // cache), else the shared cache (under its lock).
  const w = cur.sparew;
  let sl = w === 0 ? 0 : I32[w]!;
  if (sl !== 0) {
    I32[w] = 0;
    I32.fill(0, sl, sl + SLEEPER.words);
  } else {
    sl = sleepers.alloc();
    if (sl === 0) fail('EAGAIN', syscall, 'no free sleep-queue entries');
  }
  I32[sl + S.lwp] = cur.lwp;
  I32[sl + S.lid] = cur.lid;
  I32[sl + S.flags] = flags | SQF_LIVE;
  I32[sl + S.wmesg] = wmesg;
  I32[sl + S.hostfd] = 0;
  I32[sl + S.orel] = 0;
  return sl;
}

/**
 * What an async sleep's call holds besides its sleeper, given back when the
 * sleeper is orphaned (its LWP exited, or its worker died, with the wait
 * pending: the call's continuation, whose `finally` would give it back,
 * never runs). By kind, registered once by the subsystem; called after
 * sq_orphan's hold of the object lock, with no lock held.
 */
const orphanRelease: ((arg: number) => void)[] = [];
export function sq_orphan_release_register(kind: number, release: (arg: number) => void): void { orphanRelease[kind] = release; }
/** Notes that async sleeper sl's call holds `arg` of `kind` (0: nothing) until it resumes. */
export function sq_set_orphan(sl: number, kind: number, arg: number): void { I32[sl + S.orel] = kind; I32[sl + S.oarg] = arg; }

/** Marks a sleeper served by the intr thread (object lock held, as for SQF_HANDED); counted until sq_free. */
export function sq_set_served(sl: number): void {
  I32[sl + S.flags] |= SQF_SERVED;
  Atomics.add(I32, served.base, 1);
}
/** Live sleepers marked by sq_set_served, kernel-wide. */
export function sq_served_count(): number { return Atomics.load(I32, served.base); }

/** Returns a sleeper: kept as the thread's spare when it has none, else to the shared cache. */
export function sq_free(sl: number): void {
  if ((I32[sl + S.flags]! & SQF_SERVED) !== 0) Atomics.sub(I32, served.base, 1);
  I32[sl + S.flags] = 0;
  const w = cur.sparew;
  if (w !== 0 && I32[w] === 0) I32[w] = sl;
  else sleepers.free(sl);
}

/*
 * Spares. Each sleeping call takes a sleeper and gives it back. From the
 * shared cache that is its lock, its free-list head and its in-use count,
 * three words every thread writes, and in a ping-pong between two LWPs the
 * sleeper one of them freed is the next the other takes: each sleep moved
 * those lines and the sleeper's own between the CPUs. So an LWP keeps the
 * last sleeper it freed in a word of its own struct (cur.sparew: only its
 * thread writes it while it runs) and takes it back for its next sleep
 * (measured: park/unpark RTT p50, median of eight alternating runs of
 * bench/lwp at load 6-12, 11.9 -> 11.2 us). A spare is not in use: the cache's in-use figure leaves the
 * spares out (sq_spares_hook), and a spare goes back to the shared cache
 * when its LWP stops keeping one (sq_spare_drop: the LWP exits, or its slot
 * is freed after its worker died). The cache is sized for one spare per LWP.
 */

/** Gives the spare kept at word w back to the shared cache (its thread keeps none now, or is gone). */
export function sq_spare_drop(w: number): void {
  const sl = I32[w]!;
  if (sl === 0) return;
  I32[w] = 0;
  sleepers.free(sl);
}

/** Installs the count of spares kept (the LWP layer walks its structs), left out of the cache's in-use figure. */
export function sq_spares_hook(count: () => number): void { sleepers.held = count; }

/**
 * After a panic no waker may ever come: interrupt every sleeper (the wait
 * word changes, so a sleeper about to wait cannot miss it); each sees the
 * panic when it wakes and fails with EIO.
 */
on_panic(() => {
  for (let i = 0; i < sleepers.count; i++) {
    const sl = sleepers.handle(i);
    if ((I32[sl + S.flags]! & SQF_LIVE) === 0) continue;
    if (sq_end(sl + S.wait, SQ_INTR) === SQ_SLEEPING) sq_notify(sl);
  }
});

/**
 * Rings the kick eventfd of a sleeper that waits in the host (a no-op for
 * one on its wait word). Every change of a wait word is followed by a
 * notify and this: the sleeper publishes the eventfd before it looks at
 * the word a last time and polls, and the changer reads it after changing
 * the word (both sequentially consistent), so one of them sees the other.
 */
export function sq_host_kick(sl: number): void {
  const k = Atomics.load(I32, sl + S.hostfd);
  if (k !== 0) eventfd_ring(k - 1);
}

/** Wakes sl's thread now, on its wait word and, when it waits in the host, through its kick eventfd. */
function sq_notify(sl: number): void {
  Atomics.notify(I32, sl + S.wait, 1);
  sq_host_kick(sl);
}

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
  if (sq_end(sl + S.wait, SQ_WOKEN) !== SQ_SLEEPING) return false;
  const lid = I32[sl + S.lid]!;
  // Delivered when the caller drops the object lock. Not for a synchronous
  // sleeper of the calling thread itself: that thread is running this, not
  // waiting (a getter in its deadline-aware wait that fired its own timer,
  // timers/dwait.ts), and the notify would cost its event ~0.5 us of V8's
  // futex table for nobody. An async sleeper (waitAsync) needs it.
  if (lid !== cur.lid || lid <= 0 || (I32[sl + S.flags]! & SQF_ASYNC) !== 0) {
    notify_after_unlock(sl + S.wait);
    const k = Atomics.load(I32, sl + S.hostfd);
    if (k !== 0) notify_after_unlock(-k); // its kick eventfd, rung with the notify (mutex.ts)
  }
  sq_last_woken.lid = lid;
  return true;
}

/**
 * Wakes sl (object lock held) handing it two values, which it reads once it
 * sees itself woken (the stores come before the wait word's change, which
 * publishes them): `word` in its arg word, `value` in its hand field. For a
 * sleeper that asked for it (SQF_HANDOFF): the waker does on its behalf what
 * it would have done after waking with the lock (ports: take the event), so
 * that it returns without coming back to the object. False when sl was no
 * longer asleep: nothing was handed, and the caller keeps what it meant to hand.
 */
export function sq_wake_handoff(sl: number, word: number, value: number): boolean {
  const f = I32[sl + S.flags]!, arg = I32[sl + S.arg]!;
  I32[sl + S.arg] = word;
  F64[(sl + S.hand) >> 1] = value;
  I32[sl + S.flags] = f | SQF_HANDED;
  if (sq_wake(sl)) return true;
  // Not asleep any more (it reads these only when woken): as they were.
  I32[sl + S.flags] = f; I32[sl + S.arg] = arg;
  return false;
}
/** The value handed to sl (see sq_wake_handoff). */
export function sq_hand(sl: number): number { return F64[(sl + S.hand) >> 1]!; }
/**
 * A key a sleeper that takes no hand-off keeps in the same field, set
 * before it enqueues (the enqueue, under the object lock, publishes it) and
 * read by wakers under that lock: what they match it by, on the line of
 * the wait word they change anyway.
 */
export function sq_setkey(sl: number, v: number): void { F64[(sl + S.hand) >> 1] = v; }
export function sq_key(sl: number): number { return F64[(sl + S.hand) >> 1]!; }

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

/**
 * SQF_STAMPED: woken by sq_wake_all_stamped, which gave it the waker's
 * word (in arg) and value (in hand). Unlike a hand-off, the sleeper takes
 * the object lock again as after any wake-up, and reads them then.
 */
export const SQF_STAMPED = 0x400;
/**
 * Wakes every sleeper on list L (object lock held), as sq_wake_all does,
 * each given `word` and `value` first (SQF_STAMPED): what a waker hands to
 * all its sleepers at once, each keeping what it was woken with whatever
 * the object says by the time it runs (ports: an alert, as illumos'
 * port_alert stores the alert in each waiting thread's portget). A sleeper
 * no longer asleep (its sleep ending otherwise) is left as it was.
 */
export function sq_wake_all_stamped(L: number, word: number, value: number): number {
  let n = 0;
  for (let sl = I32[L]; sl !== 0; sl = I32[L]) {
    const f = I32[sl + S.flags]!, arg = I32[sl + S.arg]!, hand = F64[(sl + S.hand) >> 1]!;
    I32[sl + S.arg] = word;
    F64[(sl + S.hand) >> 1] = value;
    I32[sl + S.flags] = f | SQF_STAMPED;
    if (sq_wake(sl)) { n++; continue; }
    I32[sl + S.flags] = f; I32[sl + S.arg] = arg; F64[(sl + S.hand) >> 1] = hand;
  }
  return n;
}

/** First sleeper on list L, or 0. */
export function sq_first(L: number): number { return SQ.head(L); }
export function sq_next(sl: number): number { return SQ.after(sl); }
export function sq_lwp(sl: number): number { return I32[sl + S.lwp]; }
export function sq_arg(sl: number): number { return I32[sl + S.arg]; }
export function sq_setarg(sl: number, v: number): void { I32[sl + S.arg] = v; }
/** Lets sl's wakers hand it a value (SQF_HANDOFF; object lock held, before it sleeps). */
export function sq_allow_handoff(sl: number): void { I32[sl + S.flags] = I32[sl + S.flags]! | SQF_HANDOFF; }
export function sq_wmesg(sl: number): number { return I32[sl + S.wmesg]; }
export function sq_flags(sl: number): number { return I32[sl + S.flags]; }
export function sq_lid(sl: number): number { return I32[sl + S.lid]; }
export function sq_lnext(sl: number): number { return I32[sl + S.lnext]; }
export function sq_setlnext(sl: number, v: number): void { I32[sl + S.lnext] = v; }

/** Interrupts sl (lwp_wakeup, close): no object lock needed. */
export function sq_interrupt(sl: number): boolean {
  if (sq_end(sl + S.wait, SQ_INTR) !== SQ_SLEEPING) return false;
  sq_notify(sl);
  return true;
}

/**
 * Interrupts sl without waking its thread yet: the caller notifies the wait
 * word (`sl + SQ_WAIT`) once it has dropped its locks, so the woken sleeper
 * does not run into them (signals: the signal lock it needs next).
 */
export function sq_interrupt_quiet(sl: number): boolean {
  if (sq_end(sl + S.wait, SQ_INTR) !== SQ_SLEEPING) return false;
  sq_host_kick(sl); // (the notify comes later; a sleeper in the host needs this)
  return true;
}
/** The word a sleeper waits on (for a notify after sq_interrupt_quiet). */
export function sq_waitword(sl: number): number { return sl + S.wait; }

/** Ends sl's sleep with {@link SQ_UNSLEPT} (no object lock needed). */
export function sq_unsleep(sl: number): boolean {
  if (sq_end(sl + S.wait, SQ_UNSLEPT) !== SQ_SLEEPING) return false;
  sq_notify(sl);
  return true;
}

/**
 * Nudges a sleeper to look at its LWP's flags (suspend requests, nudges)
 * without ending its sleep: SQ_KICKED, so that a futex wait it has not yet
 * entered returns at once. The caller set the flag first.
 */
export function sq_kick(sl: number): void {
  Atomics.compareExchange(I32, sl + S.wait, SQ_SLEEPING, SQ_KICKED);
  sq_notify(sl);
}

/**
 * Detaches a sleeper whose thread will not come back for it (its LWP exited
 * with an async wait pending, or its worker died): interrupts it, unlinks it
 * under its object lock, and if a waker had already chosen it, passes that
 * wake-up on to the next sleeper so that none is lost (unless it was meant
 * for this sleeper alone: SQF_TARGETED). Does not free it.
 */
export function sq_orphan(sl: number): void {
  sq_interrupt(sl);
  const lock = I32[sl + S.lockw];
  if (lock !== 0) {
    mutex_enter(lock);
    if (I32[sl + S.list] !== 0) sq_unlink(sl);
    else if (Atomics.load(I32, sl + S.wait) === SQ_WOKEN && I32[sl + S.wlist] !== 0 && (I32[sl + S.flags]! & SQF_TARGETED) === 0) sq_wake_one(I32[sl + S.wlist]);
    mutex_exit(lock);
  }
  // What the call held for its sleep (a port's thread count, a kqueue's
  // reference): left held, the object was never freed after its close.
  const kind = I32[sl + S.orel]!;
  if (kind !== 0) { I32[sl + S.orel] = 0; orphanRelease[kind]?.(I32[sl + S.oarg]!); }
}
