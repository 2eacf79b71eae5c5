/**
 * EVFILT_VNODE on OS descriptors of files and directories (DragonFly's
 * filt_vnode over Linux inotify). A knote is two holds: an intr source of
 * its descriptor through os.ts (kn_hook; the same identity check, list and
 * close(fd) path as EVFILT_READ, so a descriptor closed behind the kernel's
 * back never reports, and close through the kernel drops the knote), and an
 * inotify watcher of the open file itself (intr/inotify.ts: the watch is
 * on /proc/self/fd/N, so it follows the file through renames and unlinks,
 * never the path), its handle in kn_aux0. Regular files and directories are
 * never in epoll, so the os filter's own handler never evaluates these
 * knotes; the inotify consumer below does, passing the IN_* bits with
 * HINT_INO set.
 *
 * Mapping (evaluated under the kqueue lock with an fstat of the descriptor,
 * whose link count and size the watcher keeps from the last look):
 *
 *   IN_MODIFY                     NOTE_WRITE, and NOTE_EXTEND if the size grew
 *   IN_CREATE / IN_DELETE /       NOTE_WRITE (a directory's entries changed)
 *     IN_MOVED_FROM / IN_MOVED_TO
 *   IN_ATTRIB                     NOTE_ATTRIB
 *   link count changed            NOTE_LINK (a directory: a subdirectory made or
 *                                 removed); went to 0: NOTE_DELETE instead (the
 *                                 open descriptor keeps the inode, so the host
 *                                 sends IN_ATTRIB, never IN_DELETE_SELF)
 *   IN_DELETE_SELF                NOTE_DELETE
 *   IN_MOVE_SELF                  NOTE_RENAME
 *   IN_UNMOUNT                    NOTE_REVOKE, with EV_EOF | EV_NODATA
 *
 * As in filt_vnode, the notes the knote asked for accumulate in fflags until
 * reported (EV_CLEAR then clears them; without it the knote stays active),
 * and the event is present while fflags is not 0.
 */
import { I32 } from '../../kern/kmem.js';
import { FD_BASE, fd_file } from '../../kern/fdtab.js';
import type { Errno } from '../../kern/errno.js';
import * as ix from '../../intr/kapi.js';
import { K, kn_ident, kn_aux, kn_setaux } from '../knote.js';
import { filter_register } from '../filter.js';
import { knote_fire, knote_detach_and_drop, defer_after_unlock } from '../kern.js';
import { os_attach, os_detach, os_gone, os_isopen, os_live } from './os.js';
import { DIR_READ } from '../../intr/kapi.js';
import {
  EVFILT_VNODE, EV_EOF, EV_NODATA, NOTE_DELETE, NOTE_WRITE, NOTE_EXTEND, NOTE_ATTRIB, NOTE_LINK, NOTE_RENAME, NOTE_REVOKE,
} from '../consts.js';

const f = ix.inof;
/** The bits every vnode watcher asks the host for (not IN_ACCESS, IN_OPEN, IN_CLOSE: no note needs them). */
const MASK = f.IN_MODIFY | f.IN_ATTRIB | f.IN_CREATE | f.IN_DELETE | f.IN_MOVED_FROM | f.IN_MOVED_TO |
  f.IN_DELETE_SELF | f.IN_MOVE_SELF;
const DIRENTS = f.IN_CREATE | f.IN_DELETE | f.IN_MOVED_FROM | f.IN_MOVED_TO;
/** Set in a hint that carries IN_* bits (IN_MASK_CREATE's bit, which the host never reports). */
const HINT_INO = 0x10000000;

/** The watcher of a vnode knote (0 for none). */
const watcher = (kn: number): number => kn_aux(kn, 0);

/** Whether the descriptor's file type can carry EVFILT_VNODE (files, directories, O_PATH symlinks). */
function vnode_type(mode: number): boolean {
  return mode === ix.S_IFREG || mode === ix.S_IFDIR || mode === 0o120000;
}

