/**
 * POSIX asynchronous I/O: the request struct, the request table and its
 * theory. A request lives in kernel memory (the `aioreq` cache, sized by
 * the `aio_max` boot option), so every LWP sees it and any thread may
 * complete it; it is named by its `aio_id` (generation << 16 | slot + 1),
 * valid in every LWP until aio_return collects it.
 *
 * ---- States -------------------------------------------------------------------
 *
 *   from      to        by                                        lock
 *   (free)    QUEUED    submission, threads engine (queued for     aio
 *                       an I/O thread)
 *   (free)    ACTIVE    submission, io_uring (the SQE is pushed     aio
 *                       after the state is published)
 *   QUEUED    ACTIVE    an I/O thread takes it off the queue        aio
 *   QUEUED    DONE      aio_cancel, close(fd), process exit         aio
 *                       (res -ECANCELED; the I/O thread that
 *                       later pops its id skips it)
 *   ACTIVE    DONE      the engine's completion (aio_complete:      aio
 *                       the io_uring reaper in the intr thread or
 *                       in a submitter, or the I/O thread)
 *   DONE      (free)    aio_return (once; the id is stale after:    aio
 *                       EINVAL)
 *
 * A request is completed exactly once: aio_complete acts only on an ACTIVE
 * request whose id still matches, under the aio lock, and the one
 * notification (port event, knote, signal, thread call, lio count) is made
 * in that same hold. An ACTIVE request cannot be withdrawn: the io_uring
 * engine asks the host to cancel it (IORING_OP_ASYNC_CANCEL) and the host
 * then completes it with -ECANCELED, through the same path.
 *
 * Notification. SIGEV_PORT reserves its event slot at submission (EAGAIN
 * then, never a lost completion later) and queues it at completion; the
 * slot is the port's from then on (PORT_ALLOC_DEFAULT: freed at delivery).
 * A port closed first gives the reservation back through the source's
 * `closed` callback (notify.ts), and the request completes silently.
 *
 * The user's buffer (a Uint8Array over a SharedArrayBuffer, whose backing
 * store never moves) cannot live in kernel memory: the submitting thread
 * keeps a reference to it in its own table (`buf_hold`) until it sees the
 * request done, so the memory the host writes into outlives the request.
 *
 * ---- Locks ----------------------------------------------------------------------
 *
 *   aio (Q)   one kernel-wide mutex: every request's state, result and
 *             notification fields, the in-flight count, the waiters' list
 *             (aio_suspend, lio_listio LIO_WAIT, aio_cancel), the threads
 *             engine's queue. It comes before the port, kqueue and signal
 *             locks (a completion queues its event holding it).
 *   aioring   the io_uring's submission and reaping (uring.ts), a leaf.
 */
import { I32, F64, define_struct, kcache_create, kregion_create } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mutex_class } from '../kern/lockdebug.js';
import { define_tunable } from '../kern/options.js';
import { kstat_counter, kstat_add, kstat_gauge } from '../kern/kstat.js';
import { sq_wake_all } from '../kern/sleepq.js';
import { mono_now } from '../kern/time.js';
import { errno_of } from '../kern/errno.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** AIO requests in the kernel at once, done-but-uncollected ones included (default 4096); beyond: EAGAIN. */
    aio_max?: number;
    /** Blocking I/O threads of the fallback engine (default 4). */
    aio_threads?: number;
  }
}
define_tunable('aio_max', 4096, 4, 32768);
define_tunable('aio_threads', 4, 1, 64);

/** struct aioreq. `[key]`: what guards the field (legend in kern/lockorder.ts). */
const AIOREQ = define_struct('aioreq', {
  link: 'i32',     // [Q] word 0: the cache's free link while free
  id: 'i32',       // [Q,a] the aio_id while allocated, 0 free
  state: 'i32',    // [Q,a] RS_*
  op: 'i32',       // [c] OP_*
  fd: 'i32',       // [c] the OS descriptor
  nbytes: 'i32',   // [c]
  res: 'i32',      // [Q] bytes transferred, or -errno, once DONE
  notify: 'i32',   // [c] SIGEV_* of the request
  slot: 'i32',     // [Q] SIGEV_PORT: the reserved port event slot (0 once queued or given back)
  portfd: 'i32',   // [c] SIGEV_PORT: the port
  lid: 'i32',      // [c] the submitting LWP
  signo: 'i32',    // [c] SIGEV_SIGNAL
  kq: 'i32',       // [c] SIGEV_KEVENT: the kqueue (handle)
  kn: 'i32',       // [c] SIGEV_KEVENT: its EVFILT_AIO knote
  mbox: 'i32',     // [c] SIGEV_THREAD: the binding of the submitter's mailbox (kern/mailbox.ts)
  lio: 'i32',      // [c] the lio_listio group, 0 none
  flags: 'i32',    // [Q] RF_*
  offset: 'f64',   // [c]
  sigval: 'f64',   // [c] sigev_value (SIGEV_KEVENT: udata)
  user: 'f64',     // [c] SIGEV_PORT: portnfy_user
  tsub: 'f64',     // [c] submission time (mono ns)
  tstart: 'f64',   // [Q] when the engine started it
});
export const R = AIOREQ.F;
/** The host's ECANCELED and EINPROGRESS (positive). */
export const ECANCELED_NO = errno_of('ECANCELED'), EINPROGRESS_NO = errno_of('EINPROGRESS');
export const reqs = kcache_create('aioreq', AIOREQ, (t) => t.aio_max!);

