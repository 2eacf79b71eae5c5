/**
 * Submission of one copied-in request: allocate it (EAGAIN past aio_max),
 * reserve its notification (a port slot, a knote, a thread mailbox: the
 * errors come now, never at completion), publish it under the aio lock and
 * hand it to the engine. Everything that can fail is done before the
 * request is published, and undone if it fails, so a failed call leaves
 * kernel memory as it found it.
 */
import { I32 } from '../kern/kmem.js';
import { fail } from '../kern/errno.js';
import { cur } from '../kern/hdr.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { os_fd_open } from '../intr/kapi.js';
import { libc_binder } from '../kern/libc.js';
import { SIGEV_PORT } from '../timers/consts.js';
import {
  R, aio_alloc, aio_free, aio_lock, aio_publish_locked, buf_hold, f64w, RS_QUEUED, RS_ACTIVE,
} from './aio.js';
import { aio_engine } from './engine.js';
import { port_reserve, port_unreserve } from './notify.js';
import type { Cb } from './copy.js';

/** Reservations of other notification kinds (kevent.ts, signal.ts, thread.ts install theirs). */
export interface NotifyOps {
  /**
   * Reserves what the completion will need (no lock held); throws the errno.
   * May give h a new aio_id (aio_renew_id: kqueue/filters/aio.ts), so callers
   * read the id after aio_make.
   */
  reserve(h: number, id: number, c: Cb, syscall: string): void;
  /** Undoes reserve for a request that is not published. */
  unreserve(h: number): void;
}
const kinds = new Map<number, NotifyOps>();
kinds.set(SIGEV_PORT, {
  reserve: (h, id, c, S) => port_reserve(h, id, c.ev.port, c.ev.user, S),
  unreserve: port_unreserve,
});
export function aio_notify_register(kind: number, ops: NotifyOps): void { kinds.set(kind, ops); }

const bind = libc_binder({ fcntl: 'int fcntl(int, int, int)' });
/**
 * Whether fd is open: fcntl(F_GETFD), the cheapest question a descriptor
 * answers (statx, which intr's os_fd_open asks, showed as ~10 % of a submission's
 * CPU at queue depth 32); os_fd_open where libc cannot be loaded.
 */
function fd_open(fd: number): boolean {
  const c = bind();
  return c === null ? os_fd_open(fd) : (c.fcntl(fd, 1 /* F_GETFD */, 0) as number) >= 0;
}

/** EBADF unless fd is an open OS descriptor. */
export function fd_check(fd: number, S: string): void {
  if (!fd_open(fd)) fail('EBADF', S, `fd ${fd}`);
}

/**
 * Makes request(s) for `c` with operation `op` in group `lio` (0 none), not
 * yet started: the handle, its id in made.id. Throws EAGAIN or the
 * notification's errno, with nothing left behind.
 */
export function aio_make(c: Cb, op: number, lio: number, S: string): number {
  const h = aio_alloc();
  if (h === 0) fail('EAGAIN', S, 'aio_max requests in the kernel');
  const id = I32[h + R.id]!;
  I32[h + R.op] = op; I32[h + R.fd] = c.fd; I32[h + R.nbytes] = c.nbytes;
  f64w(h, R.offset, c.offset);
  I32[h + R.notify] = c.ev.notify; I32[h + R.signo] = c.ev.signo;
  f64w(h, R.sigval, c.ev.value); f64w(h, R.user, c.ev.user);
  I32[h + R.lid] = cur.lid; I32[h + R.lio] = lio;
  const k = kinds.get(c.ev.notify);
  if (k !== undefined) {
    try { k.reserve(h, id, c, S); } catch (e) { aio_free(h); throw e; }
  }
  return h;
}

/** Undoes aio_make for a request never published (lio_listio failing part-way). */
export function aio_unmake(h: number): void {
  kinds.get(I32[h + R.notify]!)?.unreserve(h);
  aio_free(h);
}

/**
 * A test seam: run (no lock held) between a request's publication and its
 * start, the window in which another LWP may submit and start its own
 * (test/aio-threads-fsync). null outside tests.
 */
export const go_seam: { published: ((id: number) => void) | null } = { published: null };

/** Publishes request h and starts it (no lock held); its buffer is held in this thread until done. */
export function aio_go(h: number, buf: Uint8Array | null): void {
  const eng = aio_engine();
  const id = I32[h + R.id]!;
  if (buf !== null) buf_hold(id, buf);
  mutex_enter(aio_lock());
  aio_publish_locked(h, eng.queued ? RS_QUEUED : RS_ACTIVE);
  mutex_exit(aio_lock());
  if (go_seam.published !== null) go_seam.published(id);
  eng.start(h, id, buf);
}
