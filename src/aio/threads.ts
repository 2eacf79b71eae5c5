/**
 * The fallback engine: dedicated blocking I/O threads (kernel threads
 * started like the clock and intr threads), for hosts where io_uring_setup
 * fails, or when UKERN_AIO_ENGINE=threads says so. The request queue is a
 * ring of aio_ids in kernel memory under the aio lock, so a queued request
 * can be cancelled exactly (the lock decides whether a thread took it or a
 * cancel did: aio.ts states).
 *
 * The user's buffer is a JS object and cannot travel through kernel memory:
 * the submitter posts `{ id, buf }` on a BroadcastChannel every I/O thread
 * listens on (its SharedArrayBuffer is shared, not copied), before it queues
 * the id and wakes a thread. The thread that takes the id finds the buffer
 * with receiveMessageOnPort (no event loop needed); each thread keeps what
 * it received in a stash and drops entries whose request another thread
 * took or a cancel ended. The I/O itself is fs.readSync / writeSync /
 * fsyncSync / fdatasyncSync, blocking that thread only.
 */
import { BroadcastChannel, is_main_thread, receiveMessageOnPort } from '../kern/host.js';
import { I32, kregion_create } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { kthread_start } from '../lwp/kapi.js';
import { tunables } from '../kern/boot.js';
import { aio_lock, aio_lookup, aio_complete, R, RS_QUEUED, RS_ACTIVE, f64w } from './aio.js';
import { errno_of } from '../kern/errno.js';

const EIO_NO = errno_of('EIO');
import { mono_now } from '../kern/time.js';
import type { AioEngine } from './engine.js';

export const CHANNEL = 'ukern.aio';
function ringsize(t: { aio_max?: number }): number { let n = 16; while (n < t.aio_max!) n *= 2; return n; }
/** The queue: head, tail (the word threads wait on), claimed start, ready threads, then the ring. */
export const tq = kregion_create('aio.threads', (t) => T_RING + ringsize(t));
export const T_HEAD = 0, T_TAIL = 1, T_CLAIM = 2, T_READY = 3, T_RING = 4;

const mask = (): number => tq.words - T_RING - 1;
/** Per I/O thread (aio<i>): its starts that failed before it was up (lwp/kthread.ts KthreadClaim). */
const tfails = kregion_create('aio.tfails', (t) => t.aio_threads!);

/**
 * Queues id for the I/O threads (aio lock held). A request cancelled while
 * queued leaves its id in the ring until a thread passes it, so while every
 * thread is held (reads of pipes nobody writes) submit-and-cancel cycles
 * fill the ring with dead ids, however few requests are alive: writing on
 * then overwrote the oldest entries, live ones too, and such a request was
 * never started (found by reading; test/aio-threads-ring). A full ring is
 * compacted first: the ids still queued move to its end, in order, and the
 * head follows them (the tail, the word threads wait on, only grows). They
 * are fewer than its size: it has at least aio_max entries, and id's
 * request, published already, is one of the aio_max but not yet in it.
 */
function push_locked(id: number): void {
  const b = tq.base, t = I32[b + T_TAIL]!, m = mask();
  if (((t - I32[b + T_HEAD]!) | 0) > m) {
    const keep: number[] = [];
    for (let i = I32[b + T_HEAD]!; i !== t; i = (i + 1) | 0) {
      const q = I32[b + T_RING + (i & m)]!, h = aio_lookup(q);
      if (h !== 0 && I32[h + R.state] === RS_QUEUED) keep.push(q);
    }
    const hd = (t - keep.length) | 0;
    for (let k = 0; k < keep.length; k++) I32[b + T_RING + ((hd + k) & m)] = keep[k]!;
    I32[b + T_HEAD] = hd;
  }
  I32[b + T_RING + (t & m)] = id;
  Atomics.store(I32, b + T_TAIL, (t + 1) | 0);
}

/**
 * Takes the next queued request for an I/O thread (no lock held): its id,
 * now ACTIVE, or 0 when the queue is empty; ids a cancel ended are skipped.
 */
