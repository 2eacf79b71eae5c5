/**
 * The hand-over of the kernel's epoll set between the intr thread and the
 * sleepers that wait in the host on it (hostwait.ts): who takes the set's
 * events, when the intr thread's own set is disarmed so that it sleeps
 * through what they take, and the last waiter's linger. The set and its
 * sources are intr.ts's; this file only decides who looks at it.
 *
 * Words (region `intr_handover`, all outside any lock, by atomic
 * operations): W_HWAIT the waiters' count and skip epoch; W_OWN, W_EP2
 * whether the intr thread waits on a set of its own and its descriptor;
 * W_ARM, W_ARMDIRTY the arm lock, the disarmed flag and the marks of moves
 * not yet synced; W_TFD the linger's timerfd; W_LINGER the lingering LWP;
 * W_LSEQ the leaves during a linger; W_LEAVE_LID, W_LEAVE_T, W_AWAY the
 * last leave (its LWP, its time) and how long leavers stay away (the
 * window's measure); W_LSTARTS the lingers started; W_TOOK the intr
 * thread's takes of the set's events.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { define_tunable } from '../kern/options.js';
import { tunables } from '../kern/boot.js';
import { kstat_counter, kstat_add, kstat_gauge } from '../kern/kstat.js';
import { cur } from '../kern/hdr.js';
import { sq_set_served, sq_served_count } from '../kern/sleepq.js';
import { on_lwp_exit } from '../kern/proc.js';
import { intr_epfd, intr_start_asked, intr_evfd, intr_on_control } from './intr.js';
import { eventfd_ring } from '../kern/host.js';
import * as os from './ffi.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /**
     * The linger window at the least: the set stays with host waiters one
     * to two windows after the last one left, ns (default 500000; 0: given
     * back at once). A window is twice as long as the last leavers stayed
     * away, within this and intr_linger_max_ns (handover.ts, the linger).
     */
    intr_linger_ns?: number;
    /** The linger window at the most, ns (default 5000000; below intr_linger_ns it is intr_linger_ns). */
    intr_linger_max_ns?: number;
  }
}
define_tunable('intr_linger_ns', 500_000, 0, 60_000_000_000);
define_tunable('intr_linger_max_ns', 5_000_000, 0, 60_000_000_000);

const W_HWAIT = 0, W_OWN = 1, W_EP2 = 2, W_ARM = 3, W_ARMDIRTY = 4, W_TFD = 5, W_LINGER = 6, W_LSEQ = 7;
const W_LEAVE_LID = 8, W_LEAVE_T = 9, W_AWAY = 10, W_LSTARTS = 11, W_TOOK = 12;
const hw = kregion_create('intr_handover', () => 13);

/**
 * Sleepers waiting in the host on the epoll set itself (hostwait.ts): their
 * count in the low bits of W_HWAIT, and above it a skip epoch, bumped each
 * time the intr thread leaves events of the set to them. While the count is
 * nonzero the intr thread does not take events from the set
 * (intr_hwait_skip): the woken sleeper takes them (epoll_wait hands each
 * edge-triggered event to one caller only), so the event is dispatched in
 * the thread that waits for it, one host wake-up from the descriptor. A
 * sleeper notes the epoch when it starts waiting and again when it takes
 * the set; the last one to leave takes the set once more when the epoch
 * moved since (intr_hwait_leave), so no event left to it waits for a later
 * edge, and none is taken twice over for nothing when the intr thread
 * skipped before the sleeper's own take.
 */
const HW_COUNT = (1 << 20) - 1, HW_EPOCH = 1 << 20;
const epoch_of = (v: number): number => v >>> 20;
const C_HSKIPS = kstat_counter('intr', 'host_skips');
/** Sleepers waiting in the host on the set now. */
kstat_gauge('intr', 'host_waiters', () => Atomics.load(I32, hw.base + W_HWAIT) & HW_COUNT);

/**
 * Whether the intr thread waits on its own set (intrthread-main.ts), and
 * that set's descriptor (ep2, or -1): only then do host waiters get the
 * set's events first. W_OWN: 0 not known yet, 1 yes, 2 no. `tfd`: the
 * linger window's timerfd in ep2, or -1 (no linger: below).
 */