/** Request states. */
export const RS_QUEUED = 1, RS_ACTIVE = 2, RS_DONE = 3;
/** Operations. */
export const OP_READ = 1, OP_WRITE = 2, OP_FSYNC = 3, OP_DSYNC = 4, OP_LIO = 5;
/** Request flags: a host cancel was asked for; a lio_listio group (lio.ts: no I/O, outside the counters). */
export const RF_CANCELASKED = 1, RF_GROUP = 2;
/** An fsync held back (QUEUED) until the reads and writes before it on its descriptor are done (aio_defer_fsync). */
export const RF_DEFERRED = 4;

/** Kernel-wide state: the lock, the waiters' list, the engine, id generation, in-flight count. */
export const aiostate = kregion_create('aio', () => 16);
export const W_LOCK = 0, W_WAITQ = 2 /* head, tail */, W_ENGINE = 4, W_GEN = 5, W_INFLIGHT = 6, W_DEFERRED = 7;
mutex_class('aio', aiostate, { words: 1 });

export const C_SUBMITTED = kstat_counter('aio', 'submitted');
export const C_COMPLETED = kstat_counter('aio', 'completed');
export const C_CANCELLED = kstat_counter('aio', 'cancelled');
export const C_FAILED = kstat_counter('aio', 'failed');
export const C_QUEUE_US = kstat_counter('aio', 'queue_time_us');
export const C_SERVICE_US = kstat_counter('aio', 'service_time_us');
kstat_gauge('aio', 'in_flight', () => Atomics.load(I32, aiostate.base + W_INFLIGHT));
kstat_gauge('aio', 'requests', () => reqs.inuse);
/** fsyncs held back behind their descriptor's earlier I/O now (aio_defer_fsync). */
kstat_gauge('aio', 'deferred', () => Atomics.load(I32, aiostate.base + W_DEFERRED));

export const aio_lock = (): number => aiostate.base + W_LOCK;
export const aio_waitq = (): number => aiostate.base + W_WAITQ;

export function f64r(h: number, off: number): number { return F64[(h + off) >> 1]!; }
export function f64w(h: number, off: number, v: number): void { F64[(h + off) >> 1] = v; }

/** The request named by aio_id `id`, or 0 (stale, never issued, not a number). Lock-free: re-check under the lock. */
export function aio_lookup(id: number): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || id > 0x7fffffff) return 0;
  const idx = (id & 0xffff) - 1;
  if (idx < 0 || idx >= reqs.count) return 0;
  const h = reqs.handle(idx);
  return Atomics.load(I32, h + R.id) === id ? h : 0;
}

/** The aio_ids of the requests that exist now (published or being made), for sweeps and checks. */
export function aio_ids(): number[] {
  const out: number[] = [];
  for (let i = 0; i < reqs.count; i++) {
    const id = Atomics.load(I32, reqs.handle(i) + R.id);
    if (id !== 0) out.push(id);
  }
  return out;
}

/** A new request (fields zero, id set, not yet published), or 0 when aio_max are in use. */
export function aio_alloc(): number {
  const h = reqs.alloc();
  if (h === 0) return 0;
  aio_renew_id(h);
  return h;
}

/**
 * Gives request h, allocated and not yet published (nobody can name it),
 * the next generation of its slot as its aio_id: also for a notification
 * target that still holds something named by its id (an id comes back
 * after 32767 generations: kqueue/filters/aio.ts).
 */
