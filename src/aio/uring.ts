/**
 * The io_uring engine: one ring for the whole kernel, set up once by the
 * first thread that submits (io_uring_setup through libc's syscall(2)); its
 * descriptor and layout (the params' offsets) are kept in kernel memory, and
 * every thread maps the same ring pages itself (mmap of the ring fd, viewed
 * with koffi.view: no FFI call per entry). Chosen by measurement
 * (bench/aio-engines.bench.ts: ~7x libuv's pool at queue depth 1).
 *
 * Submission, from any thread, under the aioring lock: the SQE is written at
 * the shared SQ tail and io_uring_enter submits it at once. A read of cached
 * data completes inside that enter, so the submitter then reaps the CQ
 * itself (still under the lock; the completions are made after it is
 * dropped): such a request is done, and its event queued, before aio_read
 * returns. Every later completion signals an eventfd registered with
 * IORING_REGISTER_EVENTFD, which sits in the intr thread's epoll set; its
 * handler reaps the CQ (the submitter keeps the eventfd quiet during its
 * enter: enter_locked). Requests out in the ring are counted (W_OUT): while
 * any is, the last host waiter's linger, which keeps the kernel's set from
 * the intr thread, neither starts nor goes on, and a submission that leaves
 * one out ends it (intr/handover.ts): its completion would otherwise wait
 * in the set up to two linger windows, whoever waits for it. Not IORING_REGISTER_EVENTFD_ASYNC, which signals only
 * completions made by io-wq workers: a read of an empty pipe or socket is
 * armed as a poll, and a buffered read that misses the page cache may be
 * retried the same way; both complete later as task work of the submitting
 * thread, with no io-wq worker and so no signal, and nobody reaped them (a
 * pipe read never completed). No thread of ours ever blocks in
 * io_uring_enter, and a thread waiting in aio_suspend also reaps (until the
 * intr thread runs, it polls in 1 ms steps).
 *
 * The CQ has twice the SQ's entries and the SQ as many as aio_max requests
 * (+ as many cancels): the host can never have more completions to post
 * than the CQ holds. A buffer's address goes in the SQE as it is: the user's
 * Uint8Array is over a SharedArrayBuffer, whose backing store never moves,
 * and koffi passes a typed array to a `void *` by address (memmove(p, p, 0)
 * returns it); aio.ts keeps the buffer referenced until the request is done.
 *
 * user_data: the low word is the aio_id, the high word 0 for a request and
 * 1 for an IORING_OP_ASYNC_CANCEL of one (whose own completion is ignored:
 * the cancelled request completes with -ECANCELED through the usual path).
 *
 * The ring primitives (setup, mapping, SQE and CQE access) are kern/uring.ts.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mutex_class } from '../kern/lockdebug.js';
import {
  uring_host, uring_setup, uring_eventfd, uring_map, uring_enter, sqe_put, sqe_withdraw, cq_take, type UringHost, type UringMap, type Cqes,
  IOP_FSYNC, IOP_READ, IOP_WRITE, IOP_ASYNC_CANCEL, CQ_EVENTFD_DISABLED,
} from '../kern/uring.js';
import { tunables } from '../kern/boot.js';
import {
  intr_source_hold, intr_add_handler, intr_thread_start, intr_running, intr_set_served_work_hook, intr_served_work_begun, os_eventfd_drain, DIR_READ, held,
} from '../intr/kapi.js';
import { R, OP_READ, OP_WRITE, OP_FSYNC, OP_DSYNC, aio_complete, aio_defer_fsync, aio_set_resume_hook, f64r } from './aio.js';
import type { AioEngine } from './engine.js';

const FSYNC_DATASYNC = 1;
const EINTR = 4, EAGAIN = 11, EBUSY = 16;

/** The ring's layout in kernel memory (kern/uring.ts's UringLayout, for every thread to map the same ring). */
const ring = kregion_create('aio.uring', () => 32);
const W_LOCK = 0, W_FD = 1 /* +1 */, W_EVFD = 2 /* +1 */, W_SQN = 3, W_CQN = 4, W_EVSRC = 5, W_PENDING = 6, W_LEN = 7;
/** Requests out in the ring: put, their completion not yet taken (written under the lock, read without it). */
const W_OUT = 24;
const W_SQOFF = 8 /* head, tail, mask, entries, flags, dropped, array */, W_CQOFF = 16 /* head, tail, mask, entries, overflow, cqes, flags */;
mutex_class('aioring', ring, { words: 1 });