export function intr_set_own_set(ep2: number, tfd: number): void {
  Atomics.store(I32, hw.base + W_TFD, tfd + 1);
  Atomics.store(I32, hw.base + W_EP2, ep2 + 1);
  Atomics.store(I32, hw.base + W_OWN, ep2 >= 0 ? 1 : 2);
}
/** Whether a sleeper may wait in the host on the set: the intr thread runs, on its own set. */
export function intr_hwait_possible(): boolean { return Atomics.load(I32, hw.base + W_OWN) === 1; }
/** Whether that is not known yet: the intr thread was asked to start and has not set itself up. */
export function intr_hwait_pending(): boolean {
  return Atomics.load(I32, hw.base + W_OWN) === 0 && intr_start_asked();
}

/** A sleeper starts waiting in the host on the set; returns the skip epoch now. */
export function intr_hwait_enter(): number {
  away_sample();
  const v = Atomics.add(I32, hw.base + W_HWAIT, 1);
  // While a linger lasts the set is disarmed already (or its starter's
  // sync is yet to come, and reads this count): no sync for this move.
  if ((v & HW_COUNT) === 0 && Atomics.load(I32, hw.base + W_LINGER) === 0) hwait_arm_sync();
  return epoch_of(v + 1);
}
/** The skip epoch now (a sleeper about to take the set). */
export function intr_hwait_epoch(): number { return epoch_of(Atomics.load(I32, hw.base + W_HWAIT)); }
/**
 * It stops. The last to leave takes the set once more (`take`) when the
 * epoch moved since `epoch`, then gives the set back to the intr thread,
 * or with `linger` lingers (below).
 */
export function intr_hwait_leave(epoch: number, take: () => void, linger: boolean): void {
  const v = Atomics.sub(I32, hw.base + W_HWAIT, 1); // the count is at least 1: the epoch bits are not touched
  if ((v & HW_COUNT) !== 1) return;
  if (epoch_of(v) !== epoch) take();
  // A linger that goes on keeps the set as it is (disarmed): the count
  // went to 0 with the linger nonzero all along, so the registration
  // wanted is the same and this move needs no sync; any end of the linger
  // meanwhile syncs after itself.
  if (!linger_begin(linger)) hwait_arm_sync();
}

/**
 * The intr thread sleeps through what host waiters take. While any sleeper
 * waits in the host on the kernel's set, that set is disarmed in the intr
 * thread's own set (EPOLL_CTL_MOD with no events): an arrival wakes the
 * sleepers and not also this real-time thread, which otherwise woke, most
 * often to find the events taken already, and took a CPU from the woken
 * sleeper or the writer (intr.wakeups and intr.cpu_us: see the commit that
 * made this). It is armed again when the last waiter's linger ends
 * (below: at once when there is none); EPOLL_CTL_MOD evaluates the set's
 * readiness then, so an event that arrived after the last take and before
 * the re-arm wakes the intr thread at once: none waits for a later edge.
 *
 * The thread that moves the count from 0 or to 0 brings the registration
 * in line with the count, but two such moves can race (a leave's re-arm
 * overtaken by the next enter's disarm, or the reverse). So each marks the
 * registration dirty and tries the arm lock; the holder reads the count
 * and sets the registration until no mark is left, and a thread that
 * finds the lock taken leaves its mark to the holder (which looks again
 * after it lets go). The last reading thus follows the last move, and the
 * set ends armed exactly when no waiter counts and no linger lasts. Nobody
 * waits for the lock: the holder is in one epoll_ctl at most.
 */
