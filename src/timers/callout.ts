/**
 * Callouts: one-shot deadlines in kernel memory, fired by kernel code.
 *
 * This is the seeds' cyclic/callout backend. The POSIX timers use it, and so
 * does kqueue's EVFILT_TIMER. The API below is stable:
 *
 *   callout_register_kind(kind, handler)   at module load, in every thread
 *                                          (the clock thread imports the module
 *                                          too, so it knows the handler: it runs
 *                                          kernel code, not closures)
 *   callout_demand((t) => n)               at module load: reserve n callouts
 *                                          (the cache is sized at boot from the sum)
 *   c = callout_alloc(kind, arg, line?)    0 when the cache is exhausted (EAGAIN)
 *   callout_reset(c, when)                 arm or re-arm at `when` (ns on the time
 *                                          line: TL_MONO = kernel monotonic ns,
 *                                          mono_now(); TL_MANUAL = the manual clock)
 *   callout_stop(c) -> was it pending      cancel; if its handler is running in
 *                                          another thread, waits for it to return,
 *                                          so after callout_stop the handler is not
 *                                          running and will not run (unless re-armed);
 *                                          the caller must hold no other kernel lock
 *                                          then (a panic, as a fire that never ends)
 *   callout_free(c)                        stops it, then frees it (from inside its
 *                                          own handler: once the handler returns;
 *                                          a callout_reset of it meanwhile is a panic)
 *   callout_pending(c), callout_when(c)
 *
 * A handler is `(c, arg, now) => next`: it runs in the clock thread (or, on
 * the manual time line, in the thread that moved the manual clock) with no
 * callout lock held, may take object locks (it is the last in the lock order
 * after 'callout' is dropped), and returns the next deadline to re-arm the same
 * callout at (a periodic callout costs no extra lock round trip), or -1 for
 * none. A callout_reset made while its handler runs wins over the returned
 * value; a callout_stop made then wins over both. Handlers must be short and
 * must not block: every other expiry waits behind them.
 *
 * Arm and cancel are O(log n): the pending callouts of a time line form a
 * min-heap of callout handles in a kernel region (kern/heap.ts), and every callout
 * knows its heap index. Arming a new earliest deadline wakes the clock thread
 * by bumping and notifying the heap's wake word.
 */
import { I32, define_struct, kcache_create, kregion_create, f64_get, f64_set } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { cur } from '../kern/hdr.js';
import { kpanic } from '../kern/panic.js';
import { mono_now } from '../kern/time.js';
import { inflight_wait } from '../kern/inflight.js';
import type { Tunables } from '../kern/options.js';
import { TL_MONO, TL_MANUAL, timeline_now } from './clocks.js';
import { mutex_class } from '../kern/lockdebug.js';
import { KHeap } from '../kern/heap.js';

export { TL_MONO, TL_MANUAL };

/** A handler: returns the next deadline to re-arm at, or -1. */
export type CalloutHandler = (c: number, arg: number, now: number) => number;

/** Callout kinds in use (register yours here so numbers never collide). */
export const CK_ITIMER = 1;
/** Reserved for kqueue's EVFILT_TIMER. */
export const CK_KNOTE = 2;

const CALLOUT = define_struct('callout', {
  when: 'f64',    // deadline, ns on its time line
  state: 'i32',   // CS_*
  kind: 'i32',
  arg: 'i32',
  idx: 'i32',     // heap index while pending
  line: 'i32',    // TL_*
  flags: 'i32',   // CF_* requests made while firing
  firer: 'i32',   // owner id of the thread running its handler
  waiters: 'i32', // threads waiting in callout_stop for the handler to return
});
const F = CALLOUT.F;
export const CALLOUT_BYTES = CALLOUT.words * 4;

const CS_IDLE = 0, CS_PENDING = 1, CS_FIRING = 2;
/**
 * CF_FREE: freed from inside its own handler; callout_run frees it once the handler returns.
 * CF_XRESET: with CF_RESET, the reset came from another thread than the firer (callout_run).
 */
