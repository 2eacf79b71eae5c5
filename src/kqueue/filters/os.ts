/**
 * EVFILT_READ and EVFILT_WRITE on OS descriptors (idents below FD_BASE):
 * pipes, FIFOs, sockets, TTYs, regular files. The knote holds an interest
 * in an intr source (src/intr: one per open file and descriptor number, in
 * the kernel's epoll set) in kn_hook, and sits on that source's knote list
 * here (linked through kn_wnext/kn_wprev, under the `osknote` lock, which
 * comes after the kqueue lock; a leaf).
 *
 * Evaluation asks the descriptor itself, every time (registration, an
 * activation from the intr thread, a scan): poll(2) without waiting for the
 * ready bits and hang-ups, FIONREAD for bytes readable, the pipe size less
 * FIONREAD or SO_SNDBUF less SIOCOUTQ for space writable, a listening TCP
 * socket's accept queue, size less offset for a regular file (always
 * readable, also at EOF, so appending after a read to the end is seen at
 * the next scan), SO_ERROR in fflags with EV_EOF at a hang-up (sock_error).
 * The identity check comes first: a descriptor closed behind the kernel's
 * back never reports, even once its number names another file; an
 * evaluation that finds it so drops the knote (os_live), and a change
 * naming such a knote finds it gone (dropped; EV_DELETE is then ENOENT).
 *
 * NOTE_LOWAT: the event needs at least `data` bytes (readable or writable)
 * instead of the descriptor's own readiness; EV_EOF reports regardless. Not
 * on a listening socket (DragonFly's filt_solisten): a waiting connection
 * is its readiness, the backlog its data.
 *
 * A write knote's interest is DIR_WRITE_OWN: a registration of its own,
 * apart from the read and except knotes' (intr.ts, Directions), so bytes
 * arriving do not activate an EV_CLEAR write knote, nor space freed a read
 * knote, where epoll reports the whole ready mask at either wake-up; the
 * handler passes each knote only its own registration's events. Hang-ups
 * and errors come on both registrations.
 *
 * The intr thread's events arrive through the handler installed below (the
 * one mapping from OS events to activations: each knote of the source
 * evaluated under its kqueue's lock, as notify.ts does for kernel
 * descriptors), and close(fd) through the kernel drops every knote of fd
 * (the seed's knote_fdclose) before the descriptor is closed.
 */
import { I32, kregion_create } from '../../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../../kern/mutex.js';
import { mutex_class } from '../../kern/lockdebug.js';
import { TailQ } from '../../kern/queue.js';
import type { Errno } from '../../kern/errno.js';
import * as ix from '../../intr/kapi.js';
import { K, KN_DELETING, kn_ident, kn_sdata, kn_setdata } from '../knote.js';
import { kq_tryref, kq_lock, kq_unlock, kq_rele, knote_event, knote_activate, knote_detach_and_drop, defer_after_unlock, kq_os_attached, kq_os_detached } from '../kern.js';
import { EV_EOF, EV_NODATA, EV_ONESHOT, EVFILT_READ, EVFILT_WRITE, NOTE_LOWAT } from '../consts.js';

/** The lock word, then a (head, tail) pair per intr source slot. */
const klists = kregion_create('osklist', (t) => 2 + 2 * ix.src_max(t));
mutex_class('osknote', klists, { words: 1 });
const lockw = (): number => klists.base;
const list = (src: number): number => klists.base + 2 + 2 * ix.src_index(src);
const OSQ = new TailQ(0, 1, K.wnext, K.wprev);

/*
 * One statx per registration, not three. The register path asks whether
 * the ident is open (statx), then attaches (the source's identity: statx),
 * then evaluates the new knote (the identity check: statx), all in one
 * call under the kqueue lock. Each step remembers which statx answered it
 * (the thread's statx count) and the next reuses that answer when no other
 * statx ran since: the same answer the repeated call would give but for a
 * close racing the call, which the next evaluation sees anyway (the
 * identity: intr.ts intr_source_confirmed).
 */
let openFd = -1, openSeq = -1;