const ARM_LOCKED = 1, ARM_OFF = 2; // W_ARM: the arm lock, and whether the set is disarmed now
/** Whether the intr thread's set should be disarmed now: a waiter counts, or the last one's linger lasts. */
const want_off = (b: number): boolean => (Atomics.load(I32, b + W_HWAIT) & HW_COUNT) !== 0 || Atomics.load(I32, b + W_LINGER) !== 0;
const C_DISARMS = kstat_counter('intr', 'host_disarms');
/** 1 while the kernel's set is disarmed in the intr thread's own set (host waiters wait or just left), else 0. */
kstat_gauge('intr', 'set_disarmed', () => (Atomics.load(I32, hw.base + W_ARM) & ARM_OFF) !== 0 ? 1 : 0);
function hwait_arm_sync(): void {
  const b = hw.base, ep2 = Atomics.load(I32, b + W_EP2) - 1, ep = intr_epfd();
  if (ep2 < 0 || ep < 0) return;
  for (;;) {
    Atomics.store(I32, b + W_ARMDIRTY, 1);
    const w = Atomics.load(I32, b + W_ARM);
    if ((w & ARM_LOCKED) !== 0 || Atomics.compareExchange(I32, b + W_ARM, w, w | ARM_LOCKED) !== w) return; // the holder sees the mark
    let off = (w & ARM_OFF) !== 0;
    while (Atomics.exchange(I32, b + W_ARMDIRTY, 0) !== 0) {
      const w_off = want_off(b);
      if (w_off === off) continue;
      os.os_epoll_set(ep2, ep, w_off ? os.EPOLLET : (os.EPOLLIN | os.EPOLLET) >>> 0, 1, 0, true);
      off = w_off;
      if (off) kstat_add(C_DISARMS);
    }
    Atomics.store(I32, b + W_ARM, off ? ARM_OFF : 0);
    if (Atomics.load(I32, b + W_ARMDIRTY) === 0) return;
  }
}

/*
 * The linger. A sleeper that waits in the host again and again (an LWP
 * looping on kevent) made two epoll_ctl calls per event: the re-arm as it
 * left (~0.9 us between its wake-up and kevent's return) and the disarm as
 * it came back, which widened the window in which the next arrival found
 * it away and the set armed: the real-time intr thread was woken, took
 * the event and rang the LWP's kick eventfd as it came back, two hops
 * (30-40 % of the events of bench/os-vnode.bench.ts). So the last waiter
 * to leave leaves the set disarmed for a while more (W_LINGER: its LWP
 * id, 0 when no linger lasts): an arrival meanwhile waits in the set, and
 * the LWP, back in its host wait, finds the set readable at once and takes
 * it itself; no epoll_ctl either way, and a leave that finds the linger
 * going on is two atomic operations.
 *
 * The bound. An arrival while a linger lasts and no waiter counts is
 * taken by nobody until a host waiter comes (any: each takes the whole
 * set) or the linger ends. The leave that starts a linger arms a one-shot
 * timerfd in the intr thread's own set for one window (the window,
 * below); each leave that finds the linger going on bumps a sequence
 * (W_LSEQ); at each expiry the intr thread (intr_linger_tick) arms the
 * timer again when the sequence moved since its last look (for twice its
 * last interval, up to the longest window: lookNs), else ends the linger
 * and re-arms the set itself (off everyone's path), which reports what
 * waited there. So a linger ends at most two looks after its last leave,
 * each at most intr_linger_max_ns (plus the intr thread's wake-up), a
 * looping LWP pays no syscall per event, the intr thread wakes once per
 * look at most, and a waiter that sleeps long ends the linger within two
 * looks (the set stays
 * disarmed for it anyway: its count), the next leave then arming the
 * timer again. A wait that ran out took nothing and starts or renews no
 * linger (a loop that waits out its timeouts is idle: the set goes back
 * to the intr thread at once, as without the linger, and the intr thread
 * is not woken per timeout to end one). An LWP that exits ends its own
 * linger at once (on_lwp_exit).
 *
 * Nobody else waits on it. The bound is a delay for every consumer that
 * the intr thread serves instead of a host wait on the set: an async
 * kevent or port_get (the event loop's), a blocking one that waits
 * elsewhere (a port's descriptor wait, a deadline-aware wait), a port
 * with several descriptors, a kqueue that watches a kqueue or port with
 * OS sources (kqueue/kern.ts kq_hostfed: the inner object's events are
 * dispatched by whoever takes the set). So a linger lasts only while none of those
 * sleeps: each is marked (sq_set_served: counted kernel-wide until its
 * sleeper is freed) and ends a linger it finds (intr_nonhost_enter); a
 * leave that would start or renew one finds the count nonzero and gives
 * the set back instead. The two look at
 * each other's word after writing their own (enter: count, then linger;
 * a starting leave: linger, then count), so at least one of them sees the
 * other. A looping LWP alone on its OS sources, the case the linger is
 * for, keeps it; a program with an event-loop consumer beside it pays
 * what it paid before the linger. Work the intr thread serves with no
 * sleeper standing for it counts the same way: an io_uring request out in
 * the ring completes by an eventfd in the kernel's set whoever waits for it
 * (an aio_suspend, a port or kqueue its notification feeds, nobody yet), so
 * while one is out no linger starts or goes on (intr_set_served_work_hook),
 * and a submission that leaves one out ends the linger that lasts
 * (intr_served_work_begun), with the same handshake: the submission counts
 * its request before it looks at the linger word. Pollers of a kqueue with OS knotes (or with
 * knotes on kernel descriptors) take the set
 * themselves while a linger lasts (kevent.ts: intr_linger_take), and a
 * blocking kevent does not spin for an event the intr thread will not
 * dispatch.
 *
 * Why no linger is ever left without its expiry: W_LINGER goes from 0 to
 * nonzero only by a leave's compare-exchange, which then arms the timer;
 * only the intr thread arms it while it is nonzero (at an expiry); nobody
 * ever disarms it (an expiry with no linger is ignored). Every end of a
 * linger (expiry, exit) is a compare-exchange to 0 followed by
 * hwait_arm_sync, so a leave that renewed the linger just before the end
 * only loses it early: arming is always safe.
 */