export function aio_renew_id(h: number): number {
  // The counter is an int32 that only grows: past 2^31 - 1 it reads negative,
  // and a negative remainder gave a negative (or zero) generation, an aio_id
  // no call accepts (the request could never be collected). Read unsigned.
  const g = ((Atomics.add(I32, aiostate.base + W_GEN, 1) >>> 0) % 32767) + 1;
  const id = g * 65536 + reqs.index(h) + 1;
  Atomics.store(I32, h + R.id, id);
  return id;
}

/** Frees a request nobody can reach any more (never published, or collected under the lock). */
export function aio_free(h: number): void {
  Atomics.store(I32, h + R.id, 0);
  Atomics.store(I32, h + R.state, 0);
  reqs.free(h);
}

/** Publishes a filled request as QUEUED or ACTIVE (aio lock held). */
export function aio_publish_locked(h: number, state: number): void {
  f64w(h, R.tsub, mono_now());
  if (state === RS_ACTIVE) f64w(h, R.tstart, f64r(h, R.tsub));
  Atomics.store(I32, h + R.state, state);
  if ((I32[h + R.flags]! & RF_GROUP) !== 0) return;
  Atomics.add(I32, aiostate.base + W_INFLIGHT, 1);
  kstat_add(C_SUBMITTED);
}

/** What a completion notifies, by notification kind (installed by notify.ts). */
export type AioNotifier = (h: number) => void;
const notifiers = new Map<number, AioNotifier>();
let lioDone: AioNotifier = () => {};
export function aio_set_notifier(kind: number, fn: AioNotifier): void { notifiers.set(kind, fn); }
/** lio_listio's group accounting (lio.ts), run for every member's completion. */
export function aio_set_lio_hook(fn: AioNotifier): void { lioDone = fn; }

/** Moves h to DONE with result res and notifies (aio lock held, h QUEUED or ACTIVE). */
export function aio_done_locked(h: number, res: number): void {
  const now = mono_now();
  const st = I32[h + R.state]!;
  I32[h + R.res] = res;
  Atomics.store(I32, h + R.state, RS_DONE);
  if ((I32[h + R.flags]! & RF_DEFERRED) !== 0) { I32[h + R.flags]! &= ~RF_DEFERRED; Atomics.sub(I32, aiostate.base + W_DEFERRED, 1); } // cancelled while held
  const group = (I32[h + R.flags]! & RF_GROUP) !== 0;
  if (!group) {
    Atomics.sub(I32, aiostate.base + W_INFLIGHT, 1);
    kstat_add(res === -ECANCELED_NO ? C_CANCELLED : res < 0 ? C_FAILED : C_COMPLETED);
  }
  if (st === RS_ACTIVE && !group) {
    const tsub = f64r(h, R.tsub), ts = f64r(h, R.tstart);
    kstat_add(C_QUEUE_US, Math.max(0, Math.round((ts - tsub) / 1000)));
    kstat_add(C_SERVICE_US, Math.max(0, Math.round((now - ts) / 1000)));
  }
  notifiers.get(I32[h + R.notify]!)?.(h);
  if (I32[h + R.lio] !== 0) lioDone(h);
  sq_wake_all(aio_waitq());
}

/**
 * Whether a read or write on descriptor `fd` submitted before request h is
 * still queued or in progress (aio lock held): aio_fsync must not start
 * until none is (POSIX: it synchronizes the I/O queued at the time of the
 * call). Submission order is tsub, set under the lock at publication.
 * `active_only` counts in-progress ones only: the threads engine's barrier,
 * for which a QUEUED request is never one to wait for. Its queue is FIFO
 * (taken under this lock), so when an I/O thread has taken fsync h, every
 * request pushed before h is taken already; one still QUEUED was pushed
 * after h, or is published and not pushed yet (its submitter publishes and
 * pushes in two holds of the lock, and another LWP's fsync may be published
 * and pushed in between, with a later tsub). Waiting for such a request
 * deadlocked an engine whose I/O threads were all in such barriers: the
 * request sat behind them in the ring (test/aio-threads-fsync). Its
 * submission raced with the aio_fsync, so POSIX does not order them.
 */
export function aio_writes_before_locked(h: number, fd: number, active_only = false): boolean {
  const t = f64r(h, R.tsub);
  for (let i = 0; i < reqs.count; i++) {
    const o = reqs.handle(i);
    if (o === h || I32[o + R.fd] !== fd) continue;
    const st = I32[o + R.state]!, op = I32[o + R.op]!;
    if ((st === RS_ACTIVE || (st === RS_QUEUED && !active_only)) && (op === OP_READ || op === OP_WRITE) && f64r(o, R.tsub) <= t) return true;
  }
  return false;
}


