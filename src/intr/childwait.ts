/**
 * Child exits heard where the host announces them first: an io_uring
 * IORING_OP_WAITID per watched child, submitted and reaped by the intr
 * thread, beside the child's pidfd in the epoll set.
 *
 * ---- Why -------------------------------------------------------------------
 *
 * A watched process is a pidfd in the epoll set (kqueue/filters/proc.ts),
 * which is the only way to watch a process that is not our child. For a
 * child, the host wakes its parent's wait queue (where waitpid sleeps, and
 * where SIGCHLD is sent from) earlier than it makes the pidfd readable:
 * measured on this machine's Linux 6.18, a thread blocked in waitid(2) on a
 * SIGKILLed child woke 150-190 us after the kill, at or before Node's
 * 'exit' event for it, and a thread blocked in poll(2) on the child's pidfd
 * 190-320 us after, ~1.3x later than 'exit'. A blocking waitid would need a
 * thread per child; IORING_OP_WAITID hooks the same wait queue without a
 * thread, and its completion wakes the intr thread through the eventfd
 * registered with the ring: the intr thread's control eventfd (intr.ts),
 * on which only that thread waits. (It was an eventfd in the kernel's
 * epoll set: an LWP waiting in the host on that set (hostwait.ts) was
 * woken by the completion, took it and poked the intr thread for it; on
 * two CPUs the real-time intr thread then preempted that very LWP, which
 * had the exit's pidfd event to report: 70-230 us lost per exit.) WNOWAIT
 * leaves the child a zombie: Node's libuv still reaps it and reads its
 * status.
 *
 * The pidfd stays in epoll and stays the authority: this is a second, earlier
 * doorbell for the same source. Whichever rings first makes the proc filter
 * read the status (its exit_fire); the other finds the exit recorded and
 * costs nothing. Where io_uring is refused, nothing is queued; where
 * IORING_OP_WAITID is missing (before Linux 6.7) the first waitid fails
 * with EINVAL and asking stops: the pidfd alone serves.
 *
 * ---- Who submits -----------------------------------------------------------
 *
 * Only the intr thread. The completion of a waitid is task work of the
 * thread that submitted it (kern/uring.ts), and a request dies with its
 * submitter: an LWP's worker may end long before its child does. So a
 * registering thread (EVFILT_PROC's attach, under its kqueue lock) only asks:
 * it writes the child's pid and the source's generation in the source's
 * slot of the request table, sets the slot's bit in the pending bitmap and
 * writes the asks' eventfd (a source in the kernel's epoll set). The intr
 * thread, woken by that eventfd, takes the bits (Atomics.exchange per
 * bitmap word: lock-free on both sides) and submits one waitid per pid not
 * already waited for; it reaps the CQ whenever its control eventfd rang
 * (intr.ts intr_on_control), which the host does when it posts completions.
 *
 * ---- What the intr thread keeps (its own memory, no other thread reads it) --
 *
 * inflight: pid -> the sources (slot handle -> generation) its one waitid
 * serves. At a completion the pid's entry goes, and each source still live
 * at its generation is dispatched (intr_dispatch, as an epoll event on its
 * pidfd would be). A source released meanwhile is dropped there, so the map
 * holds at most one waitid per live child, however often knotes on it come
 * and go. One case asks for another round: a completion for pid P (res 0)
 * whose source's own process has not exited, which is a later child that
 * reused the number after Node reaped the first (waitid on its pidfd says it
 * runs); such a source is waited for again. A failed waitid (ECHILD: reaped
 * before it was submitted, or not our child after all) is dispatched once
 * and left to the pidfd.
 *
 * ---- Request table (kernel memory) -----------------------------------------
 *
 *   W_EVFD    [a] the asks' eventfd + 1 (0: none yet; made by the first asker,
 *             compare-and-swap, losers close theirs), never closed
 *   W_STATE   [a] 0 until the intr thread tried the ring, then
 *             ST_UP or ST_OFF (askers stop asking; also set by the first
 *             asker when boot option intr_waitid is 0); kstat
 *             intr.waitid_state
 *   bitmap    [a] one bit per intr source slot: a request is pending
 *   req       [a] per slot: pid, the source's generation (written before
 *             the bit is set, read after it is taken)
 *
 * With the default intr_sources_max (16384) the table is 130 KiB of kernel
 * memory, untouched (not resident) until slots are asked for.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { kstat_counter, kstat_add, kstat_gauge } from '../kern/kstat.js';
import { define_tunable } from '../kern/options.js';
import { tunables } from '../kern/boot.js';
import { uring_host, uring_setup, uring_map, uring_enter, eventfd_nonblock, uring_register_eventfd, sqe_put, cq_take, IOP_WAITID, type UringMap, type Cqes } from '../kern/uring.js';
import { intr_dispatch, intr_add_handler } from './dispatch.js';
import { sources, S, intr_source_hold, intr_is_self, intr_running, intr_on_start, intr_on_poke, intr_on_control, intr_poke, intr_evfd, src_fd, DIR_READ } from './intr.js';
import { EPOLLIN, os_eventfd_drain, os_eventfd_ring } from './ffi.js';
import { os_pidfd_waitid, W_RUNNING } from './ffi-proc.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** Child exits also heard through io_uring's IORING_OP_WAITID (default 1; 0: the pidfd alone). */
    intr_waitid?: number;
  }
}
define_tunable('intr_waitid', 1, 0, 1);

