/**
 * EVFILT_PROC (DragonFly's filt_procattach / filt_proc) on host processes:
 * ident is a pid. The knote opens a pidfd for it (intr/ffi-proc.ts), the
 * kernel's own descriptor, which goes into the kernel's epoll set as an intr
 * source (DIR_READ: a pidfd becomes readable when its process exits); the
 * knote keeps that source in kn_hook and closes the pidfd at detach. A pidfd
 * does not keep the process alive, nor the Node event loop. For a child,
 * attach also asks the intr thread to hear the exit from the host's wait
 * queue (intr/childwait.ts: io_uring's IORING_OP_WAITID), which the host
 * wakes before the pidfd becomes readable; that completion comes to the
 * handler at the end of this file as a pidfd event would.
 *
 * A proc knote counts among its kqueue's OS knotes (Q.nos, kern.ts
 * kq_os_attached), so a blocking kevent on the kqueue waits in the host on
 * the kernel's epoll set (intr/hostwait.ts): the pidfd's readability wakes
 * the sleeper itself, which reads the status and reports the exit from its
 * own thread. Through the intr thread alone an exit took two host wake-ups
 * to reach it (the intr thread's, then its futex's), and on two CPUs the
 * second often waited for a CPU behind the real-time intr thread and the
 * main thread, which the same exit wakes (SIGCHLD).
 *
 * ---- What is reported --------------------------------------------------------
 *
 * As the seed: EV_CLEAR is set at attach; at the exit, fflags gains NOTE_EXIT
 * if it was asked for, flags gain EV_EOF | EV_NODATA | EV_ONESHOT (the knote
 * reports once, even without NOTE_EXIT, and is dropped when reported), data
 * is the wait status as waitpid(2) gives it (exit code << 8; the signal
 * number, | 0x80 with a core) for a child of this process, and 0 for any
 * other process (a grandchild, pid 1: the host tells only the parent). A
 * pid that does not exist (never did, or was reaped already) is ESRCH, as is
 * a pid <= 0; a zombie child is found, and reports at once.
 *
 * NOTE_FORK and NOTE_EXEC add their bit to fflags when the process forks
 * (a new process, not a thread) or execs; NOTE_TRACK registers a knote for
 * each new child on the same kqueue, with the parent's flags, notes and
 * udata, which reports NOTE_CHILD with data = the parent's pid (the seed's
 * EV_FLAG1 registration), or sets NOTE_TRACKERR on the parent's event when
 * it cannot. Linux shows these only through the proc connector
 * (proc-cn.ts: asynchronous, CAP_NET_ADMIN in the initial pid namespace);
 * where the host refuses it, a knote asking for them is ENOTSUP. Whether a
 * knote asks for them is fixed when it is added (a later change keeps it).
 *
 * ---- The wait status when Node reaps ------------------------------------------
 *
 * Node reaps its children itself (libuv's waitpid in the loop that spawned
 * them, woken by SIGCHLD), racing the intr thread woken by the pidfd. The
 * status is taken without reaping: waitid(P_PIDFD, WNOWAIT) while the child
 * is a zombie; once libuv reaped it, from the exit status pidfs keeps on the
 * pidfd (PIDFD_GET_INFO, PIDFD_INFO_EXIT, Linux 6.15+). Between the two (the
 * reaper inside waitpid) neither answers: the intr thread retries for up to
 * STATUS_WAIT_MS (fail fast after: data 0, counted as proc_exit_lost; on a
 * host without PIDFD_GET_INFO a status libuv took first is lost at once).
 * Each recorded exit counts where its status came from (kstat kqueue.
 * proc_exit_waitid: the kernel first; proc_exit_pidfs: Node reaped first;
 * proc_exit_nonchild; proc_exit_lost), proc_exit_retry the window's waits.
 *
 * ---- State and locks ----------------------------------------------------------
 *
 *   kn_hook   [k] the pidfd's intr source; 0 once detached
 *   kn_aux0   [k] the wait status once the exit is recorded, -1 before
 *   kn_aux1   [k] A_CHILD: the process is our child (its status is ours);
 *             A_TRACKED: on the connector's tracked list (proc-cn.ts)
 *   table     [k,a] per intr source slot: the knote holding it, its flags
 *             (S_CHILD; S_DONE once its exit is recorded, so the second
 *             event of the pidfd, EPOLLHUP at the reap, costs the intr
 *             thread no host call) and the attach's generation; written
 *             (Atomics) under the knote's kqueue lock at attach, detach and
 *             the exit's record, read lock-free by the intr thread's
 *             handler, which reads the status and then, under
 *             that lock (knote_fire), re-checks kn_hook and the generation:
 *             a knote freed and reused for another pid that happens to get
 *             the same source slot is a later generation, and never gets a
 *             status read for the earlier process. A source held by a proc
 *             knote is held by it alone.
 *
 * No lock of its own (the connector's is in proc-cn.ts): evaluation makes
 * non-blocking host calls (poll, waitid with WNOHANG, an ioctl) under the
 * kqueue lock; the only wait (the retry above) runs with no lock held, in
 * the intr thread or, for a registration that met the window, in the
 * registering thread after the kqueue lock is dropped.
 */