/*
 * Held fsyncs. An engine that cannot order an fsync behind its own
 * descriptor's I/O alone holds it back: io_uring's only ordering across
 * submissions is IOSQE_IO_DRAIN, which waits for every request submitted
 * before it in the whole ring, so one read of a pipe nobody writes held
 * every later aio_fsync of the process, on any file, until that read
 * ended (a fuzz run left such fsyncs done after their submitters had given
 * up on them). Instead the fsync stays QUEUED, flagged RF_DEFERRED, while a
 * read or write submitted before it on its descriptor is outstanding, and
 * each completion that finds held fsyncs (W_DEFERRED, kept exact) starts
 * those now free (aio_resume_deferred). A held fsync is cancelled as any
 * queued request is.
 */
let resumeHook: (hs: number[], ids: number[]) => void = () => {};
/** The engine's start for held fsyncs found free (each already ACTIVE). */
export function aio_set_resume_hook(fn: (hs: number[], ids: number[]) => void): void { resumeHook = fn; }

/**
 * Holds published fsync h on fd when reads or writes before it on fd are
 * outstanding (takes the aio lock): true when held, or no longer ACTIVE
 * (nothing to start); false when the engine starts it now.
 */
export function aio_defer_fsync(h: number, fd: number): boolean {
  const L = aio_lock();
  mutex_enter(L);
  const st = I32[h + R.state]!;
  const hold = st === RS_ACTIVE && aio_writes_before_locked(h, fd);
  if (hold) {
    Atomics.store(I32, h + R.state, RS_QUEUED);
    I32[h + R.flags]! |= RF_DEFERRED;
    Atomics.add(I32, aiostate.base + W_DEFERRED, 1);
  }
  mutex_exit(L);
  return hold || st !== RS_ACTIVE;
}

/** Starts the held fsyncs whose descriptors' earlier I/O is done (no lock held). */
function aio_resume_deferred(): void {
  const hs: number[] = [], ids: number[] = [];
  mutex_enter(aio_lock());
  for (let i = 0; i < reqs.count && Atomics.load(I32, aiostate.base + W_DEFERRED) > hs.length; i++) {
    const h = reqs.handle(i);
    if ((I32[h + R.flags]! & RF_DEFERRED) === 0 || I32[h + R.state] !== RS_QUEUED) continue;
    if (aio_writes_before_locked(h, I32[h + R.fd]!)) continue;
    I32[h + R.flags]! &= ~RF_DEFERRED;
    Atomics.store(I32, h + R.state, RS_ACTIVE);
    f64w(h, R.tstart, mono_now());
    hs.push(h); ids.push(I32[h + R.id]!);
  }
  Atomics.sub(I32, aiostate.base + W_DEFERRED, hs.length);
  mutex_exit(aio_lock());
  if (hs.length > 0) resumeHook(hs, ids);
}

/**
 * An engine's completion of request `id` with `res` (bytes or -errno): once
 * (a stale id, or a request already done, is ignored). Any thread, no lock
 * held. A completion may free held fsyncs: those start here.
 */
export function aio_complete(id: number, res: number): void {
  const h = aio_lookup(id);
  if (h === 0) return;
  mutex_enter(aio_lock());
  const st = I32[h + R.state]!;
  if (I32[h + R.id] === id && (st === RS_ACTIVE || st === RS_QUEUED)) aio_done_locked(h, res);
  mutex_exit(aio_lock());
  if (Atomics.load(I32, aiostate.base + W_DEFERRED) > 0) aio_resume_deferred();
}

/** Whether request h (id) is done or gone: a lock-free peek. */
export function aio_settled(h: number, id: number): boolean {
  return Atomics.load(I32, h + R.id) !== id || Atomics.load(I32, h + R.state) === RS_DONE;
}

// ---------------------------------------------------- the submitter's buffer refs

const refs = new Map<number, Uint8Array>();
let sweepAt = 64;
/**
 * Keeps the buffer of request `id` referenced in this thread until the
 * request is seen done: the host writes into its backing store meanwhile.
 */
export function buf_hold(id: number, buf: Uint8Array): void {
  refs.set(id, buf);
  if (refs.size < sweepAt) return;
  for (const k of refs.keys()) { const h = aio_lookup(k); if (h === 0 || aio_settled(h, k)) refs.delete(k); }
  sweepAt = Math.max(64, refs.size * 2);
}
export function buf_drop(id: number): void { refs.delete(id); }
/** The ids this thread holds buffers of (LWP exit). */
export function buf_ids(): number[] { return [...refs.keys()]; }
