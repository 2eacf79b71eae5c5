/**
 * Watch lists: a knote on a kernel descriptor (EVFILT_READ on a kqueue or
 * a port) sits on that descriptor's list (FF.watch / FF.watchTail in
 * kern/fdtab.ts), guarded by the file's lock, which comes after the kqueue
 * lock in the lock order.
 */
import { I32 } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { FF, fd_still } from '../kern/fdtab.js';
import type { Errno } from '../kern/errno.js';
import { TailQ } from '../kern/queue.js';
import { K, kn_ident } from './knote.js';

/** A descriptor's watching knotes. */
export const WATCHQ = new TailQ(FF.watch, FF.watchTail, K.wnext, K.wprev);

/**
 * Puts a knote on a descriptor's watch list (from a filter's attach, kqueue
 * lock held). EBADF when the descriptor is being closed: a knote never
 * outlives its descriptor.
 */
export function knote_watch(kn: number, file: number): Errno {
  mutex_enter(file + FF.lock);
  // Still the descriptor the knote names (its generation, not only a type):
  // the filter looked the number up without a lock (fd_file), and the
  // descriptor may have been closed and its entry given to a new one since;
  // the knote would then watch that one under the old number, and nothing
  // would drop it when the old one goes.
  if (I32[file + FF.closing] !== 0 || !fd_still(kn_ident(kn), file)) { mutex_exit(file + FF.lock); return 'EBADF'; }
  WATCHQ.insert_tail(file, kn);
  I32[kn + K.file] = file;
  mutex_exit(file + FF.lock);
  return 0;
}

/** Takes a knote off its descriptor's watch list, if on one (kqueue lock held). */
export function knote_unwatch(kn: number): void {
  const file = I32[kn + K.file];
  if (file === 0) return;
  mutex_enter(file + FF.lock);
  WATCHQ.remove(file, kn);
  I32[kn + K.file] = 0;
  mutex_exit(file + FF.lock);
}