let mapped: UringMap | null = null;

/** Maps the ring described in kernel memory into this thread (ring set up). */
function map_ring(h: UringHost): UringMap | null {
  const b = ring.base;
  const words = (at: number): number[] => Array.from(I32.subarray(b + at, b + at + 7));
  return uring_map(h, I32[b + W_FD]! - 1, { sqn: I32[b + W_SQN]!, cqn: I32[b + W_CQN]!, sqoff: words(W_SQOFF), cqoff: words(W_CQOFF), len: I32[b + W_LEN]! });
}

/** io_uring_setup + eventfd registration, into kernel memory (ring lock held): true on success. */
function setup_locked(h: UringHost): boolean {
  let n = 8;
  while (n < tunables().aio_max! * 2) n *= 2;
  const r = uring_setup(h, Math.min(n, 32768));
  if (r === null) return false;
  const b = ring.base, l = r.layout;
  I32[b + W_SQN] = l.sqn; I32[b + W_CQN] = l.cqn;
  for (let i = 0; i < 7; i++) { I32[b + W_SQOFF + i] = l.sqoff[i]!; I32[b + W_CQOFF + i] = l.cqoff[i]!; }
  I32[b + W_LEN] = l.len;
  I32[b + W_FD] = r.fd + 1;
  const ev = uring_eventfd(h, r.fd);
  if (ev < 0) return false;
  I32[b + W_EVFD] = ev + 1;
  return true;
}

/**
 * Sets the ring up (once, kernel-wide) and maps it in this thread. `want`
 * false (UKERN_AIO_ENGINE=threads) or a failed setup leaves it off: false.
 * Decided under the ring lock; the caller records the choice.
 */
export function uring_attach(want: boolean): boolean {
  if (mapped !== null) return true;
  const h = uring_host();
  if (h === null) return false;
  const b = ring.base;
  mutex_enter(b + W_LOCK);
  let ok = I32[b + W_FD] !== 0;
  let fresh = false;
  if (!ok && want) { ok = setup_locked(h); fresh = ok; }
  if (ok) mapped = map_ring(h);
  mutex_exit(b + W_LOCK);
  if (mapped === null) return false;
  if (fresh && intr_source_hold(I32[b + W_EVFD]! - 1, DIR_READ) === 0) {
    Atomics.store(I32, b + W_EVSRC, held.src);
    intr_thread_start();
  }
  return true;
}

/** Whether the ring is set up (some thread attached it). */
export function uring_exists(): boolean { return Atomics.load(I32, ring.base + W_FD) !== 0; }

/** Writes one SQE (ring lock held): the next enter submits it. A request's (hi 0) counts as out until its completion is taken. */
function put_locked(m: UringMap, op: number, fd: number, addr: number, len: number, off: number, lo: number, hi: number, opflags: number): void {
  sqe_put(m, op, fd, addr, len, off, lo, hi, opflags);
  I32[ring.base + W_PENDING]!++;
  if (hi === 0) Atomics.add(I32, ring.base + W_OUT, 1);
}

const cq: Cqes = { lo: [], hi: [], res: [] };
const cqIds: number[] = [], cqRes: number[] = [];
/** Moves the CQEs posted so far into cqIds/cqRes (ring lock held); returns how many requests' ones (a cancel's own, hi 1, are not). */
function cq_take_locked(m: UringMap): number {
  const k = cq_take(m, cq);
  let n = 0;
  for (let i = 0; i < k; i++) if (cq.hi[i] === 0) { cqIds[n] = cq.lo[i]!; cqRes[n] = cq.res[i]!; n++; }
  if (n !== 0) Atomics.sub(I32, ring.base + W_OUT, n);
  return n;
}