const CF_STOP = 1, CF_RESET = 2, CF_FREE = 4, CF_XRESET = 8;

const demands: ((t: Tunables) => number)[] = [];
/** The word of a time line's heap lock (diagnostics and tests). */
export function callout_heap_lock(line: number): number { return heap_base(line) + H_LOCK; }
/** Reserves callouts (module load, before boot). */
export function callout_demand(fn: (t: Tunables) => number): void { demands.push(fn); }
function capacity(t: Tunables): number { let n = 16; for (const d of demands) n += d(t); return n; }

const callouts = kcache_create('callout', CALLOUT, capacity);

// A heap region per time line: header words, then one slot per callout (kern/heap.ts).
const H_LOCK = 0, H_COUNT = 1, H_WAKE = 2, H_FIRED = 3, H_TARGET = 4 /* f64: words 4-5 */, H_COVER = 6 /* f64: words 6-7 */, H_SEQ = 8, H_RUN = 9, H_HDR = 10;
// ---- the heap (kern/heap.ts; its lock held): callouts by deadline, those of one deadline in the order armed
const HEAP = new KHeap(H_COUNT, H_SEQ, H_HDR, F.idx, F.when);
const heaps = [
  kregion_create('callout.heap.mono', (t) => HEAP.region_words(capacity(t))),
  kregion_create('callout.heap.manual', (t) => HEAP.region_words(capacity(t))),
];
for (const h of heaps) mutex_class('callout', h, { skip: H_LOCK, words: 1 });

const handlers: (CalloutHandler | undefined)[] = [];
/** Registers the handler of a kind (module load, in every thread that loads the module). */
export function callout_register_kind(kind: number, handler: CalloutHandler): void {
  if (!Number.isInteger(kind) || kind <= 0) throw new RangeError(`callout kind ${kind}`);
  if (handlers[kind] !== undefined && handlers[kind] !== handler) throw new Error(`callout kind ${kind} registered twice`);
  handlers[kind] = handler;
}

/**
 * Called with the deadline after a callout on TL_MONO is armed, with no heap
 * lock held (the clock thread starter and its bridge, clockstats.ts). It must
 * not throw: callers may hold an object lock.
 */
let onArmMono: ((when: number) => void) | undefined;
export function callout_set_arm_hook(fn: (when: number) => void): void { onArmMono = fn; }

/** Takes a callout (0 when exhausted). */
export function callout_alloc(kind: number, arg: number, line = TL_MONO): number {
  const c = callouts.alloc();
  if (c === 0) return 0;
  I32[c + F.kind] = kind;
  I32[c + F.arg] = arg;
  I32[c + F.line] = line;
  I32[c + F.idx] = -1;
  return c;
}

/**
 * Stops and frees a callout. Called from inside its own handler (in the
 * thread firing it: a kqueue timer detached by that very fire's unlock),
 * it cannot wait for the fire to end, so the free is left to callout_run,
 * which makes it once the handler has returned and it no longer touches c.
 */
export function callout_free(c: number): void {
  if (cancel(c, CF_FREE) !== DEFERRED) callouts.free(c);
}

function when_of(c: number): number { return f64_get(c, F.when); }
function heap_base(line: number): number { return heaps[line]!.base; }

/** Wakes the clock thread if `when` is earlier than what it sleeps towards (heap lock held). */
function kick(b: number, when: number): void {
  if (when < f64_get(b, H_TARGET)) {
    Atomics.add(I32, b + H_WAKE, 1);
    Atomics.notify(I32, b + H_WAKE, 1);
  }
}

