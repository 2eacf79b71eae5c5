/**
 * The kernel descriptor table: ports and kqueues get numbers from one
 * process-wide table. Numbers start at {@link FD_BASE}, far above the OS
 * descriptors a Node process uses, so a kernel descriptor never collides
 * with an fd used as an ident (EVFILT_READ on a socket, PORT_SOURCE_FD).
 *
 * Each entry has a type, a generation (so a stale number is EBADF), the
 * handle of its object, and a watch list: knotes (or other watchers) that
 * want to hear when the object's readiness changes. Object types register
 * their file operations here; the table does not know ports or kqueues.
 *
 * Locks (kern/lockorder.ts): the table lock (d, class fdtab: region word 0)
 * guards allocation, the free list and the closing flag; each entry's lock
 * (f, class file) guards its watch list only. The watcher's module (kqueue)
 * takes its own lock before f; d is a leaf: nothing is taken under it.
 *
 * Life of an entry:
 *
 *   from       to         by (locks)
 *   free       open       fd_alloc: generation bumped, object, an empty watch
 *                         list, closing = 0, then the type stored with
 *                         Atomics (d): the type publishes the entry
 *   open       closing    fd_close: closing = 1 (d); a second close is EBADF
 *   closing    closing    the notify hook (no lock held: the watchers take
 *                         their locks, then f) drops the watching knotes; a
 *                         watcher that checks closing under f either sees it
 *                         or was on the list the hook walks after it was set;
 *                         then the type's close operation releases the object
 *   closing    free       fd_close: type = DTYPE_NONE (Atomics), back on the
 *                         free list (d); also when the close operation threw
 *                         (unless the notify hook did: then never reused)
 *
 * Entries never used yet are not on the free list: they are handed out from
 * a cursor (entry index, ascending) before the list is looked at, so boot
 * touches none of the table (threading a free list through its 8192 entries
 * cost a fresh process ~0.5-1 ms and 256 KiB of RSS) and fd_list walks only
 * up to the cursor. Entries come in the same order as from a list threaded
 * 1..n with the closed ones appended: the never-used ones first, then the
 * closed ones, oldest close first.
 *
 * A descriptor number is FD_BASE + (entry index << shift | generation), the
 * shift as wide as the table leaves of the 30 bits a number has (a table of
 * 8192 entries, the default, keeps 17 generation bits; the largest, 2^20,
 * keeps 10), and the free list is FIFO: a closed entry is reused only after
 * every other free one, so a stale number turns valid again only after
 * 2^bits reuses of its own entry, each behind a lap of the whole free list,
 * not after 1024 reopens of one port (a LIFO list and 10 bits did that).
 *
 * Lookups (fd_file, fd_get) take no lock: they check the generation and the
 * type, and a caller that must keep the object takes its own reference and
 * checks the entry again (kq_hold).
 */
import { I32, define_struct, kregion_create } from './kmem.js';
import { mutex_enter, mutex_exit } from './mutex.js';
import { define_tunable } from './options.js';
import { fail, type ErrnoCode } from './errno.js';
import { copyin_int } from './copyin.js';
import { diag_publish, dc_port_close, dc_kqueue_close } from './diag.js';
import { mutex_class } from './lockdebug.js';

declare module './options.js' {
  interface BootOptions {
    /** Kernel descriptors (ports + kqueues) open at once (default 8192). */
    maxfiles?: number;
  }
}
define_tunable('maxfiles', 8192, 4, 1 << 20);

/** Kernel descriptor numbers start here. */
export const FD_BASE = 1 << 20;

/** File types. */
export const DTYPE_NONE = 0, DTYPE_PORT = 1, DTYPE_KQUEUE = 2;

/** struct file. `[key]`: what guards the field (legend in kern/lockorder.ts). */
const FILE = define_struct('file', {
  lock: 'i32',     // the entry's lock (class file): guards the watch list
  type: 'i32',     // [d,a] DTYPE_*; DTYPE_NONE when free. Published last by fd_alloc, cleared last by fd_close
  obj: 'i32',      // [c] handle of the port / kqueue (written by fd_alloc before the type publishes it)
  gen: 'i32',      // [d,~] bumped by fd_alloc (gen_mask bits); lookups compare it without d (then load the type)
  nextfree: 'i32', // [d] free-list link (entry index + 1), while free
  watch: 'i32', watchTail: 'i32', // [f,~] watch list head/tail (owned by the watcher's module); file_notify and
                   //   knote_enqueue peek at the head without f: nobody watching is the cheap case
  closing: 'i32',  // [d,~] set by fd_close under d; read under f by a new watcher (see the life table), and
                   //   without a lock by the notify hook and fd_list
});
export const FF = FILE.F;
/** Words before the first entry. */
const HDR = 8;
const fdtab = kregion_create('fdtab', (t) => HDR + t.maxfiles! * FILE.words);
mutex_class('fdtab', fdtab, { words: 1 });
mutex_class('file', fdtab, { skip: HDR, field: FF.lock, stride: FILE.words });
// Region words: 0 lock (class fdtab), 1 free head and 3 free tail (entry
// index + 1, 0: empty) [d], 2 count [c: set at boot], 4 the never-used
// cursor (entries below it have been used) [d].
const W_HEAD = 1, W_COUNT = 2, W_TAIL = 3, W_FRESH = 4;