import { I32, kregion_create, f64_get, f64_set } from '../../kern/kmem.js';
import { kstat_counter, kstat_add } from '../../kern/kstat.js';
import type { Errno } from '../../kern/errno.js';
import * as ix from '../../intr/kapi.js';
import { K, kn_ident, kn_setdata, kn_aux, kn_setaux } from '../knote.js';
import { filter_register, EVENT_REGISTER, type kevent_t } from '../filter.js';
import { kqueue_register_locked } from '../register.js';
import { cn_attach, cn_detach, cn_forked_child } from './proc-cn.js';
import { knote_fire, defer_after_unlock, kq_os_attached, kq_os_detached } from '../kern.js';
import {
  EVFILT_PROC, EV_ADD, EV_ENABLE, EV_CLEAR, EV_EOF, EV_NODATA, EV_ONESHOT,
  NOTE_EXIT, NOTE_FORK, NOTE_EXEC, NOTE_TRACK, NOTE_TRACKERR, NOTE_CHILD,
} from '../consts.js';

/** How long a status caught between waitid and pidfs is waited for (ms). */
const STATUS_WAIT_MS = 1000;

const C_WAITID = kstat_counter('kqueue', 'proc_exit_waitid');
const C_PIDFS = kstat_counter('kqueue', 'proc_exit_pidfs');
const C_RETRY = kstat_counter('kqueue', 'proc_exit_retry');
const C_LOST = kstat_counter('kqueue', 'proc_exit_lost');
const C_OTHER = kstat_counter('kqueue', 'proc_exit_nonchild');
const C_STALE = kstat_counter('kqueue', 'proc_exit_stale');

/** Word 0: the attach generation; then per intr source slot: [knote, S_* flags, its attach's generation]. */
const table = kregion_create('procknote', (t) => 1 + 3 * ix.src_max(t));
const slot = (src: number): number => table.base + 1 + 3 * ix.src_index(src);
/** Slot flags: the process is our child; the knote's exit is recorded (set under the kqueue lock, read lock-free). */
const S_CHILD = 1, S_DONE = 2;

/** What exit_status says besides a status (>= 0). */
const NOT_EXITED = -1, PENDING = -2;
/** Where the last status exit_status returned came from (this thread): C_WAITID, C_PIDFS, C_OTHER or C_LOST. */
let how = 0;
/** The hint the intr side passes: NOTE_EXIT | where << 16 | status (the seed's control bits and data). */
const hint_of = (status: number, from: number): number => NOTE_EXIT | (from << 16) | status;
const FROM = [C_WAITID, C_PIDFS, C_OTHER, C_LOST];

/**
 * The wait status of the source's process if it has exited, without
 * waiting: NOT_EXITED (running, or the pidfd is no longer ours), PENDING
 * (exited, status not readable yet: its reaper is inside waitpid).
 */
function exit_status(src: number, child: boolean): number {
  if (!ix.intr_source_valid(src)) return NOT_EXITED;
  const fd = ix.src_fd(src);
  if (child) {
    // waitid first: one call in the common case (it also says "not exited").
    const w = ix.os_pidfd_waitid(fd);
    if (w >= 0) { how = 0; return w; }
    if (w === ix.W_RUNNING) return NOT_EXITED;
    if (ix.os_pidfd_info(fd) === 0 && ix.pinfo.exit >= 0) { how = 1; return ix.pinfo.exit; }
  }
  if (ix.os_pidfd_exited(fd) !== 1) return NOT_EXITED;
  if (!child) { how = 2; return 0; }
  return PENDING;
}

/** Whether the process behind pidfd fd is our child (asked at attach, while it is alive or a zombie). */
function is_child(fd: number): boolean {
  const w = ix.os_pidfd_waitid(fd);
  if (w !== ix.W_NOTCHILD) return true;
  if (ix.os_pidfd_info(fd) !== 0) return false;
  // Reaped between pidfd_open and now: the parent is unknown; its real status is reported.
  return ix.pinfo.ppid < 0 ? ix.pinfo.exit >= 0 : ix.pinfo.ppid === process.pid;
}