/** Whether an OS knote's ident is still open (the register path's EBADF check). */
export function os_isopen(fd: number): boolean {
  const open = ix.os_fd_open(fd);
  openFd = open ? fd : -1; openSeq = ix.os_stat_seq();
  return open;
}

/** Whether src's identity holds: the statx of its attach when nothing ran since, else a new one. */
export function os_valid(src: number): boolean {
  return ix.intr_source_fresh(src) || ix.intr_source_valid(src);
}

/**
 * Whether knote kn's source src still names its file (os_valid); when it
 * does not (closed behind the kernel's back), the knote goes (sys.md: at
 * its next event or change), not only stops reporting: else it kept its
 * intr source, its EVFILT_VNODE inotify watch (whose file's every event
 * came back to it) and its place under kq_knotes_max until a change named
 * it or the kqueue closed. Dropped once the kqueue lock is released (an
 * evaluation runs inside the scan and the register path, which still hold
 * the knote), under that lock again, if it is still src's knote and src is
 * still gone (kqueue lock held).
 */
export function os_live(kn: number, src: number): boolean {
  if (os_valid(src)) return true;
  const kq = I32[kn + K.kq]!;
  defer_after_unlock(() => {
    if (!kq_tryref(kq)) return;
    kq_lock(kq);
    try {
      if (I32[kn + K.kq] === kq && I32[kn + K.hook] === src && (I32[kn + K.status]! & KN_DELETING) === 0 && os_gone(kn)) knote_detach_and_drop(kn);
    } finally {
      kq_unlock(kq);
      kq_rele(kq);
    }
  });
  return false;
}

/** Attaches an OS knote in direction dir (kqueue lock held). */
export function os_attach(kn: number, dir: number): Errno {
  const fd = kn_ident(kn);
  const statted = fd === openFd && ix.os_stat_seq() === openSeq;
  openFd = -1;
  const err = ix.intr_source_hold(fd, dir, statted, ix.INTR_USER_KQ);
  if (err !== 0) return err;
  const src = ix.held.src;
  ix.intr_source_confirmed(src);
  I32[kn + K.hook] = src;
  kq_os_attached(I32[kn + K.kq]!);
  mutex_enter(lockw());
  OSQ.insert_tail(list(src), kn);
  mutex_exit(lockw());
  defer_after_unlock(ix.intr_thread_start);
  return 0;
}

/** Detaches an OS knote (kqueue lock held). */
export function os_detach(kn: number, dir: number): void {
  const src = I32[kn + K.hook]!;
  if (src === 0) return;
  ix.intr_source_fresh(src); // a confirmation of it answers nothing now
  mutex_enter(lockw());
  OSQ.remove(list(src), kn);
  mutex_exit(lockw());
  I32[kn + K.hook] = 0;
  kq_os_detached(I32[kn + K.kq]!);
  ix.intr_source_rele(src, dir);
}

/**
 * The knote's descriptor no longer names its file (closed behind the
 * kernel's back), or names another open of its inode (intr.ts
 * intr_source_reopened: the new open file is not in epoll under this
 * source, so the knote would never be woken).
 */
export function os_gone(kn: number): boolean {
  const src = I32[kn + K.hook]!;
  return src !== 0 && (!ix.intr_source_valid(src) || ix.intr_source_reopened(src));
}

/**
 * Sets or clears EV_EOF and the socket error in fflags, and data. At EOF,
 * EV_NODATA too once nothing is left (DragonFly's filt_piperead and
 * filt_soread: "only set NODATA if all data has been exhausted"; its write
 * filters set it with every EV_EOF, whose data is 0).
 */
function report(kn: number, data: number, eof: boolean, err: number): void {
  kn_setdata(kn, data);
  const fl = I32[kn + K.flags]! & ~(EV_EOF | EV_NODATA);
  I32[kn + K.flags] = eof ? fl | EV_EOF | (data === 0 ? EV_NODATA : 0) : fl;
  if (err > 0) I32[kn + K.fflags] = err;
}

/** The knote's low-water mark (NOTE_LOWAT: sdata), or 0 for the descriptor's own readiness. */
function lowat(kn: number): number {
  return (I32[kn + K.sfflags]! & NOTE_LOWAT) !== 0 ? Math.max(1, kn_sdata(kn)) : 0;
}