const W_EVFD = 0, W_STATE = 1, W_BITMAP = 2;
const ST_UP = 1, ST_OFF = 2; // 0: the intr thread has not tried the ring yet
const bitmapWords = (max: number): number => Math.ceil(max / 32);
const table = kregion_create('intr.childwait', (t) => W_BITMAP + bitmapWords(t.intr_sources_max!) + 2 * t.intr_sources_max!);
const reqAt = (slot: number): number => table.base + W_BITMAP + bitmapWords(sources.count) + 2 * slot;

const C_ASKED = kstat_counter('intr', 'waitid_asked');
const C_SUBMITTED = kstat_counter('intr', 'waitid_submitted');
const C_DONE = kstat_counter('intr', 'waitid_done');
/** 0 until the intr thread tried the ring, 1 while it serves, 2 when the host refused it (or intr_waitid is 0). */
kstat_gauge('intr', 'waitid_state', () => Atomics.load(I32, table.base + W_STATE));

const P_PID = 1, WEXITED = 4, WNOWAIT = 0x01000000, EINVAL = 22;

/** The eventfd, made by the first asker (any thread); -1 when it cannot be made. */
function evfd(): number {
  const w = table.base + W_EVFD;
  const have = Atomics.load(I32, w);
  if (have !== 0) return have - 1;
  const h = uring_host();
  const ev = h === null ? -1 : eventfd_nonblock(h);
  if (ev < 0) { Atomics.store(I32, table.base + W_STATE, ST_OFF); return -1; }
  const prev = Atomics.compareExchange(I32, w, 0, ev + 1);
  if (prev !== 0) { h!.close(ev); return prev - 1; }
  // In the epoll set, so that the intr thread hears asks and completions.
  if (intr_source_hold(ev, DIR_READ) !== 0) { Atomics.store(I32, table.base + W_STATE, ST_OFF); return -1; }
  return ev;
}

/**
 * Asks the intr thread to wait for child `pid`'s exit on source src (its
 * pidfd) through the ring: best effort, never throws, no lock taken (called
 * under a kqueue lock by EVFILT_PROC's attach). The pidfd in epoll stays the
 * authority whatever becomes of the ask.
 */
export function intr_child_watch(src: number, pid: number): void {
  if (Atomics.load(I32, table.base + W_STATE) === ST_OFF) return;
  if (tunables().intr_waitid === 0) { Atomics.store(I32, table.base + W_STATE, ST_OFF); return; }
  const ev = evfd();
  if (ev < 0) return;
  const slot = sources.index(src), r = reqAt(slot);
  Atomics.store(I32, r, pid);
  Atomics.store(I32, r + 1, Atomics.load(I32, src + S.gen));
  Atomics.or(I32, table.base + W_BITMAP + (slot >> 5), 1 << (slot & 31));
  kstat_add(C_ASKED);
  os_eventfd_ring(ev);
}

// ---------------------------------------------------------------- the intr thread's side

let ring: UringMap | null = null;
const inflight = new Map<number, Map<number, number>>();
let unsubmitted = 0;
const cq: Cqes = { lo: [], hi: [], res: [] };

/** The ring, set up at the intr thread's first need; null (and ST_OFF) where the host refuses. */
function ring_up(): UringMap | null {
  if (ring !== null) return ring;
  const h = uring_host(), ev = intr_evfd();
  const r = h === null || ev < 0 ? null : uring_setup(h, 64);
  const m = r === null ? null : uring_map(h!, r.fd, r.layout);
  if (m === null || !uring_register_eventfd(h!, m.fd, ev)) {
    Atomics.store(I32, table.base + W_STATE, ST_OFF);
    return null;
  }
  Atomics.store(I32, table.base + W_STATE, ST_UP);
  return (ring = m);
}