const C_LINGERS = kstat_counter('intr', 'lingers');
const C_LINGER_ENDS = kstat_counter('intr', 'linger_ends');
/** Of those, ended by a sleeper the intr thread serves (intr_nonhost_enter). */
const C_LINGER_SERVED = kstat_counter('intr', 'linger_served_ends');
/** 1 while a linger lasts (the set left disarmed after its last waiter left), else 0. */
kstat_gauge('intr', 'lingering', () => Atomics.load(I32, hw.base + W_LINGER) !== 0 ? 1 : 0);

/*
 * The window. A fixed window suits a loop that is back in its wait within
 * microseconds (a latency loop); a loop that does real work between its
 * waits (reads what it was given, writes replies) stays away longer, its
 * linger ended two windows into every absence, and each arrival after that
 * woke the intr thread (two hops, and a real-time thread taking a CPU from
 * the writer): the 10 000-socket bench (bench/os-sources-many.ts: a round
 * of 100 writes, then the reads, ~1-3 ms away) ran at 12-13 k events/s
 * with a 500 us window and 18-19 k with 5 ms, against Node's 16-19 k. So
 * each wanted leave (a host wait's, a blocking kevent's return:
 * intr_consumer_return) notes its LWP and time (W_LEAVE_LID, W_LEAVE_T),
 * the same LWP's next blocking kevent or host wait measures its absence
 * (intr_consumer_enter, intr_hwait_enter), and a measure of those
 * (W_AWAY, us: a longer absence at once, a shorter one a quarter of the
 * way, so one stall of the consumer, a page fault or a preemption on a
 * loaded host, does not end its linger twice) sets the window: twice the
 * measure, within intr_linger_ns and intr_linger_max_ns. A latency loop
 * keeps the least window; the bound below becomes two windows of at most
 * intr_linger_max_ns for the consumers that neither wait in the host nor
 * take the set themselves. Plain atomics, no lock: a sample lost to a race
 * between two leavers only delays the average.
 */