/** Arms or re-arms c at `when` (ns on its time line). */
export function callout_reset(c: number, when: number): void {
  const line = I32[c + F.line]!;
  const b = heap_base(line);
  mutex_enter(b + H_LOCK);
  const st = I32[c + F.state]!;
  f64_set(c, F.when, when);
  if (st === CS_PENDING) {
    HEAP.rekey(b, c);
  } else if (st === CS_FIRING) {
    if ((I32[c + F.flags]! & CF_FREE) !== 0) {
      // Freed by its own handler, which is still running: callout_run frees
      // it once the handler returns, and honouring the re-arm would put it
      // in the heap as it goes back to the cache, where the next
      // callout_alloc hands it out while the clock still fires it. A use
      // after free, and a kernel bug: said here, not found as a corrupted heap.
      mutex_exit(b + H_LOCK);
      kpanic(`callout_reset: callout ${c} was freed by its own handler (callout_free) and cannot be re-armed`, 'callout_reset');
    }
    const x = I32[c + F.firer] === cur.lid ? 0 : CF_XRESET;
    I32[c + F.flags] = (I32[c + F.flags]! & ~(CF_STOP | CF_XRESET)) | CF_RESET | x;
  } else {
    I32[c + F.state] = CS_PENDING;
    HEAP.insert(b, c);
  }
  if (I32[c + F.idx] === 0) kick(b, when);
  mutex_exit(b + H_LOCK);
  if (line === TL_MONO) onArmMono?.(when);
}

/**
 * Cancels c. True when it was pending. If its handler is running in another
 * thread, waits until it has returned (it will not re-arm).
 */
export function callout_stop(c: number): boolean { return cancel(c, 0) === WAS_PENDING; }

const WAS_PENDING = 1, WAS_IDLE = 2, DEFERRED = 3;
/**
 * A fire lasting this long is not a slow handler (handlers are short kernel
 * code) but one that will never end: its thread died in it, or waits for
 * something its stopper holds. Waiting on would hang the stopper for good.
 */
const FIRE_MAX_NS = 5e9;

/**
 * callout_stop's body. `free` (CF_FREE or 0): when c is firing in this very
 * thread, mark it so that callout_run frees it after its handler (DEFERRED).
 */
function cancel(c: number, free: number): number {
  const b = heap_base(I32[c + F.line]!);
  mutex_enter(b + H_LOCK);
  const st = I32[c + F.state]!;
  if (st === CS_PENDING) {
    HEAP.remove(b, c);
    I32[c + F.state] = CS_IDLE;
    mutex_exit(b + H_LOCK);
    return WAS_PENDING;
  }
  let r = WAS_IDLE;
  if (st === CS_FIRING) {
    I32[c + F.flags] = (I32[c + F.flags]! & ~CF_RESET) | CF_STOP;
    if (I32[c + F.firer] === cur.lid) {
      // From inside its own handler: it stops when the handler returns.
      if (free !== 0) { I32[c + F.flags] |= free; r = DEFERRED; }
    } else {
      await_fire(b, c);
    }
  }
  mutex_exit(b + H_LOCK);
  return r;
}

/**
 * Waits (heap lock held, dropped while asleep) until c's handler, running in
 * another thread, has returned. Never waits holding another kernel lock: the
 * handler may need it. Panics rather than wait forever (FIRE_MAX_NS).
 */
function await_fire(b: number, c: number): void {
  if (cur.lwp !== 0 && I32[cur.nlocksw]! !== 1) {
    mutex_exit(b + H_LOCK);
    kpanic(`callout_stop: LWP ${cur.lid} would wait for the handler of callout ${c} holding another kernel lock`, 'callout_stop');
  }
  const until = mono_now() + FIRE_MAX_NS;
  I32[c + F.waiters]!++;
  while (Atomics.load(I32, c + F.state) === CS_FIRING) {
    const firer = I32[c + F.firer]!;
    mutex_exit(b + H_LOCK);
    inflight_wait(c + F.state, CS_FIRING, until, 'callout_stop', () => {
      mutex_enter(b + H_LOCK);
      I32[c + F.waiters]!--;
      mutex_exit(b + H_LOCK);
      return `callout_stop: the handler of callout ${c}, fired by thread ${firer}, has not returned in ${FIRE_MAX_NS / 1e9} s`;
    });
    mutex_enter(b + H_LOCK);
  }
  I32[c + F.waiters]!--;
}