/** Adds src (at generation gen) to pid's waiters; queues the pid's waitid when it has none. */
function wait_for(m: UringMap, pid: number, src: number, gen: number): void {
  let set = inflight.get(pid);
  if (set === undefined) {
    inflight.set(pid, set = new Map());
    if (unsubmitted === m.sqMask + 1) submit(m);
    sqe_put(m, IOP_WAITID, pid, 0, P_PID, 0, pid, 0, 0, WEXITED | WNOWAIT);
    unsubmitted++;
  }
  set.set(src, gen);
}

function submit(m: UringMap): void {
  const h = uring_host()!;
  while (unsubmitted > 0) {
    const r = uring_enter(h, m, unsubmitted);
    if (r <= 0) break; // EINTR, EAGAIN, EBUSY: the next wake-up tries again
    unsubmitted -= r;
    kstat_add(C_SUBMITTED, r);
  }
}

/** Takes the pending asks into inflight and submits their waitids. */
function take_asks(m: UringMap): void {
  const words = bitmapWords(sources.count), b = table.base + W_BITMAP;
  for (let i = 0; i < words; i++) {
    if (Atomics.load(I32, b + i) === 0) continue;
    let bits = Atomics.exchange(I32, b + i, 0);
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits & -bits);
      bits &= bits - 1;
      const slot = i * 32 + bit, r = reqAt(slot), src = sources.handle(slot);
      const pid = Atomics.load(I32, r), gen = Atomics.load(I32, r + 1);
      if (Atomics.load(I32, src + S.gen) === gen) wait_for(m, pid, src, gen);
    }
  }
  submit(m);
}

/** Dispatches each completed pid's sources; waits again for a source whose own process lives on (a reused pid). */
function reap(m: UringMap): void {
  const n = cq_take(m, cq);
  for (let i = 0; i < n; i++) {
    const pid = cq.lo[i]!, set = inflight.get(pid);
    kstat_add(C_DONE);
    // A host whose io_uring predates IORING_OP_WAITID (Linux < 6.7) refuses
    // the opcode: stop asking (what is in flight is refused the same way).
    if (cq.res[i] === -EINVAL) Atomics.store(I32, table.base + W_STATE, ST_OFF);
    if (set === undefined) continue;
    inflight.delete(pid);
    for (const [src, gen] of set) {
      intr_dispatch(src, gen, EPOLLIN);
      if (cq.res[i] === 0 && Atomics.load(I32, src + S.gen) === gen && os_pidfd_waitid(src_fd(src)) === W_RUNNING) wait_for(m, pid, src, gen);
    }
  }
  submit(m);
}

/** Rings the eventfd, if there is one yet (a new edge for the epoll set). */
function ring_bell(): void {
  const have = Atomics.load(I32, table.base + W_EVFD);
  if (have !== 0) os_eventfd_ring(have - 1);
}

// The intr thread's work when the asks' eventfd says a thread asked.
function child_work(have: number): void {
  os_eventfd_drain(have - 1);
  const m = ring_up();
  if (m === null) {
    for (let i = 0, b = table.base + W_BITMAP; i < bitmapWords(sources.count); i++) Atomics.store(I32, b + i, 0);
    return;
  }
  // Completions first (also reaped at each control ring, below): a pid whose waitid just completed is asked for afresh.
  reap(m);
  take_asks(m);
}
// Another thread may take the asks' eventfd's edge from the kernel's set: a
// sleeper's bridge before the intr thread runs (it leaves the asks where
// they are for the thread, which rings the bell once when it starts), or
// a sleeper waiting in the host on the set (intr/hostwait.ts). Once the
// thread runs, that thread pokes it (intr.ts intr_poke: through the
// control eventfd, which only the intr thread takes) rather than ring the
// bell again, which another host waiter could take again.
const POKE = intr_on_poke(() => { const have = Atomics.load(I32, table.base + W_EVFD); if (have !== 0) child_work(have); });
intr_add_handler((src) => {
  const have = Atomics.load(I32, table.base + W_EVFD);
  if (have === 0 || src_fd(src) !== have - 1) return 0;
  if (!intr_is_self()) { if (intr_running()) intr_poke(POKE); return 0; }
  child_work(have);
  return 0;
});
intr_on_start(ring_bell);
// Completions: the host rang the intr thread's control eventfd (or a poke did: the CQ is then just looked at).
intr_on_control(() => { if (ring !== null) reap(ring); });