/**
 * Submits the pending SQEs (ring lock held): the host's errno on failure, 0
 * otherwise. The eventfd is quiet during the enter: what completes inside it
 * the submitter reaps (cq_take_locked, next), and waking the intr thread for
 * it cost ~15 % of the IOPS of cached reads (measured). The flag is cleared
 * with a locked read-modify-write, a full barrier, before the submitter
 * reads the CQ tail: a completion the host posts after that read sees the
 * flag clear and signals.
 */
function enter_locked(h: UringHost, m: UringMap): number {
  if (m.cqFlags !== null) Atomics.or(m.cqFlags, 0, CQ_EVENTFD_DISABLED);
  const err = enter_all(h, m);
  if (m.cqFlags !== null) Atomics.and(m.cqFlags, 0, ~CQ_EVENTFD_DISABLED);
  return err;
}
function enter_all(h: UringHost, m: UringMap): number {
  const w = ring.base + W_PENDING;
  let e = 0;
  for (let tries = 0; I32[w]! > 0 && tries < 100; tries++) {
    const r = uring_enter(h, m, I32[w]!);
    if (r >= 0) { I32[w]! -= r; e = 0; continue; }
    e = h.errno();
    if (e !== EINTR && e !== EAGAIN && e !== EBUSY) return e;
  }
  // Still pending after the tries: the host's last answer (EAGAIN, say)
  // is the requests' error (withdraw_locked), not a wait for the next
  // submission, which may never come.
  return I32[w]! > 0 ? (e !== 0 ? e : EAGAIN) : 0;
}

const gone: Cqes = { lo: [], hi: [], res: [] };
/**
 * After a failed enter (ring lock held): takes the SQEs it did not submit
 * back out of the ring; returns the requests among them (their ids in
 * gone.lo; a cancel's own entry, hi 1, is not one). Left in, the next
 * enter submitted them: a request already completed with the error (its
 * buffer given back to its owner) would then have been read into or
 * written from after all.
 */
function withdraw_locked(m: UringMap): number {
  const w = ring.base + W_PENDING;
  const k = sqe_withdraw(m, I32[w]!, gone);
  I32[w] = 0;
  let n = 0;
  for (let i = 0; i < k; i++) if (gone.hi[i] === 0) gone.lo[n++] = gone.lo[i]!;
  if (n !== 0) Atomics.sub(I32, ring.base + W_OUT, n);
  return n;
}

/**
 * Completes what cq_take_locked found (no lock held). From copies: a
 * completion may start held fsyncs (aio_complete's resume hook), whose
 * submission takes the CQ again into cqIds/cqRes, and the entries not yet
 * completed here were overwritten (those requests then never completed).
 */
function complete_taken(n: number): number {
  if (n === 1) { aio_complete(cqIds[0]!, cqRes[0]!); return 1; }
  const ids = cqIds.slice(0, n), res = cqRes.slice(0, n);
  for (let i = 0; i < n; i++) aio_complete(ids[i]!, res[i]!);
  return n;
}

/** Completes the requests withdraw_locked took out with the enter's error (no lock held). */
function complete_gone(n: number, err: number): void {
  const ids = gone.lo.slice(0, n);
  for (let i = 0; i < n; i++) aio_complete(ids[i]!, -err);
}

/** Reaps the CQ in this thread (no lock held): completions made. */
export function uring_reap(): number {
  const m = mapped;
  if (m === null || Atomics.load(m.cqHead, 0) === Atomics.load(m.cqTail, 0)) return 0;
  const L = ring.base + W_LOCK;
  mutex_enter(L);
  const n = cq_take_locked(m);
  mutex_exit(L);
  return complete_taken(n);
}