const park = new Int32Array(new SharedArrayBuffer(4));

/**
 * The exit of src's process with its status, waited for through the window
 * in which its reaper holds it (no lock held; at most STATUS_WAIT_MS), then
 * reported to kn. Returns the activations made (0 or 1).
 */
function exit_fire(kn: number, src: number): number {
  const w = slot(src), g = Atomics.load(I32, w + 2), end = Date.now() + STATUS_WAIT_MS;
  let st: number;
  for (;;) {
    // Not the slot's knote any more, or its exit is recorded already (the
    // reap's EPOLLHUP after the exit's EPOLLIN): nothing to read, no host call.
    if (Atomics.load(I32, w) !== kn || (Atomics.load(I32, w + 1) & S_DONE) !== 0) return 0;
    st = exit_status(src, (Atomics.load(I32, w + 1) & S_CHILD) !== 0);
    if (st !== PENDING) break;
    if (!ix.os_pidfd_info_supported() || Date.now() > end) { how = 3; st = 0; break; }
    kstat_add(C_RETRY);
    Atomics.wait(park, 0, 0, 1);
  }
  if (st === NOT_EXITED) return 0;
  // The slot's attach is still the one the status was read for (not a later
  // one that reused both the source slot and the knote's memory).
  return knote_fire(kn, hint_of(st, how), (k) => I32[k + K.hook] === src && same_attach(w, g)) ? 1 : 0;
}

/** Whether slot w's attach is still generation g (counts the stale ones it refuses). */
function same_attach(w: number, g: number): boolean {
  if (Atomics.load(I32, w + 2) === g) return true;
  kstat_add(C_STALE);
  return false;
}

/** Records the exit in the knote as filt_proc does, and where its status came from (kqueue lock held). */
function record_exit(kn: number, status: number, from: number): void {
  kstat_add(FROM[from]!);
  kn_setaux(kn, 0, status);
  kn_setdata(kn, status);
  const src = I32[kn + K.hook]!, w = src === 0 ? 0 : slot(src);
  if (w !== 0 && Atomics.load(I32, w) === kn) Atomics.or(I32, w + 1, S_DONE);
  if ((I32[kn + K.sfflags]! & NOTE_EXIT) !== 0) I32[kn + K.fflags] = I32[kn + K.fflags]! | NOTE_EXIT;
  I32[kn + K.flags] = I32[kn + K.flags]! | EV_EOF | EV_NODATA | EV_ONESHOT;
}

/** pidfd_open's failure as attach reports it. */
function open_errno(): Errno {
  const e = ix.os_proc_errno();
  if (e === ix.ESRCH || e === ix.EINVAL) return 'ESRCH';
  return e === ix.EMFILE || e === ix.ENFILE ? 'EMFILE' : 'ENOMEM';
}

const TRACKING = NOTE_FORK | NOTE_EXEC | NOTE_TRACK;
/** kn_aux1 bits: the process is our child; the knote is on the connector's tracked list. */
const A_CHILD = 1, A_TRACKED = 2;
// The parent of the knote being registered by NOTE_TRACK (0: none): set
// around the nested kqueue_register in this thread, under the kqueue lock.
let trackParent = 0;

function proc_attach(kn: number): Errno {
  const pid = kn_ident(kn);
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) return 'ESRCH';
  if (!ix.os_proc_available()) return 'EOPNOTSUPP';
  const fd = ix.os_pidfd_open(pid);
  if (fd < 0) return open_errno();
  const err = ix.intr_source_hold(fd, ix.DIR_READ);
  if (err !== 0) { ix.os_pidfd_close(fd); return err; }
  const src = ix.held.src, tracked = (I32[kn + K.sfflags]! & TRACKING) !== 0;
  if (tracked) {
    const e2 = cn_attach(kn);
    if (e2 !== 0) { ix.intr_source_rele(src, ix.DIR_READ); ix.os_pidfd_close(fd); return e2; }
  }
  const child = is_child(fd) ? A_CHILD : 0;
  I32[kn + K.hook] = src;
  kq_os_attached(I32[kn + K.kq]!);
  kn_setaux(kn, 0, -1);
  kn_setaux(kn, 1, child | (tracked ? A_TRACKED : 0));
  I32[kn + K.flags] = I32[kn + K.flags]! | EV_CLEAR;
  if (trackParent !== 0) { I32[kn + K.fflags] = NOTE_CHILD; kn_setdata(kn, trackParent); } // reported at once
  // Published after the epoll registration: an exit the intr thread saw
  // before this store is found by the register path's own evaluation.
  const w = slot(src);
  Atomics.store(I32, w + 2, Atomics.add(I32, table.base, 1) + 1);
  Atomics.store(I32, w + 1, child !== 0 ? S_CHILD : 0);
  Atomics.store(I32, w, kn);
  // A child's exit is also heard from the host's wait queue, earlier than the pidfd (intr/childwait.ts).
  if (child !== 0) ix.intr_child_watch(src, pid);
  defer_after_unlock(ix.intr_thread_start);
  return 0;
}

