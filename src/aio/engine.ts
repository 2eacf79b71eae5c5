/**
 * The AIO engine contract: what the request table (aio.ts) asks of the code
 * that performs the I/O, so that the two backends are interchangeable and
 * each fits in one file. io_uring (uring.ts) is the engine wherever
 * io_uring_setup works; dedicated blocking I/O threads (threads.ts) are the
 * fallback, also chosen by UKERN_AIO_ENGINE=threads. The choice is made once,
 * kernel-wide (a word in kernel memory), by the first submission.
 */
import { I32 } from '../kern/kmem.js';
import { aiostate, W_ENGINE } from './aio.js';
import { uring_attach, uring_engine } from './uring.js';
import { threads_engine } from './threads.js';
import { kstat_gauge } from '../kern/kstat.js';

export interface AioEngine {
  readonly name: string;
  /** Whether a request waits in a queue of ours before the engine starts it (QUEUED, cancellable) or starts at once (ACTIVE). */
  readonly queued: boolean;
  /**
   * Starts published request h (id) on `buf` (null: fsync). No lock held;
   * never throws: a failure completes the request with -errno.
   */
  start(h: number, id: number, buf: Uint8Array | null): void;
  /** Asks the host to stop an ACTIVE request; it then completes (-ECANCELED if stopped in time). */
  cancel(h: number, id: number): boolean;
  /** Makes the completions ready now in this thread (io_uring's CQ); returns how many. */
  poll(): number;
  /** Whether waiters must poll (nobody else reaps yet). */
  polls(): boolean;
}

const ENG_URING = 1, ENG_THREADS = 2;
/** Which engine runs: 0 none chosen yet, 1 io_uring, 2 threads. */
kstat_gauge('aio', 'engine', () => Atomics.load(I32, aiostate.base + W_ENGINE));
let eng: AioEngine | undefined;

/** This kernel's engine, chosen at the first call anywhere and attached in this thread. */
export function aio_engine(): AioEngine {
  if (eng !== undefined) return eng;
  const w = aiostate.base + W_ENGINE;
  let e = Atomics.load(I32, w);
  if (e !== ENG_THREADS) {
    const want = process.env.UKERN_AIO_ENGINE !== 'threads';
    e = uring_attach(want && e !== ENG_THREADS) ? ENG_URING : ENG_THREADS;
    Atomics.compareExchange(I32, w, 0, e);
    e = Atomics.load(I32, w);
  }
  eng = e === ENG_URING ? uring_engine : threads_engine;
  return eng;
}

/** The engine if this thread attached one already (no side effects). */
export function aio_engine_peek(): AioEngine | undefined { return eng; }