/** The leave's time, us, in the leaver's own clock (the LWP's next enter, in the same thread, reads it: an LWP stays on its thread). */
const now_us = (): number => Math.round(performance.now() * 1000) | 0;
/** A leave (want: it took events or was kicked): the LWP and time its next enter measures from; none for a wait that ran out. */
function leave_note(want: boolean): void {
  Atomics.store(I32, hw.base + W_LEAVE_T, now_us());
  Atomics.store(I32, hw.base + W_LEAVE_LID, want ? cur.lid : 0);
}
/** A host wait starts: the same LWP's last wanted leave, if it was the last leave, gives a sample of the absence. */
function away_sample(): void {
  const b = hw.base;
  if (cur.lid <= 0 || Atomics.load(I32, b + W_LEAVE_LID) !== cur.lid) return;
  if (Atomics.compareExchange(I32, b + W_LEAVE_LID, cur.lid, 0) !== cur.lid) return;
  // Clamped to what the longest window measures (a longer absence sets no
  // longer window), so that the measure comes back down from one within a
  // few samples.
  const t = tunables(), most = Math.max(t.intr_linger_max_ns!, t.intr_linger_ns!) / 2000;
  const away = Math.min(Math.max((now_us() - Atomics.load(I32, b + W_LEAVE_T)) | 0, 0), most);
  const old = Atomics.load(I32, b + W_AWAY);
  Atomics.store(I32, b + W_AWAY, away >= old ? away : (old * 3 + away) >> 2);
}
/** The linger window now, ns: twice the measured absence, within the two tunables (0: no linger). */
function linger_window_ns(): number {
  const t = tunables(), min = t.intr_linger_ns!;
  if (min <= 0) return 0;
  return Math.min(Math.max(2000 * Atomics.load(I32, hw.base + W_AWAY), min), linger_max_ns());
}
/** The longest window, ns. */
function linger_max_ns(): number { const t = tunables(); return Math.max(t.intr_linger_max_ns!, t.intr_linger_ns!); }
/** The leavers' absence as the window measures it now, us (kstat intr.linger_away_us). */
kstat_gauge('intr', 'linger_away_us', () => Atomics.load(I32, hw.base + W_AWAY));

/**
 * The last waiter left (its count is 0 now): its linger starts or goes on,
 * when `want`ed (the wait took events or was kicked). True when it went on (the set is disarmed already and stays so), false
 * when it started or there is none (the caller syncs the registration).
 */
function linger_begin(want: boolean): boolean {
  const b = hw.base, tfd = Atomics.load(I32, b + W_TFD) - 1;
  if (tfd < 0 || cur.lid <= 0) return false;
  leave_note(want);
  // Not wanted (a wait that ran out): one that lasts ends at its expiry.
  if (!want) return false;
  // A consumer the intr thread serves sleeps, or work it serves is out: no linger (one that lasts ends).
  if (sq_served_count() !== 0 || servedWork()) { linger_end(); return false; }
  for (;;) {
    const l = Atomics.load(I32, b + W_LINGER);
    if (l !== 0) {
      // Goes on: made this LWP's (the exit hook's), and the leave counted.
      if (l !== cur.lid && Atomics.compareExchange(I32, b + W_LINGER, l, cur.lid) !== l) continue;
      Atomics.add(I32, b + W_LSEQ, 1);
      return true;
    }
    const ns = linger_window_ns();
    if (ns <= 0) return false;
    if (Atomics.compareExchange(I32, b + W_LINGER, 0, cur.lid) !== 0) continue;
    // Such a consumer came to sleep (or such work went out) meanwhile and may
    // have found no linger to end (it counted itself before looking): this one ends it.
    if (sq_served_count() !== 0 || servedWork()) { linger_end(); return false; }
    // A linger starts: its expiry first. Should the host refuse the timer,
    // no linger (another leave may have taken it over meanwhile, trusting
    // an expiry that will not come: every linger ends).
    Atomics.add(I32, b + W_LSTARTS, 1);
    if (os.os_timerfd_arm(tfd, ns) < 0) { Atomics.store(I32, b + W_LINGER, 0); return false; }
    kstat_add(C_LINGERS);
    return false;
  }
}

/** The leave sequence and the linger starts at the intr thread's last look (its own: only it looks). */
let seenSeq = 0, seenStarts = 0;
/**
 * How long the intr thread waits before it looks again, ns (its own): a
 * window at a linger's first look, then twice as long at each look that
 * found leaves, up to the longest window. While a consumer keeps coming
 * back, each look is a wake-up of this real-time thread: at one a window
 * (2 000 a second at 500 us) a loop of blocking kevents that always found
 * its events ready ran ~15 % slower with its linger than without (~1 us
 * a call, the statx of its knote's evaluation the most: the thread's
 * wake-ups took its CPU and caches), where one every 5 ms costs it
 * nothing measurable. The bound stays two looks after the last leave: at
 * most twice intr_linger_max_ns.
 */