function proc_detach(kn: number): void {
  if ((kn_aux(kn, 1) & A_TRACKED) !== 0) { cn_detach(kn); kn_setaux(kn, 1, kn_aux(kn, 1) & ~A_TRACKED); }
  const src = I32[kn + K.hook]!;
  if (src === 0) return;
  const w = slot(src);
  if (Atomics.load(I32, w) === kn) Atomics.store(I32, w, 0);
  const fd = ix.src_fd(src), ours = ix.intr_source_valid(src);
  I32[kn + K.hook] = 0;
  kq_os_detached(I32[kn + K.kq]!);
  ix.intr_source_rele(src, ix.DIR_READ);
  // Closed only while the number is still our pidfd (never another file's).
  if (ours) ix.os_pidfd_close(fd);
}

/**
 * NOTE_TRACK: a knote for the new child on the same kqueue, with the
 * parent's flags, notes and udata, reporting NOTE_CHILD with data = the
 * parent's pid (the seed's EV_FLAG1 registration); NOTE_TRACKERR when that
 * fails (kqueue lock held).
 */
function track(kn: number, child: number): void {
  const kev = {
    ident: child, filter: EVFILT_PROC, flags: (I32[kn + K.flags]! & 0xffff) | EV_ADD | EV_ENABLE,
    fflags: I32[kn + K.sfflags]! >>> 0, data: 0, udata: f64_get(kn, K.udata),
  };
  trackParent = kn_ident(kn);
  let err: Errno;
  try { err = kqueue_register_locked(I32[kn + K.kq]!, kev); } finally { trackParent = 0; }
  if (err !== 0) I32[kn + K.fflags] = I32[kn + K.fflags]! | NOTE_TRACKERR;
}

function proc_event(kn: number, hint: number): boolean {
  if (kn_aux(kn, 0) >= 0) return true;
  if ((hint & NOTE_EXIT) !== 0) { record_exit(kn, hint & 0xffff, (hint >> 16) & 3); return true; }
  const ev = hint & (NOTE_FORK | NOTE_EXEC);
  if (ev !== 0) {
    // From the proc connector (proc-cn.ts): record what was asked for, follow a fork if tracking.
    const sf = I32[kn + K.sfflags]!;
    if ((sf & ev) !== 0) I32[kn + K.fflags] = I32[kn + K.fflags]! | ev;
    if (ev === NOTE_FORK && (sf & NOTE_TRACK) !== 0) track(kn, cn_forked_child());
    return I32[kn + K.fflags] !== 0;
  }
  const src = I32[kn + K.hook]!;
  if (src !== 0) {
    const st = exit_status(src, (kn_aux(kn, 1) & A_CHILD) !== 0);
    // Caught in its reaper's window: wait for the status once the kqueue lock is dropped.
    if (st === PENDING) defer_after_unlock(() => { exit_fire(kn, src); });
    if (st >= 0) { record_exit(kn, st, how); return true; }
  }
  return I32[kn + K.fflags] !== 0;
}

/**
 * A change to an existing knote: udata and data as usual, and the notes,
 * but whether it tracks forks and execs stays as EV_ADD of the new knote
 * made it (a change cannot fail here; EV_DELETE and EV_ADD to switch).
 */
function proc_touch(kn: number, kev: kevent_t, type: number): void {
  if (type !== EVENT_REGISTER) return;
  const tracking = (kn_aux(kn, 1) & A_TRACKED) !== 0 ? TRACKING : 0;
  I32[kn + K.sfflags] = ((kev.fflags | 0) & ~TRACKING) | (I32[kn + K.sfflags]! & tracking);
  f64_set(kn, K.sdata, kev.data);
  f64_set(kn, K.udata, kev.udata);
}

filter_register(EVFILT_PROC, { name: 'proc', attach: proc_attach, detach: proc_detach, event: proc_event, touch: proc_touch });

// The intr thread's event on a pidfd: the exit, with its status (no lock held).
ix.intr_add_handler((src) => {
  const kn = Atomics.load(I32, slot(src));
  return kn === 0 ? 0 : exit_fire(kn, src);
});