const isfile = (mode: number): boolean => mode === ix.S_IFREG || mode === ix.S_IFDIR;

/**
 * The socket error for EV_EOF's fflags, at a hang-up only. BSD's filters
 * read so_error; Linux tells it only through getsockopt(SO_ERROR), which
 * clears it, taking it from the program's next recv, send or SO_ERROR.
 * So an error without a hang-up (a connected UDP socket's ICMP error, a
 * datagram peer gone: BSD's temporary error) is left where it is: the knote
 * fires without EV_EOF (a read or write would not block) and the program's
 * call gets the error, as on BSD. At a hang-up the error is what EV_EOF's
 * fflags carry (the contract): it is taken once and kept in the source
 * (intr.ts src_keep_soerr), so the open file's other knotes and later
 * evaluations report it too; the program's own SO_ERROR then reads 0 (a
 * non-blocking connect refused: take the error from fflags), which Linux
 * cannot avoid.
 */
function sock_error(src: number, fd: number, mode: number, rev: number, hup: boolean): number {
  if (mode !== ix.S_IFSOCK || !hup) return 0;
  const kept = ix.src_soerr(src);
  if (kept > 0 || (rev & ix.POLLERR) === 0) return kept;
  const err = Math.max(0, ix.os_sockopt_int(fd, ix.SOL_SOCKET, ix.SO_ERROR));
  if (err > 0) ix.src_keep_soerr(src, err);
  return err;
}
/** A socket's error without a hang-up: the knote fires, the error is the program's (sock_error). */
const sock_soft_error = (mode: number, rev: number, hup: boolean): boolean => mode === ix.S_IFSOCK && !hup && (rev & ix.POLLERR) !== 0;

/** Whether the last readable_bytes found a listening socket (this thread). */
let listening = false;
/** Bytes readable (or the accept backlog of a listening socket: then `listening`). */
function readable_bytes(fd: number, src: number, rev: number): number {
  listening = false;
  if ((rev & ix.POLLIN) === 0) return 0; // nothing to read, nothing queued to accept
  const n = ix.os_ioctl_int(fd, ix.FIONREAD);
  if (n >= 0) return n;
  if (ix.src_mode(src) === ix.S_IFSOCK && ix.os_sockopt_int(fd, ix.SOL_SOCKET, ix.SO_ACCEPTCONN) === 1) {
    listening = true;
    const b = ix.os_tcp_backlog(fd);
    if (b >= 0) return b;
    const u = ix.os_unix_backlog(ix.src_ino(src)); // AF_UNIX: no TCP_INFO
    if (u >= 0) return u;
  }
  return (rev & ix.POLLIN) !== 0 ? 1 : 0;
}