/** Bits of a descriptor number below the entry index, for a table of n entries (10 when n = 2^20). */
function gen_shift(n: number): number { return Math.clz32(n - 1) - 2; }
/** The table entry index a descriptor number names (not checked against the table). */
export function fd_index(fd: number): number { return (fd - FD_BASE) >>> gen_shift(I32[fdtab.base + W_COUNT]!); }

/** Operations an object type provides to the descriptor table. */
export interface FileOps {
  /** Human name, for errors and snapshots. */
  readonly name: string;
  /** Releases the object (called once, after the descriptor is gone). */
  close(obj: number, fd: number): void;
  /** Readiness for EVFILT_READ-style watchers: how much is pending (0: not readable). */
  readable?(obj: number): number;
  /**
   * Whether the object's events may come from the host, through the intr
   * thread (a watcher's sleeper is then one it serves: intr/handover.ts).
   * Lock-free, a hint; true when unsure.
   */
  hostfed?(obj: number): boolean;
}
const ops = new Map<number, FileOps>();
export function fileops_register(type: number, o: FileOps): void { ops.set(type, o); }
export function fileops(type: number): FileOps | undefined { return ops.get(type); }

/** Called when a file's readiness may have changed (see {@link file_notify}). */
export type FileNotify = (file: number, fd: number) => void;
let notifyHook: FileNotify | undefined;
/** Installed by the module that keeps watch lists (kqueue). */
export function file_set_notify_hook(fn: FileNotify): void { notifyHook = fn; }

/** Sets the table up (boot only): every entry is never used, the free list empty. */
export function fdtab_init(): void {
  const b = fdtab.base;
  I32[b + W_COUNT] = (fdtab.words - HDR) / FILE.words;
  I32[b + W_HEAD] = 0;
  I32[b + W_TAIL] = 0;
  I32[b + W_FRESH] = 0;
}

function entry(i: number): number { return fdtab.base + HDR + i * FILE.words; }

/** The next entry to hand out (index + 1), taken off the cursor or the free list; 0 when the table is full. Holds d. */
function take_locked(b: number): number {
  const fresh = I32[b + W_FRESH]!;
  if (fresh < I32[b + W_COUNT]!) { I32[b + W_FRESH] = fresh + 1; return fresh + 1; }
  const i1 = I32[b + W_HEAD]!;
  if (i1 === 0) return 0;
  const next = I32[entry(i1 - 1) + FF.nextfree]!;
  I32[b + W_HEAD] = next;
  if (next === 0) I32[b + W_TAIL] = 0;
  return i1;
}

/**
 * Allocates a descriptor for an object (EMFILE when the table is full).
 * `init`, given the descriptor's number and table entry, writes what the
 * object records of its descriptor before the type publishes it (fdtab
 * lock held: plain stores only, nothing that throws or takes a lock): once
 * published, another LWP may close the number (guessed, or from a list),
 * and its close must find the object complete; writing those fields after
 * fd_alloc returned could land in an object that close had already freed
 * and a new create reused.
 */
export function fd_alloc(type: number, obj: number, syscall: string, init?: (fd: number, file: number) => void): number {
  const b = fdtab.base;
  mutex_enter(b);
  const i1 = take_locked(b);
  if (i1 === 0) { mutex_exit(b); fail('EMFILE', syscall, 'kernel descriptor table full'); }
  const e = entry(i1 - 1);
  const shift = gen_shift(I32[b + W_COUNT]!);
  const gen = (I32[e + FF.gen]! + 1) & ((1 << shift) - 1);
  I32[e + FF.gen] = gen;
  I32[e + FF.obj] = obj;
  I32[e + FF.watch] = 0; I32[e + FF.watchTail] = 0; I32[e + FF.closing] = 0;
  const fd = FD_BASE + ((i1 - 1) << shift | gen);
  init?.(fd, e);
  Atomics.store(I32, e + FF.type, type);
  mutex_exit(b);
  return fd;
}

/** The table entry (file handle) of a live descriptor, or 0. */
export function fd_file(fd: number): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < FD_BASE) return 0;
  const n = I32[fdtab.base + W_COUNT]!, shift = gen_shift(n), x = fd - FD_BASE;
  // No descriptor is that far above FD_BASE, and x >>> shift (and x & mask)
  // would take x modulo 2^32: a kevent ident (any safe integer) of
  // fd + k * 2^32 named the file of fd.
  if (x > 0xffffffff) return 0;
  // x >>> shift: a number above 2^31 must not wrap to a negative index.
  const i = x >>> shift;
  if (i >= n) return 0;
  const e = entry(i);
  if (I32[e + FF.gen] !== (x & ((1 << shift) - 1)) || Atomics.load(I32, e + FF.type) === DTYPE_NONE) return 0;
  return e;
}

