/**
 * Adaptive spinning before a sleep, shared by port_get and kevent. A
 * blocking wake-up costs ~25 us on these VMs (the idle vCPU is halted; see
 * BASELINES.md) while an answered spin costs well under 1 us, so, like
 * illumos' adaptive mutexes, a waiter about to sleep spins first, but only
 *  - while the thread that last fed the object (sent to the port, queued on
 *    the kqueue) is active: on a CPU, just woken by us, or itself spinning
 *    in a wait, i.e. able to answer soon;
 *  - for a bounded budget (a tunable; 0 turns spinning off);
 *  - while fewer than a tunable number of threads spin kernel-wide
 *    (spinners must not starve the threads that would answer them);
 *  - while it pays: each object keeps a score, raised when a spin ended with
 *    the event and lowered when the budget was wasted; an object with a low
 *    score sleeps at once, until the next retry epoch (RETRY_NS): its first
 *    wait in a new epoch gets a few spins again (a score of twice a miss).
 *
 * Why epochs, shared by every object, and not a probe now and then: a spin
 * pays only if the thread that answers is awake to answer, and in a round
 * trip that thread is itself a waiter of the same kind. Two LWPs whose
 * spins ran dry once (a fresh pair's first few thousand round trips run in
 * V8's interpreter, each far over the budget) both sleep; a probe of one
 * then waits for the other's wake-up from its sleep (~25 us here, over the
 * 20 us budget) and runs dry too, so no probe ever hits, and the pair kept
 * sleeping at every hop for good: 28 us a message round trip where spinning
 * takes 12 (bench/messages.bench.ts, fresh pairs: 0 and 12 spin hits in
 * 60 000 gets). In one epoch both sides try again together; the first
 * spin of a retry outlasts the peer's wake-up (RETRY_WAKE_NS), and a grace
 * of two more misses lets the rounds where the other side was still asleep
 * pass. Waste is bounded: three spins per object per epoch (~100 us in 20
 * ms, 0.5 % of a CPU) where spinning never pays.
 * Async waiters never spin: they must not hold up their event loop.
 *
 * A spin domain owns a region: [budget ns, most spinners, one word for its
 * user] on one cache line, [spinning now] on the next, then one word per LWP
 * slot marking "spinning". The count is written by every spin's start and
 * end, the first line only by tuning: apart, the budget and limit every
 * spin reads stay in each CPU's cache (in a hot ping-pong the count's line
 * moves between the two CPUs at every hop, and took them along).
 */
import { I32, kregion_create, type KRegion } from './kmem.js';
import { ArgRangeError } from './copyin.js';
import { cur } from './hdr.js';
import { mono_now } from './time.js';
import { tunables } from './boot.js';
import { kstat_add, type Counter } from './kstat.js';
import { sq_last_woken } from './sleepq.js';
import { type SpinPolicy } from './sleepwait.js';

/** Whether LWP `lid` is on a CPU or about to be: installed by the LWP layer. */
let running: (lid: number) => boolean = () => false;
export function spin_set_running_hook(fn: (lid: number) => boolean): void { running = fn; }

/** Looks of {@link SpinDomain.poll} without pause, and the most busy-work iterations between later looks. */
const POLL_EAGER = 16, POLL_GAP_MAX = 128;
/** Busy-work between looks (a thread-local variable: it costs no shared cache line). */
let pauseSink = 0;

export const SPIN_BUDGET = 0, SPIN_MAX = 1, SPIN_EXTRA = 2, SPIN_NOW = 16, SPIN_LWP = 32;
const SCORE_MAX = 16, SCORE_MIN = -16;
/** How long an object whose score went below zero sleeps at once before it tries spinning again (ns). */
export const RETRY_NS = 20_000_000;
/**
 * What the first spin of a retry adds to the budget: a wake-up from a sleep
 * (~25 us on these VMs) with room. The peer of that spin is asleep (it
 * stopped spinning too), so a spin of the plain budget runs out before the
 * peer is even up; one that outlasts its wake-up sees its answer, and from
 * then on both sides are awake at each other's hop.
 */
const RETRY_WAKE_NS = 60_000;
/** The retry epoch now: equal for every object within one RETRY_NS window (int32, compared for equality only). */
export function spin_retry_epoch(): number { return Math.floor(mono_now() / RETRY_NS) | 0; }