export function threads_take(): number {
  const b = tq.base;
  mutex_enter(aio_lock());
  for (;;) {
    const hd = I32[b + T_HEAD]!;
    if (hd === I32[b + T_TAIL]) { mutex_exit(aio_lock()); return 0; }
    const id = I32[b + T_RING + (hd & mask())]!;
    I32[b + T_HEAD] = (hd + 1) | 0;
    const h = aio_lookup(id);
    if (h === 0 || I32[h + R.state] !== RS_QUEUED) continue;
    f64w(h, R.tstart, mono_now());
    Atomics.store(I32, h + R.state, RS_ACTIVE);
    mutex_exit(aio_lock());
    return id;
  }
}

let threadsAsked = false;
/**
 * Asks for the I/O threads once kernel-wide (T_CLAIM). A request that
 * cannot be made (kthread_start returns false) gives the claim back, so
 * the next submission, in any thread, asks again: its threads asked for
 * already are not asked again by this thread, nor twice by lwp0 (a start
 * made here directly and one lwp0 makes later for an LWP can give that
 * name a second thread, which only serves the same queue). Returns false
 * when this call's request failed: the submission fails with EIO at once
 * instead of waiting for threads nobody asked for. A thread whose worker
 * ends before it is up has the claim given back by its starter
 * (lwp/kthread.ts), and only that name's memos end: the next submission
 * asks for it again, not for the others.
 */
function start_threads(): boolean {
  if (threadsAsked && Atomics.load(I32, tq.base + T_CLAIM) !== 0) return true;
  threadsAsked = true;
  if (Atomics.compareExchange(I32, tq.base + T_CLAIM, 0, 1) !== 0) return true;
  const n = tunables().aio_threads!;
  // From the main thread directly (as the intr thread): through lwp0 the start
  // would wait for lwp0's own, and a main thread blocked in aio_suspend meanwhile.
  for (let i = 0; i < n; i++) {
    const claim = { fails: tfails.base + i, words: [tq.base + T_CLAIM] };
    if (kthread_start(`aio${i}`, new URL('./aiothread.js', import.meta.url), is_main_thread(), claim)) continue;
    return false; // (the claim given back by kthread_start)
  }
  return true;
}

let allReady = false;
/**
 * Waits (once per thread, bounded) until every I/O thread listens on the
 * channel: a message posted before a thread opened its instance never
 * reaches it, and that thread could then take the id and find no buffer.
 * false also when the claim was given back meanwhile (a thread's start
 * failed before it was up: lwp/kthread.ts; its starter notifies T_CLAIM,
 * and this wait looks every 10 ms): the submission fails with EIO then,
 * as when its own request failed, and the next one asks again. A main
 * thread waiting here for threads it started itself sees their failure
 * only after the bound: its event loop, where its starts' ends are heard,
 * does not run meanwhile.
 */
function await_threads(): boolean {
  if (allReady) return true;
  const w = tq.base + T_READY, n = tunables().aio_threads!, end = Date.now() + 10_000;
  for (let r = Atomics.load(I32, w); r < n; r = Atomics.load(I32, w)) {
    if (Date.now() > end || Atomics.load(I32, tq.base + T_CLAIM) === 0) return false;
    Atomics.wait(I32, w, r, 10);
  }
  allReady = true;
  return true;
}

let chan: BroadcastChannel | undefined;
/**
 * This thread's instance of the channel, kept open: opening and closing one
 * per post costs ~150 us, a post on an open one 1-3 us. What other
 * submitters post to it is dropped at each post here and, while the thread
 * idles in its event loop, by a listener that keeps nothing (unref'd: it
 * never keeps the thread alive).
 */
function channel(): BroadcastChannel {
  if (chan !== undefined) return chan;
  chan = new BroadcastChannel(CHANNEL);
  chan.onmessage = () => {};
  chan.unref();
  return chan;
}

function threads_start(_h: number, id: number, buf: Uint8Array | null): void {
  if (!start_threads() || !await_threads()) { aio_complete(id, -EIO_NO); return; }
  if (buf !== null) {
    const c = channel();
    c.postMessage({ id, buf });
    // This instance also receives the other submitters' posts: drop them.
    while (receiveMessageOnPort(c) !== undefined) { /* not ours */ }
  }
  mutex_enter(aio_lock());
  push_locked(id);
  mutex_exit(aio_lock());
  Atomics.notify(I32, tq.base + T_TAIL, 1);
}

export const threads_engine: AioEngine = {
  name: 'threads', queued: true, start: threads_start,
  // An I/O thread waiting for a pipe or socket to be ready sees RF_CANCELASKED within 1 ms.
  cancel: () => true, poll: () => 0, polls: () => false,
};
