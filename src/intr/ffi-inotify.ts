/**
 * The host calls of the file watchers (inotify.ts), through this thread's
 * libc (kern/libc.ts, lazily, once per thread). Node's fs.watch has no
 * descriptor form (it watches a path, in one thread's event loop), so the
 * kernel makes its own inotify instance and reads it in the intr thread.
 * Also here: open(2) with O_PATH (PORT_SOURCE_FILE holds the file it
 * watches without being able to read it) and a statx that returns what the
 * vnode filter and the file source compare: link count, size, the three
 * times and the identity. ffi.ts's os_stat stays as it is (the readiness
 * path needs no more).
 *
 * Every function returns a number and never throws (they run under kernel
 * locks); -1 means failure and os_errno() (ffi.ts) says why. Buffers are
 * per thread: each thread has its own copy of this module.
 */
import { libc_binder } from '../kern/libc.js';
import { dv_u64, dv_s64 } from './ffi.js';

/** The calls inotify.ts needs, bound on this thread's libc once (kern/libc.ts); null when unavailable. */
const load = libc_binder({
  init1: 'int inotify_init1(int)',
  add: 'int inotify_add_watch(int, const char *, uint32_t)',
  rm: 'int inotify_rm_watch(int, int)',
  read: 'long read(int, void *, unsigned long)',
  open: 'int open(const char *, int, int)',
  statx: 'int statx(int, const char *, int, unsigned int, void *)',
  // The same call for a descriptor, its empty path a pointer (ffi.ts os_stat says why).
  fstatx: 'int statx(int, void *, int, unsigned int, void *)',
});

/** True when the calls are usable in this thread. */
export function ino_available(): boolean { return load() !== null; }

// inotify(7) event bits.
export const IN_ACCESS = 0x1, IN_MODIFY = 0x2, IN_ATTRIB = 0x4, IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100, IN_DELETE = 0x200, IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800;
export const IN_UNMOUNT = 0x2000, IN_Q_OVERFLOW = 0x4000, IN_IGNORED = 0x8000, IN_ISDIR = 0x40000000;
const IN_MASK_ADD = 0x20000000, IN_NONBLOCK = 0o4000, IN_CLOEXEC = 0o2000000;

/** A non-blocking, close-on-exec inotify instance: its descriptor, or -1. */
export function os_inotify_init(): number { return load()!.init1(IN_NONBLOCK | IN_CLOEXEC) as number; }

/**
 * Watches the open file of descriptor fd (through its /proc/self/fd link,
 * which names the open file even once renamed or unlinked), adding `mask`
 * to the watch's mask (IN_MASK_ADD: a watch on the same inode is shared and
 * its wd returned again). The wd, or -1.
 */
export function os_inotify_watch_fd(ifd: number, fd: number, mask: number): number {
  return load()!.add(ifd, `/proc/self/fd/${fd}`, (mask | IN_MASK_ADD) >>> 0) as number;
}
export function os_inotify_rm(ifd: number, wd: number): number { return load()!.rm(ifd, wd) as number; }

/** A read buffer of inotify events and its parsed entries (wd, mask; names are not kept). */
export class InoEvents {
  readonly bytes = new Uint8Array(16384);
  private readonly v = new DataView(this.bytes.buffer);
  // The entries, at most one per 16 bytes read: filled in place, no array
  // grown and emptied again per read (one read per event on the host
  // waiter's path).
  readonly wd = new Int32Array(16384 / 16);
  readonly mask = new Uint32Array(16384 / 16);
  /** Nonzero: the event names an entry of a watched directory (a child), not the watched file itself. */
  readonly named = new Uint8Array(16384 / 16);
  /**
   * Whether the last read may have left events queued: it filled the buffer
   * to within one largest event (16 bytes and a NAME_MAX name). Otherwise
   * the queue was empty when read, and anything queued since is a new edge
   * for epoll: no second read(2) to learn of EAGAIN.
   */
  more = false;
  /** Reads what is queued (non-blocking) and parses it: the number of events, 0 when none, -1 on error. */
  fill(ifd: number): number {
    const n = Number(load()!.read(ifd, this.bytes, this.bytes.length) as number | bigint);
    this.more = n > this.bytes.length - (16 + 256);
    if (n <= 0) return n === 0 ? 0 : -1;
    const v = this.v;
    let k = 0;
    for (let o = 0; o + 16 <= n; o += 16 + v.getUint32(o + 12, true)) {
      this.wd[k] = v.getInt32(o, true);
      this.mask[k] = v.getUint32(o + 4, true);
      this.named[k] = v.getUint32(o + 12, true) !== 0 ? 1 : 0;
      k++;
    }
    return k;
  }
}

const O_PATH = 0o10000000, O_NOFOLLOW = 0o400000, O_CLOEXEC = 0o2000000;
/** open(name, O_PATH | O_CLOEXEC [| O_NOFOLLOW]): a descriptor that holds the file without access to its data, or -1. */
export function os_open_path(name: string, nofollow: boolean): number {
  return load()!.open(name, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0) as number;
}

const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC = 0x7ff;
const stx = new DataView(new ArrayBuffer(256));
const stxBytes = new Uint8Array(stx.buffer);
const emptyPath = new Uint8Array(1);
/** What os_fstat_ext saw (valid after it returned 0). Times in seconds and nanoseconds. */
export const xst = {
  mode: 0, nlink: 0, size: 0, inoLo: 0, inoHi: 0, devMajor: 0, devMinor: 0,
  atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0, ctimeSec: 0, ctimeNsec: 0,
};
/** statx of an open descriptor into `xst` (link count, size, times, identity): 0 or -1. */
export function os_fstat_ext(fd: number): number {
  if ((load()!.fstatx(fd, emptyPath, AT_EMPTY_PATH, STATX_BASIC, stxBytes) as number) < 0) return -1;
  return stx_parse();
}
const AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100;
/** statx of a path (relative to the process's cwd; the link itself when nofollow) into `xst`: 0 or -1. */
export function os_stat_path(path: string, nofollow: boolean): number {
  if ((load()!.statx(AT_FDCWD, path, nofollow ? AT_SYMLINK_NOFOLLOW : 0, STATX_BASIC, stxBytes) as number) < 0) return -1;
  return stx_parse();
}
function stx_parse(): number {
  xst.nlink = stx.getUint32(16, true);
  xst.mode = stx.getUint16(28, true);
  xst.inoLo = stx.getInt32(32, true); xst.inoHi = stx.getInt32(36, true);
  xst.size = dv_u64(stx, 40);
  xst.atimeSec = dv_s64(stx, 64); xst.atimeNsec = stx.getUint32(72, true);
  xst.ctimeSec = dv_s64(stx, 96); xst.ctimeNsec = stx.getUint32(104, true);
  xst.mtimeSec = dv_s64(stx, 112); xst.mtimeNsec = stx.getUint32(120, true);
  xst.devMajor = stx.getInt32(136, true); xst.devMinor = stx.getInt32(140, true);
  return 0;
}