/** True while c is armed (pending, or re-armed while firing). */
export function callout_pending(c: number): boolean {
  const st = Atomics.load(I32, c + F.state);
  return st === CS_PENDING || (st === CS_FIRING && (I32[c + F.flags]! & CF_RESET) !== 0);
}
/** The deadline c was last armed at. */
export function callout_when(c: number): number { return when_of(c); }

/** Callouts armed on a time line now. */
export function callout_count(line = TL_MONO): number { return Atomics.load(I32, heap_base(line) + H_COUNT); }
/** Callouts fired so far on a time line (wraps at 2^32). */
export function callout_fired(line = TL_MONO): number { return Atomics.load(I32, heap_base(line) + H_FIRED) >>> 0; }

/**
 * Fires every callout on `line` due at its current time, in the calling
 * thread, but no more callouts than were armed when the call began.
 * Returns the next deadline (Infinity when none), which is past when the
 * bound stopped the run: the caller's next run fires the rest. The clock
 * thread runs this for TL_MONO; moving the manual clock runs it for
 * TL_MANUAL; so do the bridges (timers/clockstats.ts) while the clock
 * thread is not up, and a getter's deadline-aware wait at its expiry
 * (callout_run_try). One thread at a time runs a line (the run word,
 * below): a call made while another thread runs it waits for that run to
 * end, then runs.
 *
 * The bound keeps a run finite. Each expiry of a periodic timer re-arms it
 * no sooner than its minimum gap after it fired; with enough of them, or a
 * slow enough CPU, one pass over what is due took longer than that gap,
 * and a run that finds another callout due at every look never returned:
 * with the clock thread held, an LWP's kevent poll (which runs the bridge
 * over every LWP's callouts) stayed ONPROC for seconds under load
 * (test/callout-churn), and 2000 periodic 1 us knotes kept the first poll
 * from ever returning (test/scenarios/callout-overload). The bound is a
 * count, not the time the run began: a callout that falls due while the
 * run fires others is still fired in it, as before.
 */
export function callout_run(line: number): number { return run_line(line, true)!; }

/**
 * callout_run for a thread that has better things to do than wait: when
 * another thread is running the line's callouts now (it fires what is
 * due), returns false at once; else runs them and returns true. The
 * deadline-aware waiter's look at its expiry (dwait.ts), which the clock
 * thread may be making at the same moment.
 */
export function callout_run_try(line: number): boolean { return run_line(line, false) !== undefined; }

/** Runs the line's callouts holding its run word, waiting for it if `wait`; undefined when another thread holds it and not `wait`. */
function run_line(line: number, wait: boolean): number | undefined {
  const b = heap_base(line);
  const r = run_enter(b, wait);
  if (r === RUN_BUSY) return undefined;
  try {
    return run_locked(line, b);
  } finally {
    if (r === RUN_TAKEN) run_exit(b);
  }
}

/*
 * The run word (H_RUN): one thread at a time runs a time line's callouts.
 * Two runs at once (the clock thread and a port getter spinning at the
 * expiry, dwait.ts; a bridge) each took the next callout in turn and fired
 * them side by side, and the events of timers of one deadline then reached
 * their port in an order nobody chose (0 2 1 4 ... 11 3 for twelve timers
 * armed 0 to 11: 25 of 80 runs of test/timers' file). Serialized,
 * a line's callouts fire in heap order, those of one deadline in the order
 * armed. The word holds the runner's owner id, with RUN_WAITED once
 * another thread sleeps for it. It is not a kernel mutex (kern/mutex.ts):
 * handlers run under it and take object locks that come before 'callout'
 * in the lock order, and a handler may run the line again itself (a
 * manual-clock timer armed at a past time from inside one), which goes on
 * under the outer run's word. A run lasting FIRE_MAX_NS is a dead or stuck
 * runner: a panic, as for a fire that never ends (await_fire).
 */