/** EVFILT_READ on an OS descriptor: is input ready (kqueue lock held). */
export function os_read_event(kn: number): boolean {
  const src = I32[kn + K.hook]!;
  if (src === 0 || !os_live(kn, src)) return false;
  const fd = ix.src_fd(src), mode = ix.src_mode(src), lw = lowat(kn);
  if (isfile(mode)) {
    const n = Math.max(0, ix.st.size - ix.os_offset(fd));
    report(kn, n, false, 0);
    return n >= lw;
  }
  // A pipe or stream socket whose event was just dispatched (this call's
  // host wait, or the intr thread: intr.ts intr_revents_take): epoll's bits
  // were that poll, and FIONREAD says afresh whether bytes are there. A
  // socket's count of 0 is no answer (bytes behind an urgent one are not
  // counted; a listening socket's FIONREAD fails): poll. Not a datagram
  // socket, whose FIONREAD is the next datagram's size (0 for an empty one).
  const pipe = mode === ix.S_IFIFO;
  const seen = pipe || (mode === ix.S_IFSOCK && ix.src_sotype(src) === ix.SOCK_STREAM) ? ix.intr_revents_take(src) : -1;
  // A pipe's FIONREAD counts the pipe's bytes at either end: on the write
  // end (never readable: its poll has no POLLIN) they are no answer, so a
  // pipe's count is taken only when the dispatch's own poll said POLLIN.
  const q = seen >= 0 ? ix.os_ioctl_int(fd, ix.FIONREAD) : -1;
  const counted = (q > 0 && (!pipe || (seen & ix.POLLIN) !== 0)) || (q === 0 && pipe);
  const rev = counted ? (q > 0 ? ix.POLLIN : 0) | (seen & (ix.POLLHUP | ix.POLLRDHUP | ix.POLLERR))
    : ix.os_poll(fd, ix.POLLIN | ix.POLLPRI | ix.POLLRDHUP);
  if (rev < 0) return false;
  const eof = (rev & (ix.POLLHUP | ix.POLLRDHUP)) !== 0;
  const err = sock_error(src, fd, mode, rev, eof);
  const n = counted ? q : readable_bytes(fd, src, rev);
  report(kn, n, eof, err);
  // A listening socket is ready while a connection waits, whatever the
  // mark: DragonFly's filt_solisten has no NOTE_LOWAT (the backlog is no
  // byte count), so a mark above 1 never fired for a single connection.
  const mark = counted || !listening ? lw : 0;
  return eof || sock_soft_error(mode, rev, eof) || (mark > 0 ? n >= mark : (rev & ix.POLLIN) !== 0);
}

/** Space writable now, as the descriptor's kind can tell it. */
function writable_bytes(fd: number, mode: number): number {
  if (mode === ix.S_IFIFO) {
    const cap = ix.os_pipe_size(fd), q = ix.os_ioctl_int(fd, ix.FIONREAD);
    return cap > 0 && q >= 0 ? Math.max(0, cap - q) : 0;
  }
  if (mode === ix.S_IFSOCK) {
    const buf = ix.os_sockopt_int(fd, ix.SOL_SOCKET, ix.SO_SNDBUF), q = ix.os_ioctl_int(fd, ix.SIOCOUTQ);
    return buf > 0 && q >= 0 ? Math.max(0, buf - q) : 0;
  }
  return 0;
}

/** EVFILT_WRITE on an OS descriptor: is there room to write (kqueue lock held). */
export function os_write_event(kn: number): boolean {
  const src = I32[kn + K.hook]!;
  if (src === 0 || !os_live(kn, src)) return false;
  const fd = ix.src_fd(src), mode = ix.src_mode(src), lw = lowat(kn);
  if (isfile(mode)) { report(kn, 0, false, 0); return true; }
  const rev = ix.os_poll(fd, ix.POLLOUT);
  if (rev < 0) return false;
  // A pipe whose reader is gone polls POLLERR; a socket that cannot send any
  // more, POLLHUP (its error alone is no end: sock_error).
  const eof = (rev & (mode === ix.S_IFSOCK ? ix.POLLHUP : ix.POLLHUP | ix.POLLERR)) !== 0;
  const err = sock_error(src, fd, mode, rev, eof);
  const n = eof ? 0 : writable_bytes(fd, mode);
  report(kn, n, eof, err);
  return eof || sock_soft_error(mode, rev, eof) || (lw > 0 ? n >= lw : (rev & ix.POLLOUT) !== 0);
}

/** The knotes of kq on src's list (osknote taken and dropped here; kqueue lock held). */
function knotes_of(src: number, kq: number, fd: number): number[] {
  const mine: number[] = [];
  mutex_enter(lockw());
  for (let kn = OSQ.head(list(src)); kn !== 0; kn = OSQ.after(kn)) {
    if (I32[kn + K.kq] === kq && (fd < 0 || kn_ident(kn) === fd)) mine.push(kn);
  }
  mutex_exit(lockw());
  return mine;
}

/** The kqueues with knotes on src's list, each with a reference taken. */
function kqueues_of(src: number): number[] {
  const kqs: number[] = [];
  mutex_enter(lockw());
  for (let kn = OSQ.head(list(src)); kn !== 0; kn = OSQ.after(kn)) {
    const kq = I32[kn + K.kq]!;
    if (!kqs.includes(kq) && kq_tryref(kq)) kqs.push(kq);
  }
  mutex_exit(lockw());
  return kqs;
}