/** Attaches (kqueue lock held). */
function vn_attach(kn: number): Errno {
  const fd = kn_ident(kn);
  if (fd >= FD_BASE) return 'EINVAL';
  if (f.ino_available() && f.os_fstat_ext(fd) === 0 && !vnode_type(f.xst.mode & ix.S_IFMT)) return 'EINVAL';
  let err = os_attach(kn, DIR_READ);
  if (err !== 0) return err;
  const nlink = f.xst.nlink, size = f.xst.size;
  err = ix.ino_hold(fd, MASK, ix.INO_KNOTE, kn);
  defer_after_unlock(ix.ino_flush); // what joining a shared watch read for its other watchers
  if (err !== 0) { os_detach(kn, DIR_READ); return err; }
  const w = ix.ino_held.w;
  ix.ino_set_word(w, 0, nlink);
  ix.ino_set_num(w, size);
  kn_setaux(kn, 0, w);
  defer_after_unlock(ix.intr_thread_start);
  return 0;
}

function vn_detach(kn: number): void {
  const w = watcher(kn);
  if (w !== 0) { ix.ino_rele(w); kn_setaux(kn, 0, 0); }
  os_detach(kn, DIR_READ);
}

/**
 * The notes the host's IN_* bits and a fresh look at the file say happened
 * (kqueue lock held; ix.st holds the identity check's statx of fd). A write
 * alone needs only the size, which that statx has; anything that can change
 * the link count takes one more statx for it.
 */
function notes_of(w: number, fd: number, m: number): number {
  let n = 0;
  if ((m & f.IN_MODIFY) !== 0) n |= NOTE_WRITE;
  if ((m & DIRENTS) !== 0) n |= NOTE_WRITE;
  if ((m & f.IN_ATTRIB) !== 0) n |= NOTE_ATTRIB;
  if ((m & f.IN_DELETE_SELF) !== 0) n |= NOTE_DELETE;
  if ((m & f.IN_MOVE_SELF) !== 0) n |= NOTE_RENAME;
  if ((m & f.IN_UNMOUNT) !== 0) n |= NOTE_REVOKE;
  const size = ix.st.size;
  if (size > ix.ino_num(w)) n |= NOTE_EXTEND;
  ix.ino_set_num(w, size);
  if ((m & ~f.IN_MODIFY) !== 0 && f.os_fstat_ext(fd) === 0) {
    const was = ix.ino_word(w, 0);
    if (f.xst.nlink !== was) n |= f.xst.nlink === 0 ? NOTE_DELETE : NOTE_LINK;
    ix.ino_set_word(w, 0, f.xst.nlink);
  }
  return n;
}

/** filt_vnode (kqueue lock held): hint 0 is a scan's look; HINT_INO carries the host's news. */
function vn_event(kn: number, hint: number): boolean {
  const w = watcher(kn);
  if (w === 0) return false;
  if ((hint & HINT_INO) !== 0) {
    // os_gone's statx leaves ix.st filled. A file closed behind the
    // kernel's back: the knote goes (os.ts os_live), and its watch with it.
    if (os_gone(kn)) { knote_detach_and_drop(kn); return false; }
    // Its scan, in this thread and call when a host waiter dispatched the
    // event (it does so just before it scans), need not ask statx again.
    ix.intr_source_confirmed(I32[kn + K.hook]!);
    const n = notes_of(w, kn_ident(kn), hint & ~HINT_INO) & I32[kn + K.sfflags]!;
    I32[kn + K.fflags] = I32[kn + K.fflags]! | n;
    if ((n & NOTE_REVOKE) !== 0) I32[kn + K.flags] = I32[kn + K.flags]! | EV_EOF | EV_NODATA;
  } else {
    const src = I32[kn + K.hook]!;
    if (src !== 0 && !os_live(kn, src)) return false; // (the dispatch's answer when still fresh)
  }
  return I32[kn + K.fflags] !== 0;
}

filter_register(EVFILT_VNODE, {
  name: 'vnode',
  isfd: true,
  isopen(ident) { return ident < FD_BASE ? os_isopen(ident) : fd_file(ident) !== 0; },
  gone(kn) { return I32[kn + K.hook] !== 0 && os_gone(kn); },
  attach: vn_attach,
  detach: vn_detach,
  event: vn_event,
});

// The host's events on a watcher of a knote (the intr thread or a host
// waiter, no lock held). The watcher and generation reported, for the one
// `still` (knote_fire calls it at once, before anything else could fire).
let stillW = 0, stillGen = 0;
const still = (k: number): boolean => I32[k + K.filter] === EVFILT_VNODE && watcher(k) === stillW && ix.ino_gen(stillW) === stillGen;
ix.ino_add_consumer(ix.INO_KNOTE, (kn, w, gen, mask) => {
  stillW = w; stillGen = gen;
  return knote_fire(kn, mask | HINT_INO, still) ? 1 : 0;
});