const RUN_WAITED = 1 << 30;
const RUN_BUSY = 0, RUN_TAKEN = 1, RUN_NESTED = 2;
/** Takes the run word, waiting for it if `wait` (else RUN_BUSY while another thread holds it); RUN_NESTED when this thread holds it already. */
function run_enter(b: number, wait: boolean): number {
  const w = b + H_RUN, me = cur.lid;
  if (me === 0) kpanic('callout_run: a thread with no owner id runs callouts', 'callout_run');
  let until = NaN;
  for (;;) {
    const v = Atomics.compareExchange(I32, w, 0, me);
    if (v === 0) return RUN_TAKEN;
    if ((v & ~RUN_WAITED) === me) return RUN_NESTED;
    if (!wait) return RUN_BUSY;
    // The runner's handlers take object locks: waiting for it holding one could wait for good.
    if (cur.lwp !== 0 && I32[cur.nlocksw]! !== 0) kpanic(`callout_run: LWP ${me} would wait for thread ${v & ~RUN_WAITED}'s run of a time line holding a kernel lock`, 'callout_run');
    if ((v & RUN_WAITED) === 0 && Atomics.compareExchange(I32, w, v, v | RUN_WAITED) !== v) continue;
    if (Number.isNaN(until)) until = mono_now() + FIRE_MAX_NS;
    inflight_wait(w, v | RUN_WAITED, until, 'callout_run', () =>
      `callout_run: thread ${v & ~RUN_WAITED} has been running the callouts of a time line for ${FIRE_MAX_NS / 1e9} s`);
  }
}
function run_exit(b: number): void {
  if ((Atomics.exchange(I32, b + H_RUN, 0) & RUN_WAITED) !== 0) Atomics.notify(I32, b + H_RUN);
}

/** callout_run's loop, the run word held (or this thread's outer run holding it). */
function run_locked(line: number, b: number): number {
  let budget = Math.max(1, Atomics.load(I32, b + H_COUNT));
  for (;;) {
    mutex_enter(b + H_LOCK);
    const c = HEAP.first(b);
    if (c === 0) { mutex_exit(b + H_LOCK); return Infinity; }
    const when = when_of(c);
    const now = timeline_now(line);
    if (when > now || budget-- === 0) { mutex_exit(b + H_LOCK); return when; }
    HEAP.remove(b, c);
    I32[c + F.state] = CS_FIRING;
    I32[c + F.flags] = 0;
    I32[c + F.firer] = cur.lid;
    I32[b + H_FIRED]!++;
    mutex_exit(b + H_LOCK);

    const h = handlers[I32[c + F.kind]!];
    let next = -1;
    try {
      if (h !== undefined) next = h(c, I32[c + F.arg]!, now);
    } finally {
      mutex_enter(b + H_LOCK);
      const fl = I32[c + F.flags]!;
      if ((fl & CF_STOP) !== 0) next = -1;
      else if ((fl & CF_RESET) !== 0) {
        next = when_of(c);
        // A reset from another thread is a new arm this run did not count,
        // and its caller's own run (timer_settime's "a past time fires at
        // once") missed it, the callout being out of the heap: if due, it
        // is fired here. On the manual line nobody else runs until the
        // clock moves again (test/callout-reset-firing). A handler re-arming
        // itself still counts, so a run stays finite.
        if ((fl & CF_XRESET) !== 0) budget++;
      }
      if (next >= 0) {
        f64_set(c, F.when, next);
        Atomics.store(I32, c + F.state, CS_PENDING);
        HEAP.insert(b, c);
        // Run by another thread (a deadline-waiting port getter), the clock
        // thread may be asleep towards nothing: tell it of the new expiry.
        kick(b, next);
      } else {
        Atomics.store(I32, c + F.state, CS_IDLE);
      }
      I32[c + F.flags] = 0;
      if (I32[c + F.waiters]! > 0) Atomics.notify(I32, c + F.state);
      mutex_exit(b + H_LOCK);
      if ((fl & CF_FREE) !== 0) callouts.free(c); // freed by its own handler (callout_free)
    }
  }
}

/**
 * For the clock thread: records what it will sleep towards and returns the
 * wake word's value to wait on. Arming anything earlier than `target` changes
 * the wake word.
 */
