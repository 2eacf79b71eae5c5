/**
 * NOTE_FORK, NOTE_EXEC and NOTE_TRACK for EVFILT_PROC (proc.ts): Linux
 * shows another process's forks and execs only through the proc connector
 * (intr/ffi-proc.ts os_cn_open: a netlink socket that hears every fork and
 * exec on the host; it needs CAP_NET_ADMIN in the initial pid namespace,
 * else attach is ENOTSUP). Apart from proc.ts because it is a second source
 * with its own list and lock, used only by knotes that ask for these notes.
 *
 * One connector socket serves the kernel while any knote asks for these
 * notes: opened by the first such attach, an intr source (DIR_READ) in the
 * kernel's epoll set, closed by the last detach, so a kernel that does not
 * track forks pays nothing for the host's. The knotes that ask are on the
 * tracked list (linked through kn_wnext / kn_wprev, which no proc knote
 * uses otherwise).
 *
 * The intr thread's handler reads every waiting message under the lock,
 * then, with it dropped, posts each fork (of a process, not a thread) and
 * exec to the knotes of that pid, each under its kqueue's lock (sig.ts's
 * pattern): a reference on each kqueue with knotes of the pid, then that
 * kqueue's knotes found again under its lock. The connector is asynchronous:
 * a fork is seen after it happened, so a child that exits (and is reaped by
 * its parent) or forks before its knote is attached is missed (NOTE_TRACK
 * then sets NOTE_TRACKERR), and a burst beyond the socket's buffer loses
 * events (counted: proc_cn_lost). BSD's kernel tracks inside fork itself.
 *
 * ---- Locks -----------------------------------------------------------------
 *
 *   procknote (P)  the tracked list, the count, the socket and its source.
 *                  Taken under a kqueue lock (attach, detach) or alone (the
 *                  handler); the intr lock is taken under it (the socket's
 *                  source is held and released with the count).
 */
import { I32, kregion_create } from '../../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../../kern/mutex.js';
import { mutex_class } from '../../kern/lockdebug.js';
import { kstat_counter, kstat_add } from '../../kern/kstat.js';
import { TailQ } from '../../kern/queue.js';
import type { Errno } from '../../kern/errno.js';
import * as ix from '../../intr/kapi.js';
import { K, kn_ident } from '../knote.js';
import { kq_tryref, kq_lock, kq_unlock, kq_rele, knote_event } from '../kern.js';
import { NOTE_FORK, NOTE_EXEC } from '../consts.js';

/** Words: the lock, the socket (+1; 0 none), its intr source, the count of tracked knotes, the list (head, tail). */
const cn = kregion_create('proccn', () => 6);
mutex_class('procknote', cn, { words: 1 });
const W_FD = 1, W_SRC = 2, W_COUNT = 3, W_LIST = 4;
const lockw = (): number => cn.base;
const TQ = new TailQ(0, 1, K.wnext, K.wprev);

const C_EVENTS = kstat_counter('kqueue', 'proc_cn_events');
const C_LOST = kstat_counter('kqueue', 'proc_cn_lost');

/** Opens the connector (procknote held): 0 or ENOTSUP. */
function cn_open(): Errno {
  const fd = ix.os_cn_open();
  if (fd < 0) return 'ENOTSUP';
  if (ix.intr_source_hold(fd, ix.DIR_READ) !== 0) { ix.os_pidfd_close(fd); return 'ENOTSUP'; }
  I32[cn.base + W_FD] = fd + 1;
  Atomics.store(I32, cn.base + W_SRC, ix.held.src);
  return 0;
}

/** Puts kn on the tracked list, opening the connector for the first (kqueue lock held): 0 or ENOTSUP. */
export function cn_attach(kn: number): Errno {
  mutex_enter(lockw());
  try {
    if (I32[cn.base + W_COUNT] === 0) {
      const err = cn_open();
      if (err !== 0) return err;
    }
    I32[cn.base + W_COUNT]++;
    TQ.insert_tail(cn.base + W_LIST, kn);
    return 0;
  } finally {
    mutex_exit(lockw());
  }
}

/** Takes kn off the tracked list; the last one closes the connector (kqueue lock held). */
export function cn_detach(kn: number): void {
  mutex_enter(lockw());
  TQ.remove(cn.base + W_LIST, kn);
  if (--I32[cn.base + W_COUNT] === 0) {
    const src = I32[cn.base + W_SRC]!, fd = I32[cn.base + W_FD]! - 1;
    Atomics.store(I32, cn.base + W_SRC, 0);
    I32[cn.base + W_FD] = 0;
    ix.intr_source_rele(src, ix.DIR_READ);
    ix.os_pidfd_close(fd);
  }
  mutex_exit(lockw());
}

// The fork being posted (its child's pid), for proc.ts's event operation: set
// just before knote_event, in this thread, under the knote's kqueue lock.
let forked = 0;
/** The child of the NOTE_FORK being posted now. */
export function cn_forked_child(): number { return forked; }

/** Posts one fork or exec of pid to the knotes tracking it (no lock held). Returns the knotes run. */
function post(pid: number, hint: number, child: number): number {
  const kqs: number[] = [];
  mutex_enter(lockw());
  for (let kn = TQ.head(cn.base + W_LIST); kn !== 0; kn = TQ.after(kn)) {
    const kq = I32[kn + K.kq]!;
    if (kn_ident(kn) === pid && !kqs.includes(kq) && kq_tryref(kq)) kqs.push(kq);
  }
  mutex_exit(lockw());
  let n = 0;
  for (const kq of kqs) {
    kq_lock(kq);
    try {
      const mine: number[] = [];
      mutex_enter(lockw());
      for (let kn = TQ.head(cn.base + W_LIST); kn !== 0; kn = TQ.after(kn)) if (I32[kn + K.kq] === kq && kn_ident(kn) === pid) mine.push(kn);
      mutex_exit(lockw());
      for (const kn of mine) { forked = child; knote_event(kn, hint); n++; }
    } finally {
      forked = 0;
      kq_unlock(kq);
      kq_rele(kq);
    }
  }
  return n;
}

// Fork and exec events read off the socket: (what, pid, child) triples, reused.
const pending: number[] = [];

// The intr thread's event on the connector socket (no lock held).
ix.intr_add_handler((src) => {
  if (src === 0 || Atomics.load(I32, cn.base + W_SRC) !== src) return 0;
  pending.length = 0;
  mutex_enter(lockw());
  const fd = I32[cn.base + W_FD]! - 1;
  const r = fd < 0 || I32[cn.base + W_SRC] !== src ? 0 : ix.os_cn_read(fd, (e) => { if (!e.thread) pending.push(e.what, e.pid, e.child); });
  mutex_exit(lockw());
  if (r < 0) kstat_add(C_LOST);
  kstat_add(C_EVENTS, pending.length / 3);
  let n = 0;
  for (let i = 0; i < pending.length; i += 3) {
    n += post(pending[i + 1]!, pending[i] === ix.PROC_EVENT_FORK ? NOTE_FORK : NOTE_EXEC, pending[i + 2]!);
  }
  return n;
});