let lookNs = 0;
/** The intr thread: the linger timer expired (its timerfd read). */
export function intr_linger_tick(): void {
  const b = hw.base, tfd = Atomics.load(I32, b + W_TFD) - 1;
  for (;;) {
    const l = Atomics.load(I32, b + W_LINGER);
    if (l === 0) return; // ended by an exit: nothing to look after
    const seq = Atomics.load(I32, b + W_LSEQ), moved = seq !== seenSeq;
    seenSeq = seq;
    const starts = Atomics.load(I32, b + W_LSTARTS);
    if (starts !== seenStarts) { seenStarts = starts; lookNs = 0; } // a linger started since: from a window again
    if (moved) {
      lookNs = Math.min(Math.max(lookNs * 2, linger_window_ns()), linger_max_ns());
      if (os.os_timerfd_arm(tfd, lookNs) === 0) return;
    }
    // A whole window without a leave. Another leave that takes the linger
    // over first makes the exchange fail: look again.
    if (Atomics.compareExchange(I32, b + W_LINGER, l, 0) !== l) continue;
    kstat_add(C_LINGER_ENDS);
    hwait_arm_sync();
    return;
  }
}

/** Ends the linger that lasts, if any (the caller, or the one that ends it, syncs the registration). */
function linger_end(): boolean {
  for (;;) {
    const l = Atomics.load(I32, hw.base + W_LINGER);
    if (l === 0) return false;
    if (Atomics.compareExchange(I32, hw.base + W_LINGER, l, 0) === l) { kstat_add(C_LINGER_ENDS); return true; }
  }
}

/**
 * A sleeper on a kqueue or port with OS sources (or a kqueue fed by a
 * watched object's: kq_hostfed) that does not wait in the
 * host on the set (the intr thread must dispatch its events), enqueued and
 * about to sleep (object lock held): it is marked, counted until it is
 * freed (sleepq.ts), and a linger that lasts ends now (its count first,
 * then the linger word: linger_begin looks in the other order).
 */
export function intr_nonhost_enter(sl: number): void {
  sq_set_served(sl);
  if (linger_end()) { kstat_add(C_LINGER_SERVED); arm_sync_here_or_there(); }
}
/**
 * The re-arm after a linger ended under an object's lock: here when this
 * thread has the host calls loaded (one epoll_ctl), else by the intr
 * thread. A thread without them (a served sleeper that never made a host
 * call: an async kevent on a kqueue watching another's OS knotes) would
 * load koffi for it, milliseconds under the lock, and a load that failed
 * would leave it nothing to call (kernel locks allow neither). So it marks
 * the move unsynced and rings the intr thread's control eventfd through
 * Node's own write (kern/host.ts): the intr thread's control work syncs
 * (below), and EPOLL_CTL_MOD's look at the set then wakes it for what
 * waited there. Only the intr thread takes that eventfd while it waits on
 * a set of its own, which a linger needs (W_TFD).
 */
function arm_sync_here_or_there(): void {
  if (os.os_loaded()) { hwait_arm_sync(); return; }
  const ev = intr_evfd();
  if (ev < 0) return; // (no intr thread: no set of its own to re-arm)
  Atomics.store(I32, hw.base + W_ARMDIRTY, 1);
  kstat_add(C_ARM_RINGS);
  eventfd_ring(ev);
}
/** Re-arms asked of the intr thread by threads without the host calls (arm_sync_here_or_there). */
const C_ARM_RINGS = kstat_counter('intr', 'linger_arm_rings');
// The intr thread, at each ring of its control eventfd: a move left unsynced is synced now.
intr_on_control(() => { if (Atomics.load(I32, hw.base + W_ARMDIRTY) !== 0) hwait_arm_sync(); });
kstat_gauge('intr', 'served_sleepers', sq_served_count);

/** Whether work the intr thread serves is out (no sleeper stands for it): installed by its owner, aio/uring.ts. */
let servedWork: () => boolean = () => false;
/** Installs the test of work the intr thread serves (at module load, in a module every thread loads). */
export function intr_set_served_work_hook(fn: () => boolean): void { servedWork = fn; }
/**
 * Such work went out (counted already, no lock held): a linger that lasts
 * ends now, so that its completion is taken by the intr thread.
 */
export function intr_served_work_begun(): void {
  if (linger_end()) { kstat_add(C_LINGER_SERVED); hwait_arm_sync(); }
}