export function callout_sleep_prepare(line: number): { target: number; seq: number } {
  const b = heap_base(line);
  mutex_enter(b + H_LOCK);
  const target = HEAP.first_key(b);
  f64_set(b, H_TARGET, target);
  const seq = Atomics.load(I32, b + H_WAKE);
  mutex_exit(b + H_LOCK);
  return { target, seq };
}
/** The earliest pending deadline of a time line (Infinity when none). */
export function callout_next(line: number): number {
  const b = heap_base(line);
  // An empty heap is seen without the lock: the sleep hook asks before each
  // kernel sleep of every thread while the clock thread is not running, and
  // the lock's word then moved between the CPUs of two LWPs taking turns to
  // sleep. The caller's own arms come before this load in its program
  // order; another thread's arm landing just after it is missed as it would
  // be just after the lock's release (that thread sees to its own callouts).
  if (Atomics.load(I32, b + H_COUNT) === 0) return Infinity;
  mutex_enter(b + H_LOCK);
  const next = HEAP.first_key(b);
  mutex_exit(b + H_LOCK);
  return next;
}
/*
 * Cover: a thread that will be on a CPU at a deadline, ready to fire it
 * itself (a port getter in its deadline-aware wait, timers/dwait.ts), says
 * so; the clock thread then does not spin towards that deadline but sleeps
 * until a backstop shortly after it (clockthread.ts). One advisory word per
 * time line, plain stores, last writer wins: a cover that is not honoured
 * (the getter woke for another event, or is off its CPU) costs that expiry
 * the backstop's delay, never the expiry itself.
 */
/** Says that the calling thread will fire the expiry at `when` (mono ns) on `line` itself. */
export function callout_cover(line: number, when: number): void { f64_set(heap_base(line), H_COVER, when); }
/** True when a thread said it will fire the expiry at `when` on `line`. */
export function callout_covered(line: number, when: number): boolean { return f64_get(heap_base(line), H_COVER) === when; }

/** The wake word of a time line (the clock thread waits on it). */
export function callout_wake_word(line: number): number { return heap_base(line) + H_WAKE; }
/** Wakes whoever sleeps on the time line's wake word (shutdown, tests). */
export function callout_wake(line: number): void {
  const b = heap_base(line);
  Atomics.add(I32, b + H_WAKE, 1);
  Atomics.notify(I32, b + H_WAKE);
}
/** Bytes per callout plus its heap slots (for the memory report). */
export function callout_bytes_each(): number { return CALLOUT_BYTES + 4 * (HEAP.region_words(1) - HEAP.region_words(0)) * heaps.length; }

/** A callout that is not idle, as {@link callout_snapshot} reports it. */
export interface CalloutInfo { c: number; state: 'pending' | 'firing'; firer: number; waiters: number; when: number }
/**
 * For tests and post-mortems (who holds what when something hangs): the
 * armed count of a time line, its heap lock word (the owner id, 0 when free),
 * the thread running its callouts (0: none) and whether another waits for it,
 * and every callout that is pending, firing or waited for. Plain reads, no lock.
 */
export function callout_snapshot(line = TL_MONO): { armed: number; lockWord: number; runner: number; runWaited: boolean; busy: CalloutInfo[] } {
  const b = heap_base(line);
  const busy: CalloutInfo[] = [];
  for (let i = 0; i < callouts.count; i++) {
    const c = callouts.handle(i);
    const st = I32[c + F.state]!, waiters = I32[c + F.waiters]!;
    if (I32[c + F.line] !== line || (st === CS_IDLE && waiters === 0)) continue;
    busy.push({ c, state: st === CS_FIRING ? 'firing' : 'pending', firer: I32[c + F.firer]!, waiters, when: when_of(c) });
  }
  const run = Atomics.load(I32, b + H_RUN);
  return { armed: Atomics.load(I32, b + H_COUNT), lockWord: Atomics.load(I32, b + H_LOCK), runner: run & ~RUN_WAITED, runWaited: (run & RUN_WAITED) !== 0, busy };
}