/**
 * Takes a place among the spinners of the domain whose region is `region`
 * (the kernel-wide bound, SPIN_MAX); false when none is free. Every spinner
 * of the domain counts here: the adaptive spin below and a port getter's
 * deadline-aware wait (ports/dwait.ts).
 */
export function spinner_enter(region: KRegion): boolean {
  const b = region.base;
  if (Atomics.add(I32, b + SPIN_NOW, 1) < Atomics.load(I32, b + SPIN_MAX)) return true;
  Atomics.sub(I32, b + SPIN_NOW, 1);
  return false;
}
/** Gives back a place taken with {@link spinner_enter}. */
export function spinner_leave(region: KRegion): void { Atomics.sub(I32, region.base + SPIN_NOW, 1); }

/** Registers a spin domain's region (at module load). */
export function spin_region(name: string): KRegion {
  return kregion_create(name, (t) => SPIN_LWP + t.maxlwp!);
}

/** A spin in progress: the policy given to sq_block plus what is needed to settle it. */
export interface Spin { policy: SpinPolicy; obj: number; spinning: boolean; stoppedEarly: boolean }

/** What {@link SpinDomain.poll} watches (see there): one object per caller, made once, so that a poll allocates nothing. */
export interface PollTarget {
  /** Whether what the caller waits for is there (no lock held). */
  ready(): boolean;
  /** Drops the object lock (before the spin). */
  unlock(): void;
  /** Takes it back (after). */
  relock(): void;
}

export class SpinDomain {
  /**
   * @param region from {@link spin_region}
   * @param scoreOff, tickOff word offsets of the score and of the retry epoch it last tried again in, in each object
   */
  constructor(
    private readonly region: KRegion,
    private readonly scoreOff: number,
    private readonly tickOff: number,
    private readonly hit: Counter,
    private readonly miss: Counter,
    private readonly missCost: number,
  ) {}

  /** Sets the budget and the most spinners (boot, or tuning at run time). */
  setLimits(budgetNs: number | undefined, maxSpinners: number | undefined, syscall = 'spin_tune'): { budgetNs: number; maxSpinners: number } {
    const b = this.region.base;
    if (budgetNs !== undefined) {
      if (!Number.isInteger(budgetNs) || budgetNs < 0 || budgetNs > 10_000_000) throw new ArgRangeError(syscall, 'budgetNs must be an integer in [0, 1e7]');
      Atomics.store(I32, b + SPIN_BUDGET, budgetNs);
    }
    if (maxSpinners !== undefined) {
      if (!Number.isInteger(maxSpinners) || maxSpinners < 0 || maxSpinners > 1024) throw new ArgRangeError(syscall, 'maxSpinners must be an integer in [0, 1024]');
      Atomics.store(I32, b + SPIN_MAX, maxSpinners);
    }
    return { budgetNs: Atomics.load(I32, b + SPIN_BUDGET), maxSpinners: Atomics.load(I32, b + SPIN_MAX) };
  }

  private lwpWord(lid: number): number { return this.region.base + SPIN_LWP + ((lid - 1) % tunables().maxlwp!); }

  /** Whether LWP `lid` can answer soon. */
  private peerActive(lid: number): boolean {
    if (lid <= 0 || lid === cur.lid) return false;
    if (lid === sq_last_woken.lid || Atomics.load(I32, this.lwpWord(lid)) === lid) return true;
    return running(lid);
  }

  private stop(sp: Spin): void {
    if (!sp.spinning) return;
    sp.spinning = false;
    this.release(true);
  }

  /** Uncounts a spin of the calling thread; `marked`: it had marked its LWP spinning. */
  private release(marked: boolean): void {
    spinner_leave(this.region);
    if (marked && cur.lid > 0 && cur.lwp !== 0) Atomics.store(I32, this.lwpWord(cur.lid), 0);
  }