/**
 * Runs fn on each knote of src (of descriptor fd, or all when fd < 0), under
 * each knote's kqueue lock. A source with one knote (the usual case: one
 * kqueue watching a descriptor, so every OS event on it comes here) takes
 * the knote and a reference to its kqueue in one hold of the list lock and
 * makes no arrays; under the kqueue lock the knote is still src's knote in
 * that kqueue if its kq and hook words say so (both change only under the
 * kqueue lock, together with the list). Anything else (more knotes, or that
 * one gone or reused before the kqueue lock) takes the general path: the
 * kqueues with a reference each, then each one's knotes under its lock.
 */
function each_knote(src: number, fd: number, fn: (kn: number) => void): number {
  mutex_enter(lockw());
  const one = OSQ.head(list(src));
  const kq1 = one !== 0 && OSQ.after(one) === 0 ? I32[one + K.kq]! : 0;
  const held = kq1 !== 0 && kq_tryref(kq1);
  mutex_exit(lockw());
  if (held) {
    let n = -1;
    kq_lock(kq1);
    try {
      if (I32[one + K.kq] === kq1 && I32[one + K.hook] === src) {
        n = 0;
        if (fd < 0 || kn_ident(one) === fd) { fn(one); n = 1; }
      }
    } finally {
      kq_unlock(kq1);
      kq_rele(kq1);
    }
    if (n >= 0) return n;
  }
  let n = 0;
  for (const kq of kqueues_of(src)) {
    kq_lock(kq);
    try {
      for (const kn of knotes_of(src, kq, fd)) { fn(kn); n++; }
    } finally {
      kq_unlock(kq);
      kq_rele(kq);
    }
  }
  return n;
}

/** The epoll bits that can mean news for a read knote, and for a write knote. */
const READ_NEWS = ix.EPOLLIN | ix.EPOLLPRI | ix.EPOLLRDHUP | ix.EPOLLHUP | ix.EPOLLERR;
const WRITE_NEWS = ix.EPOLLOUT | ix.EPOLLHUP | ix.EPOLLERR;
const EXCEPT_NEWS = ix.EPOLLPRI | ix.EPOLLHUP | ix.EPOLLERR;
const news_of = (filter: number): number => filter === EVFILT_READ ? READ_NEWS : filter === EVFILT_WRITE ? WRITE_NEWS : EXCEPT_NEWS;

/**
 * An OS event for knote kn (the intr thread; its kqueue lock held). A knote
 * the scan evaluates anyway (not EV_ONESHOT) and that has no low-water mark
 * is activated without asking the descriptor: the scan's evaluation, under
 * the same lock, decides what is reported (identity, data, EOF) and drops
 * it if nothing is there, so the intr thread makes no host call per knote.
 * A oneshot knote is reported as activated (the scan does not evaluate it)
 * and a NOTE_LOWAT knote would wake its sleeper for every arrival below
 * the mark: both are evaluated here, as before.
 */
function os_knote_news(kn: number, revents: number, wset: boolean): void {
  const st = I32[kn + K.status]!;
  if ((st & KN_DELETING) !== 0) return;
  // Each knote hears its own direction's registration only (the header).
  if ((I32[kn + K.filter] === EVFILT_WRITE) !== wset) return;
  const plain = (I32[kn + K.flags]! & EV_ONESHOT) === 0 && (I32[kn + K.sfflags]! & NOTE_LOWAT) === 0;
  if (!plain) { knote_event(kn, revents); return; }
  if ((revents & news_of(I32[kn + K.filter]!)) !== 0) knote_activate(kn);
}

// An OS event on a source: each of its knotes hears of it (the intr thread
// or a host waiter's harvest, no lock held).
ix.intr_add_handler((src, revents, wset) => each_knote(src, -1, (kn) => os_knote_news(kn, revents, wset)), ix.INTR_USER_KQ);
// close(fd) through the kernel: drop its knotes first (knote_fdclose).
ix.intr_on_close((src, fd) => { each_knote(src, fd, knote_detach_and_drop); });