/**
 * Looks up a descriptor of the given type and returns its object handle.
 * EBADF when there is no such descriptor; `wrong` (EBADFD for ports, EBADF
 * for kqueues, as their man pages say) when it is another type.
 */
export function fd_get(fd: unknown, type: number, syscall: string, wrong: ErrnoCode): number {
  return I32[fd_get_file(fd, type, syscall, wrong) + FF.obj];
}

/** {@link fd_get}'s lookup and errors, returning the table entry (file handle) rather than its object. */
export function fd_get_file(fd: unknown, type: number, syscall: string, wrong: ErrnoCode): number {
  const n = copyin_int(fd, 'fd', syscall, 'EBADF');
  const e = fd_file(n);
  if (e === 0) fail('EBADF', syscall, `fd ${n}`);
  const t = Atomics.load(I32, e + FF.type);
  if (t !== type) fail(wrong, syscall, `fd ${n} is a ${ops.get(t)?.name ?? 'different file'}`);
  return e;
}

/**
 * Whether entry e (fd_file's answer for fd a moment ago) still holds the
 * descriptor fd: the generation fd names and a type. A close clears the
 * type and a reuse bumps the generation, so a holder that took its own
 * reference on the object re-checks with this instead of a second fd_file.
 */
export function fd_still(fd: number, e: number): boolean {
  const shift = gen_shift(I32[fdtab.base + W_COUNT]!);
  return I32[e + FF.gen] === ((fd - FD_BASE) & ((1 << shift) - 1)) && Atomics.load(I32, e + FF.type) !== DTYPE_NONE;
}

/** close(2) for kernel descriptors. */
export function fd_close(fd: unknown): void {
  const n = copyin_int(fd, 'fd', 'close', 'EBADF');
  const e = fd_file(n);
  if (e === 0) fail('EBADF', 'close', `fd ${n}`);
  const b = fdtab.base;
  mutex_enter(b);
  const type = I32[e + FF.type];
  if (fd_file(n) !== e || type === DTYPE_NONE || I32[e + FF.closing]) { mutex_exit(b); fail('EBADF', 'close', `fd ${n}`); }
  I32[e + FF.closing] = 1;
  mutex_exit(b);
  const obj = I32[e + FF.obj];
  // The descriptor goes even if what follows throws (close(2) frees the
  // number whatever the file's close reports): left closing, it named its
  // object for lookups for ever, and its entry was never used again. None
  // of the kernel's throws but after a panic; this keeps the table sound
  // whatever a file type does. An entry whose watchers were not all told
  // (the hook threw) may still have knotes on its watch list: it is not
  // handed out again, since a new descriptor would inherit them.
  let heard = false;
  try {
    // Watchers hear the close before the object goes (kqueue drops its knotes).
    notifyHook?.(e, n);
    heard = true;
    ops.get(type)?.close(obj, n);
  } finally {
    mutex_enter(b);
    Atomics.store(I32, e + FF.type, DTYPE_NONE);
    if (heard) {
      // At the tail: reused after every other free entry (see the header).
      const i1 = (e - b - HDR) / FILE.words + 1, tail = I32[b + W_TAIL]!;
      I32[e + FF.nextfree] = 0;
      if (tail === 0) I32[b + W_HEAD] = i1; else I32[entry(tail - 1) + FF.nextfree] = i1;
      I32[b + W_TAIL] = i1;
    }
    mutex_exit(b);
  }
  if (type === DTYPE_PORT) diag_publish(dc_port_close, () => ({ port: n }));
  else if (type === DTYPE_KQUEUE) diag_publish(dc_kqueue_close, () => ({ kq: n }));
}

/** Tells watchers of a file that its readiness may have changed. Cheap when nobody watches. */
export function file_notify(file: number, fd: number): void {
  if (I32[file + FF.watch] !== 0 && notifyHook !== undefined) notifyHook(file, fd);
}

/** Every open descriptor with its type (for process exit and snapshots). */
export function fd_list(): { fd: number; type: number; file: number }[] {
  const out: { fd: number; type: number; file: number }[] = [];
  const n = I32[fdtab.base + W_COUNT]!, shift = gen_shift(n), used = Atomics.load(I32, fdtab.base + W_FRESH);
  for (let i = 0; i < used; i++) {
    const e = entry(i);
    const type = Atomics.load(I32, e + FF.type);
    if (type !== DTYPE_NONE && !I32[e + FF.closing]) out.push({ fd: FD_BASE + (i << shift | I32[e + FF.gen]!), type, file: e });
  }
  return out;
}