  /**
   * The checks and the count of a spin about to start on `obj` last fed by
   * `peer` (object lock held): its budget (ns), or 0 when it must not spin.
   * `mark`: also mark the calling LWP spinning, for a spinner that the LWP
   * layer shows asleep (sq_block's spin); a thread that spins before it even
   * queues itself (poll) stays on a CPU as far as its peers can tell, and
   * writing the mark would only move one more line between the CPUs.
   */
  private admit(obj: number, peer: number, deadline: number, mark: boolean): number {
    const b = this.region.base;
    const budget = Atomics.load(I32, b + SPIN_BUDGET);
    if (budget === 0 || (deadline !== Infinity && deadline - mono_now() < 2 * budget)) return 0;
    let extra = 0;
    if (I32[obj + this.scoreOff]! < 0) {
      const epoch = spin_retry_epoch();
      if (I32[obj + this.tickOff] === epoch) return 0;
      I32[obj + this.tickOff] = epoch;
      I32[obj + this.scoreOff] = 2 * this.missCost; // three spins before it is below zero again
      extra = RETRY_WAKE_NS;
    }
    if (!this.peerActive(peer)) return 0;
    if (!spinner_enter(this.region)) return 0;
    if (mark && cur.lid > 0 && cur.lwp !== 0) Atomics.store(I32, this.lwpWord(cur.lid), cur.lid);
    return budget + extra;
  }

  /**
   * Whether to spin before sleeping on object `obj` last fed by LWP `peer`
   * (object lock held); undefined: sleep at once.
   */
  begin(obj: number, peer: number, deadline: number): Spin | undefined {
    const budget = this.admit(obj, peer, deadline, true);
    if (budget === 0) return undefined;
    const end = mono_now() + budget;
    const sp: Spin = {
      obj, spinning: true, stoppedEarly: false,
      // sleepq's own budget is a backstop; active() ends the spin, so that
      // the spinning marks are cleared exactly when spinning stops.
      policy: {
        budgetNs: budget + 1_000_000,
        active: () => {
          if (mono_now() < end && this.peerActive(peer)) return true;
          sp.stoppedEarly = true;
          this.stop(sp);
          return false;
        },
      },
    };
    return sp;
  }

  /**
   * A spin before the caller even queues itself to sleep on `obj` (object
   * lock held, as for {@link begin}): with the lock dropped (`t.unlock`),
   * looks at `t.ready()` while `peer` is active, within the budget, then
   * takes the lock back (`t.relock`) and settles the score. Returns whether
   * `ready()` held. Not registering as a sleeper is the point: the feeding
   * side then has nobody to wake, and can skip its lock (ports' send lanes).
   *
   * The first looks come without pause (an answer in a hot ping-pong is
   * well under a microsecond away), then further and further apart: each
   * look pulls the line the feeder's next store must take back, and a
   * waiter looking without pause slows a streaming feeder down to where the
   * waiter keeps finding nothing. The clock and the peer are looked at
   * every 8 looks. Nothing is allocated (a hot ping-pong polls at every hop).
   */
  poll(obj: number, peer: number, deadline: number, t: PollTarget): boolean {
    const budget = this.admit(obj, peer, deadline, false);
    if (budget === 0) return false;
    const end = mono_now() + budget;
    t.unlock();
    let ok = false, looks = 0, gap = 8;
    outer: while (mono_now() < end && this.peerActive(peer)) {
      for (let i = 0; i < 8; i++, looks++) {
        if (t.ready()) { ok = true; break outer; }
        if (looks < POLL_EAGER) continue;
        for (let j = 0; j < gap; j++) pauseSink = (pauseSink * 31 + j) | 0;
        if (gap < POLL_GAP_MAX) gap <<= 1;
      }
    }
    this.release(false);
    t.relock();
    this.settle(obj, ok);
    return ok;
  }

  /** Settles a spin once the sleep is over (object lock held): clears the marks, adapts the score. */
  end(sp: Spin, woken: boolean): void {
    const hit = woken && !sp.stoppedEarly;
    this.stop(sp);
    this.settle(sp.obj, hit);
  }

  /** Adapts obj's score to a spin that ended with its event (hit) or without (object lock held). */
  private settle(obj: number, hit: boolean): void {
    const w = obj + this.scoreOff;
    const s = I32[w]!;
    if (hit) { if (s < SCORE_MAX) I32[w] = s + 1; kstat_add(this.hit); }
    else { I32[w] = Math.max(SCORE_MIN, s - this.missCost); kstat_add(this.miss); }
  }
}