const OPS: Record<number, number> = { [OP_READ]: IOP_READ, [OP_WRITE]: IOP_WRITE, [OP_FSYNC]: IOP_FSYNC, [OP_DSYNC]: IOP_FSYNC };

/** The native address of a Uint8Array over a SharedArrayBuffer (its first byte). */
export function buf_addr(buf: Uint8Array): number {
  const a = uring_host()!.addr(buf, buf, 0);
  return typeof a === 'bigint' ? Number(a) : (a as number);
}

function uring_start(h: number, id: number, buf: Uint8Array | null): void {
  const op = I32[h + R.op]!;
  // An fsync starts once the reads and writes submitted before it on its
  // descriptor are done (POSIX syncs the I/O queued at the time of the
  // call; io_uring would run it beside them): until then it is held
  // (aio.ts aio_defer_fsync), and the completion that frees it starts it.
  if ((op === OP_FSYNC || op === OP_DSYNC) && aio_defer_fsync(h, I32[h + R.fd]!)) return;
  uring_submit(h, id, buf);
}
// Held fsyncs freed by a completion (in the completing thread: it has the ring mapped).
aio_set_resume_hook((hs, ids) => { for (let i = 0; i < hs.length; i++) uring_submit(hs[i]!, ids[i]!, null); });

/** Puts request h (id) in the ring and submits it (no lock held). */
function uring_submit(h: number, id: number, buf: Uint8Array | null): void {
  const m = mapped!, hs = uring_host()!;
  const op = I32[h + R.op]!;
  const addr = buf === null ? 0 : buf_addr(buf);
  const L = ring.base + W_LOCK;
  mutex_enter(L);
  put_locked(m, OPS[op]!, I32[h + R.fd]!, addr, op === OP_READ || op === OP_WRITE ? I32[h + R.nbytes]! : 0,
    op === OP_READ || op === OP_WRITE ? f64r(h, R.offset) : 0, id, 0, op === OP_DSYNC ? FSYNC_DATASYNC : 0);
  const err = enter_locked(hs, m);
  const ng = err !== 0 ? withdraw_locked(m) : 0;
  const n = cq_take_locked(m);
  mutex_exit(L);
  // Left out in the ring (not done inside its enter): its completion comes
  // by the eventfd, which a linger of the kernel's set keeps from the intr thread.
  if (Atomics.load(I32, ring.base + W_OUT) !== 0) intr_served_work_begun();
  complete_taken(n);
  if (ng !== 0) complete_gone(ng, err);
}

function uring_cancel(_h: number, id: number): boolean {
  const m = mapped!, hs = uring_host()!;
  const L = ring.base + W_LOCK;
  mutex_enter(L);
  // IORING_OP_ASYNC_CANCEL: addr is the target's user_data.
  put_locked(m, IOP_ASYNC_CANCEL, -1, id, 0, 0, id, 1, 0);
  const err = enter_locked(hs, m);
  const ng = err !== 0 ? withdraw_locked(m) : 0;
  const n = cq_take_locked(m);
  mutex_exit(L);
  complete_taken(n);
  if (ng !== 0) complete_gone(ng, err);
  return true;
}

export const uring_engine: AioEngine = {
  name: 'io_uring', queued: false, start: uring_start, cancel: uring_cancel, poll: uring_reap,
  // Until the intr thread runs, nobody hears the eventfd: waiters poll the CQ.
  polls: () => !intr_running(),
};

// While requests are out, the kernel's set is the intr thread's: no linger (intr/handover.ts).
intr_set_served_work_hook(() => ring.base !== 0 && Atomics.load(I32, ring.base + W_OUT) !== 0);

// The intr thread's handler: the eventfd says the host posted completions.
intr_add_handler((src) => {
  if (src === 0 || src !== Atomics.load(I32, ring.base + W_EVSRC)) return 0;
  if (mapped === null && !uring_attach(false)) return 0;
  os_eventfd_drain(I32[ring.base + W_EVFD]! - 1);
  return uring_reap();
});