/**
 * A blocking kevent on a kqueue with OS knotes begins (no lock held): its
 * LWP's absence since its last such return is a sample of the window's
 * measure (the window, above). A loop whose kevent finds its events
 * dispatched already never waits in the host: measured from host waits
 * alone, its absence spanned many rounds.
 */
export function intr_consumer_enter(): void { away_sample(); }
/**
 * Such a kevent returns (no lock held); `got`: with events. Its LWP is a
 * consumer that comes back, so the return is a leave as a host wait's is:
 * it notes the time, and with events it starts or renews the linger when
 * the intr thread took events from the set since this thread's last return
 * (W_TOOK moved): what a linger saves, a wake-up of the intr thread per
 * arrival while the consumer is away (a linger that lasts is renewed by the
 * host waits that take the set meanwhile, as before). Without this a
 * loop whose events the intr thread dispatched while it was away (the
 * writes of a round, then one kevent) never waited in the host, never
 * lingered, and the intr thread was woken by every arrival of the next
 * round. A loop whose events need no intr thread (a level-triggered knote
 * always ready, found by its own evaluation) neither starts nor renews one:
 * renewed at every return, a linger lasted for ever over such a loop and
 * cost it ~0.8 us a call (~15 %: its knote's statx ran slower, for reasons
 * not found; not the looks, measured with one a second) for nothing saved.
 */
export function intr_consumer_return(got: boolean): void {
  if (Atomics.load(I32, hw.base + W_TFD) - 1 < 0 || cur.lid <= 0) return;
  const took = Atomics.load(I32, hw.base + W_TOOK), moved = took !== seenTook;
  seenTook = took;
  // (Not in a thread that has no host calls loaded: a linger costs it a
  // timerfd and an epoll_ctl, and loading them for that, milliseconds.)
  if (!got || !moved || (Atomics.load(I32, hw.base + W_HWAIT) & HW_COUNT) !== 0 || !os.os_loaded()) {
    // One return in SAMPLE_EVERY is timed (two clock reads, ~0.15 us: a
    // loop of kevents that find their events at once makes hundreds of
    // thousands a second); the others only drop this LWP's older note, so
    // that no absence is measured from it.
    if ((++returns & (SAMPLE_EVERY - 1)) === 0) leave_note(got);
    else if (Atomics.load(I32, hw.base + W_LEAVE_LID) === cur.lid) Atomics.store(I32, hw.base + W_LEAVE_LID, 0);
    return;
  }
  if (!linger_begin(true)) hwait_arm_sync();
}
/** W_TOOK at this thread's last consumer return; the consumer returns of this thread, for the sampling. */
let seenTook = 0, returns = 0;
const SAMPLE_EVERY = 16;
/** The intr thread took events from the kernel's set (intrthread-main.ts). */
export function intr_took(): void { Atomics.add(I32, hw.base + W_TOOK, 1); }

/** Whether a linger lasts: the set's events may wait there for a host waiter or a poller (intr_linger_take). */
export function intr_lingering(): boolean { return Atomics.load(I32, hw.base + W_LINGER) !== 0; }

// An LWP that exits never comes back to its host wait: its linger ends now.
// (Another's linger, or one taken over meanwhile, has its expiry pending.)
on_lwp_exit((lid) => {
  if (Atomics.compareExchange(I32, hw.base + W_LINGER, lid, 0) === lid) arm_sync_here_or_there();
});

/**
 * The intr thread, woken by the set: true when it must leave the set to the
 * host waiters. Usually a waiter woken by the same arrival has taken the
 * events already (`pending()`, a poll of the set, says whether anything is
 * left); what is left bumps the skip epoch, so that the last waiter takes
 * the set again as it leaves. A waiter that left meanwhile fails the bump:
 * the intr thread then takes the events itself.
 */
export function intr_hwait_skip(pending: () => boolean): boolean {
  const w = hw.base + W_HWAIT;
  for (;;) {
    const v = Atomics.load(I32, w);
    if ((v & HW_COUNT) === 0) return false;
    if (!pending()) return true;
    if (Atomics.compareExchange(I32, w, v, (v + HW_EPOCH) | 0) === v) { kstat_add(C_HSKIPS); return true; }
  }
}
