/**
 * The port queue under its lock: finding and locking a port by descriptor,
 * linking and unlinking event slots, waking the right getter, handing out
 * and returning slots, and releasing a closed port's struct once nothing
 * refers to it any more.
 *
 * Lock order: a source may call into the port holding its own object lock
 * (timer lock -> port lock); the port never calls a source, nor any code
 * outside the kernel core, with a port lock held. The kernel-wide slot
 * cache's spin lock is a leaf below the port lock.
 */
import { I32 } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { fd_get, DTYPE_PORT, file_notify } from '../kern/fdtab.js';
import { fail } from '../kern/errno.js';
import { cur } from '../kern/hdr.js';
import { sq_first, sq_arg, sq_wake, sq_lid } from '../kern/sleepq.js';
import { kstat_add } from '../kern/kstat.js';
import {
  P, E, ports, kevents, portLock, portIdWord, PQ_CLOSE, PQ_FREED,
  ST_RESERVED, ST_QUEUED, C_PORTS,
} from './mem.js';

/**
 * Finds the port of descriptor `fd` and returns its handle with its lock
 * held. EBADF for no descriptor (or one being closed), EBADFD for a
 * descriptor that is not a port.
 */
export function port_enter(fd: unknown, syscall: string): number {
  const h = fd_get(fd, DTYPE_PORT, syscall, 'EBADFD');
  mutex_enter(portLock(h));
  if (Atomics.load(I32, portIdWord(h)) !== fd) {
    mutex_exit(portLock(h));
    fail('EBADF', syscall, `fd ${String(fd)} was closed`);
  }
  return h;
}

/** Like {@link port_enter} but returns an errno code instead of throwing (port_sendn). */
export function port_enter_code(fd: unknown, syscall: string): number | 'EBADF' | 'EBADFD' {
  let h: number;
  try { h = fd_get(fd, DTYPE_PORT, syscall, 'EBADFD'); } catch (e) {
    if (e instanceof TypeError) throw e;
    return (e as { code: string }).code === 'EBADFD' ? 'EBADFD' : 'EBADF';
  }
  mutex_enter(portLock(h));
  if (Atomics.load(I32, portIdWord(h)) !== fd) { mutex_exit(portLock(h)); return 'EBADF'; }
  return h;
}

export function port_exit(h: number): void { mutex_exit(portLock(h)); }

/**
 * Takes an event slot for port h (lock held). EAGAIN when the port has
 * port-max-events slots out, or the kernel-wide slot cache is empty.
 */
export function slot_alloc_locked(h: number, mode: number, source: number, syscall: string): number {
  if (I32[h + P.curr]! >= I32[h + P.maxev]!) {
    port_exit(h);
    fail('EAGAIN', syscall, `port has ${I32[h + P.curr]} of port_max_events ${I32[h + P.maxev]} slots`);
  }
  const s = kevents.alloc();
  if (s === 0) { port_exit(h); fail('EAGAIN', syscall, 'kernel-wide event slots (port_events_total) exhausted'); }
  I32[h + P.curr]!++;
  I32[s + E.st] = ST_RESERVED;
  I32[s + E.flags] = mode;
  I32[s + E.source] = source;
  I32[s + E.port] = h;
  return s;
}

/** Returns a slot to the kernel-wide cache (port lock held). */
export function slot_free_locked(h: number, s: number): void {
  I32[s + E.st] = 0;
  I32[h + P.curr]!--;
  kevents.free(s);
}

/**
 * Appends slot s to the queue of port h (lock held) and wakes the waiter
 * that wants the fewest events if the queue now satisfies it. Returns true
 * when the queue went from empty to non-empty: the caller then calls
 * {@link port_readable_notify} after dropping the lock.
 */
export function enqueue_locked(h: number, s: number): boolean {
  const t = I32[h + P.tail]!;
  I32[s + E.next] = 0;
  I32[s + E.prev] = t;
  if (t === 0) I32[h + P.head] = s; else I32[t + E.next] = s;
  I32[h + P.tail] = s;
  Atomics.store(I32, s + E.st, ST_QUEUED);
  const n = I32[h + P.nent]! + 1;
  Atomics.store(I32, h + P.nent, n);
  I32[h + P.sendGen]!++;
  I32[h + P.lastSender] = cur.lid;
  if (I32[h + P.wqh] !== 0) wake_check_locked(h);
  return n === 1;
}

/**
 * Wakes the first waiter (the one wanting fewest events, port_queue_thread's
 * order) when the queue holds enough events for it (lock held).
 */
export function wake_check_locked(h: number): void {
  // A first waiter already interrupted or timed out (it unlinks itself only
  // once it runs) does not count: sq_wake unlinks it and we look again.
  for (let sl = sq_first(h + P.wqh); sl !== 0 && sq_arg(sl) <= I32[h + P.nent]!; sl = sq_first(h + P.wqh)) {
    if (sq_wake(sl)) { lastWoken.lid = sq_lid(sl); return; }
  }
}

/**
 * The LWP this thread last woke from a port wait: it is about to run even
 * though its state still reads SLEEP, so the adaptive spin counts it as
 * active (this is what lets a ping-pong enter the spinning regime).
 */
export const lastWoken = { lid: 0 };

/** Unlinks queued slot s (lock held); it becomes RESERVED. */
export function unlink_locked(h: number, s: number): void {
  const n = I32[s + E.next]!, p = I32[s + E.prev]!;
  if (p === 0) I32[h + P.head] = n; else I32[p + E.next] = n;
  if (n === 0) I32[h + P.tail] = p; else I32[n + E.prev] = p;
  I32[s + E.next] = 0; I32[s + E.prev] = 0;
  Atomics.store(I32, s + E.st, ST_RESERVED);
  Atomics.store(I32, h + P.nent, I32[h + P.nent]! - 1);
}

/** Tells watchers (kqueue EVFILT_READ) that port h became readable; call without the port lock. */
export function port_readable_notify(h: number): void {
  const f = I32[h + P.file]!;
  if (f !== 0) file_notify(f, I32[h + P.fd]!);
}

/**
 * Drops the port lock, releasing the struct if the port is closed and
 * nothing refers to it any more: no thread inside port_get(n), no slot out.
 */
export function port_exit_release(h: number): void {
  const f = I32[h + P.flags]!;
  if ((f & (PQ_CLOSE | PQ_FREED)) === PQ_CLOSE && I32[h + P.thrcnt] === 0 && I32[h + P.curr] === 0) {
    I32[h + P.flags] = f | PQ_FREED;
    port_exit(h);
    ports.free(h);
    kstat_add(C_PORTS, -1);
    return;
  }
  port_exit(h);
}
