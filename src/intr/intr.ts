/**
 * The intr subsystem: where the kernel meets the host's descriptors. Its
 * structs (the OS event sources and the subsystem state) and their theory.
 *
 * ---- Shape ------------------------------------------------------------------
 *
 * One epoll instance serves the whole process (its descriptor number is in
 * kernel memory, and descriptors are process-wide, so every thread may use
 * it). A thread that registers interest in an OS descriptor (a kqueue filter
 * attaching, under its kqueue lock) calls epoll_ctl itself, at once: the
 * registration is in force when the syscall returns, whether or not the intr
 * thread runs yet, and the filter then asks the descriptor's readiness once
 * itself (poll with a zero timeout), so a descriptor ready when registered
 * reports at once. The intr thread (intrthread.ts) only waits: it blocks in
 * epoll_wait (no JS runs, no CPU is used while nothing happens) and turns
 * each OS event into activations through the one mapping (dispatch.ts), intr_dispatch ->
 * the handlers its consumers installed (the kqueue's os filter: knote_event on
 * every knote of the source, each under its kqueue's lock; the ports'
 * PORT_SOURCE_FD; the proc and vnode sources on their pidfds and inotify fd). An eventfd in
 * the same epoll set (in the thread's own set once it runs: Latency, below)
 * is the control channel: writing it wakes the thread to read the control
 * word (pokes), and at process exit to end its wait (a thread blocked in a
 * host call cannot be terminated, and Node's exit waits for its workers:
 * kern/libc.ts host_enter).
 *
 * Edge-triggered. Each source is in epoll with EPOLLET: the thread hears of
 * each new arrival (data written, space freed, hang-up) once, not of a
 * descriptor that stays ready, so a readable pipe nobody reads costs nothing.
 * Whether an event is present is never taken from epoll: the filter asks the
 * descriptor (poll, FIONREAD, ...) under the kqueue lock every time it
 * evaluates a knote (registration, scan), so a level-triggered knote drained
 * by a read is dropped at the next scan, and EV_CLEAR knotes report once per
 * arrival, as BSD's socket and pipe filters do. epoll's bits are a hint of
 * which knotes may have news: the kqueue's handler activates a knote whose
 * direction they name without asking the descriptor (no host call in the
 * intr thread per knote), because the scan evaluates it again anyway and
 * drops it if nothing is there; only knotes the scan does not evaluate
 * (EV_ONESHOT) or that would wake a sleeper for nothing (NOTE_LOWAT) are
 * evaluated at activation.
 *
 * Directions. epoll reports an event's whole ready mask (the file's poll,
 * masked by the registration's events), whichever wake-up queued it: with
 * input and output in one registration, bytes arriving on a writable
 * socket report EPOLLOUT too, and space freed on a readable one EPOLLIN.
 * BSD fires a read knote from its receive buffer's wake-ups and a write
 * knote from its send buffer's only, so an EV_CLEAR knote of one direction
 * must not hear the other's. epoll queues an event only for a wake-up
 * whose bits meet its registration's mask (the host's poll wake-ups name
 * their direction; hang-ups and errors wake every registration), so the
 * kqueue's write interests (DIR_WRITE_OWN) have a registration of their
 * own, EPOLLOUT alone, in a second set, the write set, which sits in the
 * kernel's set (edge-triggered, data WSET_DATA) and is taken by whoever
 * takes the kernel set's events (wset_take). One set per direction, not a
 * dup of the descriptor in the same set: a dup would keep the file open
 * after the user closed its number behind the kernel's back (a socket's
 * peer would not see its end), and would take a descriptor number.
 * Ports' output interests (DIR_WRITE) are in the write set too: in the
 * kernel's set beside a read knote's input interest, an output wake-up of
 * a readable socket reported EPOLLIN and fired its EV_CLEAR read knote
 * again with no new bytes. A port event still reports every ready bit the
 * association asked for: while a source has such an interest, its events
 * reach the ports' handler with the descriptor's whole ready mask, polled
 * (dispatch.ts).
 *
 * One known double: epoll_ctl ADD or MOD of a ready descriptor queues an
 * event for its present state, which the registering filter just reported
 * itself, so an EV_CLEAR knote registered on a ready descriptor reports
 * again if it is still ready when that event is scanned. epoll cannot tell
 * it from an arrival merged into it: dropping it could lose one.
 *
 * Bursts: after a batch of several events the thread looks again without
 * sleeping for intr_spin_ns while it finds more (intrthread.ts says why).
 *
 * Latency. Through this thread, a write reaches an LWP blocked in kevent
 * in two hops: the host waking this thread, then this thread waking the
 * LWP's futex (~7 + 3 + 6 us + 3-4 us of scan, against ~8-9 us for a
 * worker's event loop). So a blocking kevent on a kqueue with OS knotes
 * waits in the host itself, in epoll_pwait2 on the epoll set, which holds
 * its kick eventfd too (hostwait.ts, kick.ts): while any sleeper waits so,
 * this thread leaves the set's events to it (handover.ts), and the sleeper
 * takes them in the wait that wakes it and dispatches them in its own
 * thread: one hop. To be woken without taking the events, this thread
 * waits on a set of its own that holds the kernel's set (edge-triggered)
 * and the control eventfd, which thus only it ever takes; work that only
 * it may do (childwait.ts's io_uring) comes back to it through a poke on
 * that eventfd (intr_poke).
 * A port_get getter with PORT_SOURCE_FD associations waits on the
 * descriptor of its latest association instead (ports/hostwait.ts; the
 * protocol with this thread, which leaves such a descriptor's events to
 * the getter, is in ports/src-fd.ts), and takes that descriptor out of
 * this thread's reports meanwhile when it is its only interest (quiet
 * sources, below).
 *
 * Identity. A source is one open file at one descriptor number: fd plus the
 * file's (st_dev, st_ino) from statx, taken at registration. Linux drops an
 * epoll registration when its open file is closed, but the number may then
 * be reused for another file, which epoll knows nothing of. So every
 * evaluation compares statx of the number with the source's identity
 * (intr_source_valid); a mismatch means the file was closed behind the
 * kernel's back: the knote never reports again, and a registration that
 * meets such a source marks it stale (SRC_STALE: off the lookup, never put
 * back in epoll) before it makes a new one for the new file. A file type
 * whose opens share an inode (a FIFO, a TTY, the anonymous-inode files)
 * cannot be told apart by statx: for those, a hold or a change that meets
 * the source asks epoll whether it still holds the source's open file
 * (reopened, below). Data words of epoll events carry the source's handle
 * and generation, so an event of a freed or reused source slot is dropped.
 *
 * Regular files and directories cannot be in epoll (EPERM): they are always
 * ready (SRC_NOEPOLL) and need no thread.
 *
 * Not every host event comes through epoll: a child's exit is also heard
 * through an io_uring the intr thread keeps (childwait.ts), whose
 * completions ring the control eventfd (intr_on_control) and are
 * dispatched as the child's pidfd events.
 *
 * ---- Locks ------------------------------------------------------------------
 *
 *   intr lock (I)  the source table (hash chains, allocation), each source's
 *                  interest counts, epoll mask and flags, the epoll and
 *                  eventfd numbers. Taken under a kqueue lock (filter attach
 *                  and detach) or alone (the intr thread's lookup, close);
 *                  nothing is taken under it. epoll_ctl runs under it, so the
 *                  epoll set always matches the table.
 *
 * ---- Life of a source -------------------------------------------------------
 *
 *   from       to          by
 *   (free)     live        intr_source_hold: the first interest (alloc, hash,
 *                          epoll_ctl ADD unless NOEPOLL)
 *   live       live        hold / rele of another interest: the epoll masks
 *                          follow the read and except counts (the kernel's
 *                          set) and the write and write-own counts (the
 *                          write set): ADD, MOD or DEL in each
 *   live       stale       a hold of the same number finds another file there
 *   live       (free)      the last rele: epoll_ctl DEL (each set it is in),
 *                          unhash, free
 *   stale      (free)      the last rele (no epoll_ctl: the number is another
 *                          file's now)
 *
 * close(fd) through the kernel (kern/sys.ts) runs the close handler for every
 * source of that number (the consumer drops its knotes, whose detach releases
 * the sources) and then closes the descriptor.
 */
import { I32, define_struct, kcache_create, kregion_create } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mutex_class } from '../kern/lockdebug.js';
import { SList } from '../kern/queue.js';
import { define_tunable } from '../kern/options.js';
import { tunables } from '../kern/boot.js';
import { kstat_counter, kstat_add, kstat_gauge } from '../kern/kstat.js';
import type { Errno } from '../kern/errno.js';
import * as os from './ffi.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /** OS descriptors watched at once (default 16384); a registration beyond is ENOMEM. */
    intr_sources_max?: number;
    /** How long the intr thread looks for more events after a batch before it sleeps, ns (default 30000; 0: never). */
    intr_spin_ns?: number;
    /** The intr thread's SCHED_FIFO priority, 1-99, where the host allows it (default 1; 0: an ordinary thread). */
    intr_rtprio?: number;
  }
}
define_tunable('intr_sources_max', 16384, 16, 1 << 20);
define_tunable('intr_spin_ns', 30_000, 0, 10_000_000);
define_tunable('intr_rtprio', 1, 0, 99);

/** struct intrsrc. `[key]`: what guards the field (legend in kern/lockorder.ts). */
const INTRSRC = define_struct('intrsrc', {
  hnext: 'i32',    // [I] hash chain (word 0: the cache's free link while free)
  fd: 'i32',       // [c] the descriptor number
  gen: 'i32',      // [I] nonzero while allocated; epoll's data word carries it
  mode: 'i32',     // [c] S_IFMT bits of the file
  inoLo: 'i32', inoHi: 'i32', devMajor: 'i32', devMinor: 'i32', // [c] the open file's identity
  sotype: 'i32',   // [c,a] SO_TYPE of a socket (-1 until first asked), 0 otherwise
  nread: 'i32', nwrite: 'i32', // [I] interests (knotes) wanting input / output readiness
  nexcept: 'i32',  // [I] interests wanting exceptional conditions (out-of-band data)
  nwown: 'i32',    // [I] interests wanting output readiness on a registration of their own (the write set)
  events: 'i32',   // [I] the epoll mask registered in the kernel's set (0: not there)
  wevents: 'i32',  // [I] the epoll mask registered in the write set (0: not there)
  flags: 'i32',    // [I,a] SRC_*; read lock-free by intr_source_valid, intr_source_unquiet
  users: 'i32',    // [I,a] INTR_USER_* of every hold so far; read lock-free by intr_dispatch
  soerr: 'i32',    // [a] a socket's error taken at its hang-up (src_keep_soerr), 0 while none
  seen: 'i32',     // [a] the epoll bits of its last dispatched event | SEEN_SET, taken once by an evaluation (intr_revents_take); 0: none
});
export const S = INTRSRC.F;
/** The sources' hash chains by descriptor number (I). */
const CHAIN = new SList(S.hnext);
export const SRC_STALE = 1, SRC_NOEPOLL = 2, SRC_QUIET = 4;

export const sources = kcache_create('intrsrc', INTRSRC, (t) => t.intr_sources_max!);

function nbuckets(max: number): number { let n = 64; while (n < max) n *= 2; return n; }
/** Kernel-wide state: the lock, epoll and eventfd numbers (+1; 0 none), thread words, generation, then buckets. */
const state = kregion_create('intr', (t) => W_BUCKETS + nbuckets(t.intr_sources_max!));
const W_LOCK = 0, W_EPFD = 1, W_EVFD = 2, W_RUNNING = 3, W_GEN = 4, W_ASKED = 5, W_TID = 6, W_POKE = 7, W_WEPFD = 8, W_BUCKETS = 9;
mutex_class('intr', state, { words: 1 });

export const C_EVENTS = kstat_counter('intr', 'os_events');
export const C_ACTIVATIONS = kstat_counter('intr', 'activations');
export const C_WAKEUPS = kstat_counter('intr', 'wakeups');
export const C_CPU_US = kstat_counter('intr', 'cpu_us');
/** 1 once the intr thread runs at its real-time priority (intr_rtprio), 0 while it is an ordinary thread. */
export const C_RT = kstat_counter('intr', 'rt');
export const C_STARTED = kstat_counter('intr', 'started');
const C_POKES = kstat_counter('intr', 'pokes');
const C_STALE = kstat_counter('intr', 'stale_sources');
const C_REG = {
  pipe: kstat_counter('intr', 'reg_pipe'), socket: kstat_counter('intr', 'reg_socket'),
  file: kstat_counter('intr', 'reg_file'), other: kstat_counter('intr', 'reg_other'),
};
kstat_gauge('intr', 'sources', () => sources.inuse);
/** The intr thread's host thread id (0 until it runs): its CPU time is in /proc/self/task/TID/stat. */
kstat_gauge('intr', 'tid', () => Atomics.load(I32, state.base + W_TID));

const lockw = (): number => state.base + W_LOCK;
function bucket(fd: number): number { return state.base + W_BUCKETS + (fd & (state.words - W_BUCKETS - 1)); }

/** The epoll descriptor, or -1 when none was made yet. */
export function intr_epfd(): number { return Atomics.load(I32, state.base + W_EPFD) - 1; }
/** The control eventfd, or -1. */
export function intr_evfd(): number { return Atomics.load(I32, state.base + W_EVFD) - 1; }
export function intr_running(): boolean { return Atomics.load(I32, state.base + W_RUNNING) !== 0; }
/** Whether this thread is the intr thread (set by intr_announce), and what runs there once it does. */
let self = false;
const startHooks: (() => void)[] = [];
/** Called by the intr thread once attached: its host thread id (for /proc CPU accounting), then running. */
export function intr_announce(tid: number): void {
  self = true;
  Atomics.store(I32, state.base + W_TID, tid);
  Atomics.store(I32, state.base + W_RUNNING, 1);
  kstat_add(C_STARTED);
  for (const fn of startHooks) fn();
}
/** Whether this thread is the intr thread. */
export function intr_is_self(): boolean { return self; }
/** Runs fn in the intr thread once it runs (before its first epoll_wait): a consumer's work that waited for it. */
export function intr_on_start(fn: () => void): void { startHooks.push(fn); }
/** The intr thread's real-time priority (intrthread.ts says why), 0 for none. */
export function intr_rtprio(): number { return tunables().intr_rtprio!; }
/** The intr thread's look-again window after a batch (ns). */
export function intr_spin_ns(): number { return tunables().intr_spin_ns!; }
/** Whether the thread's start was claimed (it may still be setting up). */
export function intr_start_asked(): boolean { return Atomics.load(I32, state.base + W_ASKED) !== 0; }
/**
 * Marks the thread's start claimed (start.ts, before its request), so that
 * sleepers look again for a host wait after a bridge period. Its word
 * (intr_asked_word) is 0 again when the start fails (lwp/kthread.ts).
 */
export function intr_claim_start(): void { Atomics.store(I32, state.base + W_ASKED, 1); }
/** The word of intr_start_asked, for the give-back of a failed start. */
export function intr_asked_word(): number { return state.base + W_ASKED; }

/**
 * Pokes: work only the intr thread may do, asked by another thread that
 * took an event of the set meant for it (childwait.ts: its io_uring's
 * completions). A bit in W_POKE and a ring of the control eventfd, which
 * only the intr thread waits on, so a poke is never taken by a host waiter.
 */
const pokeFns: (() => void)[] = [];
/** Registers poke work; returns its bit. */
export function intr_on_poke(fn: () => void): number { pokeFns.push(fn); return 1 << (pokeFns.length - 1); }
/** Asks the intr thread for the poke work of `bit`. */
export function intr_poke(bit: number): void {
  kstat_add(C_POKES);
  Atomics.or(I32, state.base + W_POKE, bit);
  const ev = intr_evfd();
  if (ev >= 0) os.os_eventfd_ring(ev);
}
/**
 * Work run at every ring of the control eventfd, asked for or not: the
 * host rings it too, for completions of childwait.ts's io_uring (the
 * eventfd registered with that ring).
 */
const controlFns: (() => void)[] = [];
export function intr_on_control(fn: () => void): void { controlFns.push(fn); }
/** The intr thread runs the poke work asked for, then the control work (its control eventfd rang). */
export function intr_run_pokes(): void {
  const bits = Atomics.exchange(I32, state.base + W_POKE, 0);
  for (let i = 0; i < pokeFns.length; i++) if ((bits & (1 << i)) !== 0) pokeFns[i]!();
  for (const fn of controlFns) fn();
}

/** Makes the epoll set, its control eventfd and the write set in it (intr lock held): 0 or an errno. */
function epoll_setup(): Errno {
  if (I32[state.base + W_EPFD] !== 0) return 0;
  const ep = os.os_epoll_create();
  if (ep < 0) return 'ENOMEM';
  const ev = os.os_eventfd(), wep = os.os_epoll_create();
  if (ev < 0 || wep < 0 || os.os_epoll_set(ep, ev, os.EPOLLIN, 0, 0, false) < 0 ||
      os.os_epoll_set(ep, wep, (os.EPOLLIN | os.EPOLLET) >>> 0, WSET_DATA, 0, false) < 0) {
    os.os_close(ep); if (ev >= 0) os.os_close(ev); if (wep >= 0) os.os_close(wep);
    return 'ENOMEM';
  }
  Atomics.store(I32, state.base + W_WEPFD, wep + 1);
  Atomics.store(I32, state.base + W_EVFD, ev + 1);
  Atomics.store(I32, state.base + W_EPFD, ep + 1);
  return 0;
}

/**
 * Interest directions. DIR_WRITE (a port association's POLLOUT) and
 * DIR_WRITE_OWN (a write knote) are both output readiness on the source's
 * registration in the write set, whose events come from output wake-ups
 * only (Directions, above); they differ in who hears its events
 * (dispatch.ts: a port's handler gets the whole ready mask, polled).
 */
export const DIR_READ = 1, DIR_WRITE = 2, DIR_EXCEPT = 4, DIR_WRITE_OWN = 8;
/** The count field of an interest direction. */
const dir_count = (dir: number): number =>
  dir === DIR_READ ? S.nread : dir === DIR_WRITE ? S.nwrite : dir === DIR_WRITE_OWN ? S.nwown : S.nexcept;
/** The write set's data word in the kernel's set (no source is at address 1; 0 is the control eventfd). */
export const WSET_DATA = 1;
/** A kick eventfd's data word in the kernel's set (kick.ts; its high word is the LWP slot). No source is at 3 either. */
export const KICK_DATA = 3;

/** The epoll mask a source's interests want. */
function want(src: number): number {
  let m = 0;
  if (I32[src + S.nread]! > 0) m |= os.EPOLLIN | os.EPOLLPRI | os.EPOLLRDHUP;
  if (I32[src + S.nexcept]! > 0) m |= os.EPOLLPRI;
  return m === 0 ? 0 : (m | os.EPOLLET) >>> 0;
}
/** The write set's mask a source's interests want: output, for write knotes and ports' POLLOUT alike. */
const wwant = (src: number): number => I32[src + S.nwown]! > 0 || I32[src + S.nwrite]! > 0 ? (os.EPOLLOUT | os.EPOLLET) | 0 : 0;

/** Brings the epoll registrations in line with the interests, or each with none while quiet (intr lock held). */
function sync_epoll(src: number): void {
  const f = I32[src + S.flags]!;
  if ((f & (SRC_STALE | SRC_NOEPOLL)) !== 0) return;
  const quiet = (f & SRC_QUIET) !== 0;
  const m = quiet ? (I32[src + S.events] !== 0 ? os.EPOLLET : 0) : want(src) | 0;
  if (!sync_set(src, W_EPFD, S.events, m)) return;
  sync_set(src, W_WEPFD, S.wevents, quiet ? (I32[src + S.wevents] !== 0 ? os.EPOLLET : 0) : wwant(src));
}
/** One set's registration of src (field: its mask) made mask m; false when src proved not pollable. */
function sync_set(src: number, setw: number, field: number, m: number): boolean {
  const had = I32[src + field]!;
  if (m === had) return true;
  const ep = I32[state.base + setw]! - 1, fd = I32[src + S.fd]!;
  if (m === 0) os.os_epoll_del(ep, fd);
  else if (os.os_epoll_set(ep, fd, m, src, I32[src + S.gen]!, had !== 0) < 0) {
    // Not pollable (a regular file, a directory): always ready, nothing to wait for.
    if (had === 0) { Atomics.store(I32, src + S.flags, I32[src + S.flags]! | SRC_NOEPOLL); return false; }
  }
  I32[src + field] = m;
  return true;
}

/** Whether source src is the open file os.st describes. */
function same_file(src: number): boolean {
  return I32[src + S.inoLo] === os.st.inoLo && I32[src + S.inoHi] === os.st.inoHi &&
    I32[src + S.devMajor] === os.st.devMajor && I32[src + S.devMinor] === os.st.devMinor;
}

/**
 * The live source of fd for the file in os.st, or 0; marks one for another
 * file stale, or for another open of the same inode (intr lock held).
 */
function lookup(fd: number): number {
  for (let s = CHAIN.first(bucket(fd)); s !== 0; s = CHAIN.after(s)) {
    if (I32[s + S.fd] !== fd || (I32[s + S.flags]! & SRC_STALE) !== 0) continue;
    if (same_file(s) && !reopened(s)) return s;
    Atomics.store(I32, s + S.flags, I32[s + S.flags]! | SRC_STALE);
    kstat_add(C_STALE);
  }
  return 0;
}

/*
 * Another open of the same inode. The identity (st_dev, st_ino) tells files
 * apart, not opens of one file: a FIFO opened again by its path, a TTY's
 * device, and every anonymous-inode file (eventfd, timerfd, signalfd, epoll,
 * inotify: one shared inode, file type 0) look the same at the same number
 * after a close behind the kernel's back. The host dropped the source's
 * epoll registration with the old open file, so a hold that took the
 * source as live saw its mask unchanged, made no epoll_ctl, and its knote
 * was never woken by an arrival. epoll itself knows which open file it
 * holds at that number: EPOLL_CTL_ADD fails with EEXIST while the
 * registration lives (no side effect: nothing is queued, unlike a MOD), and
 * succeeds once it went, which is then taken back at once so that the new
 * source registers itself. Sockets have an inode per open file, regular
 * files and directories are not in epoll: they are never asked. A pipe is
 * asked (it is a FIFO: /proc/self/fd/N opens its inode again), one failing
 * epoll_ctl per hold or change that meets its source (~0.7 us a
 * PORT_SOURCE_FD re-association on a pipe).
 */
const SHARED_INODE = (mode: number): boolean => mode === os.S_IFIFO || mode === os.S_IFCHR || mode === 0;
/** Whether src (in epoll, its identity matching) lost its epoll registration with its open file (intr lock held). */
function reopened(src: number): boolean {
  if (!SHARED_INODE(I32[src + S.mode]!) || (I32[src + S.flags]! & SRC_NOEPOLL) !== 0) return false;
  // Either registration tells: both go with the open file.
  const inMain = I32[src + S.events] !== 0, m = I32[src + (inMain ? S.events : S.wevents)]!;
  if (m === 0) return false;
  const ep = I32[state.base + (inMain ? W_EPFD : W_WEPFD)]! - 1, fd = I32[src + S.fd]!;
  if (os.os_epoll_set(ep, fd, m, src, I32[src + S.gen]!, false) < 0) return false;
  os.os_epoll_del(ep, fd);
  return true;
}
/**
 * Whether src's number now names another open of its inode (see reopened):
 * then it is marked stale, as a mismatch found by a hold would be. Asked
 * where a change meets an existing knote (kqueue_register's gone), after
 * intr_source_valid said the identity holds; nothing (no lock, no host
 * call) for a source whose file type never shares an inode.
 */
export function intr_source_reopened(src: number): boolean {
  if (!SHARED_INODE(I32[src + S.mode]!) || (Atomics.load(I32, src + S.flags) & (SRC_STALE | SRC_NOEPOLL)) !== 0) return false;
  mutex_enter(lockw());
  const gone = (I32[src + S.flags]! & SRC_STALE) === 0 && reopened(src);
  if (gone) { Atomics.store(I32, src + S.flags, I32[src + S.flags]! | SRC_STALE); kstat_add(C_STALE); }
  mutex_exit(lockw());
  return gone;
}

/** A new source for fd and the file in os.st, hashed (intr lock held); 0 when the table is full. */
function source_new(fd: number): number {
  const s = sources.alloc();
  if (s === 0) return 0;
  const g = (I32[state.base + W_GEN]! + 1) & 0x7fffffff || 1;
  I32[state.base + W_GEN] = g;
  Atomics.store(I32, s + S.gen, g);
  I32[s + S.fd] = fd;
  I32[s + S.mode] = os.st.mode & os.S_IFMT;
  I32[s + S.inoLo] = os.st.inoLo; I32[s + S.inoHi] = os.st.inoHi;
  I32[s + S.devMajor] = os.st.devMajor; I32[s + S.devMinor] = os.st.devMinor;
  const mode = os.st.mode & os.S_IFMT;
  I32[s + S.sotype] = mode === os.S_IFSOCK ? -1 : 0; // asked at first use (src_sotype)
  Atomics.store(I32, s + S.seen, 0); // (nothing of the slot's last source)
  if (mode === os.S_IFREG || mode === os.S_IFDIR) I32[s + S.flags] = SRC_NOEPOLL;
  CHAIN.insert_head(bucket(fd), s);
  kstat_add(mode === os.S_IFSOCK ? C_REG.socket : mode === os.S_IFIFO ? C_REG.pipe : mode === os.S_IFREG ? C_REG.file : C_REG.other);
  return s;
}

/** What intr_source_hold found. */
export const held = { src: 0 };

/**
 * Takes an interest (DIR_READ, DIR_WRITE or DIR_EXCEPT) in OS descriptor fd: finds or
 * makes its source and puts it in epoll. Returns 0 (the source in
 * held.src) or EBADF (not open), ENOMEM (table full, or no epoll),
 * EOPNOTSUPP (no host calls on this platform). Never throws; may be called
 * under a kqueue lock. `statted`: the caller's last os_stat in this thread,
 * just now in the same call, was of fd and succeeded (os.st is its answer).
 * `user`: the consumer's INTR_USER_* bit, whose handler then hears of the
 * source's events (intr_dispatch); by default every handler does.
 */
export function intr_source_hold(fd: number, dir: number, statted = false, user = INTR_USER_ANY): Errno {
  if (!os.os_available()) return 'EOPNOTSUPP';
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) return 'EBADF';
  if (!statted && os.os_stat(fd) < 0) return 'EBADF';
  mutex_enter(lockw());
  try {
    const err = epoll_setup();
    if (err !== 0) return err;
    let s = lookup(fd);
    if (s === 0) s = source_new(fd);
    if (s === 0) return 'ENOMEM';
    I32[s + dir_count(dir)]++;
    quiet_end(s); // another interest: its consumer waits on no host wait of the quiet one's
    const u = I32[s + S.users]!;
    if ((u | user) !== u) Atomics.store(I32, s + S.users, u | user);
    sync_epoll(s);
    held.src = s;
    return 0;
  } finally {
    mutex_exit(lockw());
  }
}

/** Drops an interest taken by intr_source_hold; the last one frees the source. Never throws. */
export function intr_source_rele(src: number, dir: number): void {
  mutex_enter(lockw());
  I32[src + dir_count(dir)]--;
  quiet_end(src);
  if (I32[src + S.nread]! > 0 || I32[src + S.nwrite]! > 0 || I32[src + S.nexcept]! > 0 || I32[src + S.nwown]! > 0) {
    sync_epoll(src); mutex_exit(lockw()); return;
  }
  if ((I32[src + S.flags]! & SRC_STALE) === 0) {
    if (I32[src + S.events] !== 0) os.os_epoll_del(I32[state.base + W_EPFD]! - 1, I32[src + S.fd]!);
    if (I32[src + S.wevents] !== 0) os.os_epoll_del(I32[state.base + W_WEPFD]! - 1, I32[src + S.fd]!);
  }
  unhash(src);
  Atomics.store(I32, src + S.gen, 0);
  mutex_exit(lockw());
  sources.free(src);
}

function unhash(src: number): void { CHAIN.remove(bucket(I32[src + S.fd]!), src); }

/*
 * Quiet sources. A port_get getter waiting in the host on the descriptor
 * of its association (ports/hostwait.ts) is woken by the arrival itself;
 * when that association is the source's only interest, the intr thread,
 * woken by the same arrival through the set, has nothing to do but leave
 * the event to the getter (ports/src-fd.ts), and as a real-time thread it
 * takes a CPU from the getter or the writer to do it. So that consumer may
 * take the source out of the set's reports while it waits (EPOLL_CTL_MOD
 * with no events: epoll still reports errors and hang-ups) and puts it back
 * when its association must be heard again (re-armed, or still armed when
 * the wait ends). The MOD back evaluates the descriptor, so an arrival
 * while quiet is reported then: none waits for a later edge. Any other
 * hold or rele ends the quiet (quiet_end), the new interest's consumer not
 * being the waiter. The flag is set and cleared for its consumer under that
 * consumer's own lock (the portfd lock), which is why intr_source_unquiet
 * may peek at it first.
 */
const C_QUIETS = kstat_counter('intr', 'quiets');
/** Ends a quiet of src before its interests change (intr lock held; the caller's sync_epoll follows). */
function quiet_end(src: number): void {
  const f = I32[src + S.flags]!;
  if ((f & SRC_QUIET) !== 0) Atomics.store(I32, src + S.flags, f & ~SRC_QUIET);
}
/**
 * Quiets src when its interests are exactly `dirs` (one of each: the
 * caller's own) and it is in epoll. Returns whether src is quiet now.
 */
export function intr_source_quiet(src: number, dirs: number): boolean {
  mutex_enter(lockw());
  const f = I32[src + S.flags]!;
  if ((f & (SRC_STALE | SRC_NOEPOLL | SRC_QUIET)) === 0 && (I32[src + S.events] !== 0 || I32[src + S.wevents] !== 0) &&
      I32[src + S.nexcept] === 0 && I32[src + S.nwown] === 0 &&
      I32[src + S.nread] === ((dirs & DIR_READ) !== 0 ? 1 : 0) && I32[src + S.nwrite] === ((dirs & DIR_WRITE) !== 0 ? 1 : 0)) {
    Atomics.store(I32, src + S.flags, f | SRC_QUIET);
    sync_epoll(src);
    kstat_add(C_QUIETS);
  }
  const q = (I32[src + S.flags]! & SRC_QUIET) !== 0;
  mutex_exit(lockw());
  return q;
}
/** Puts a quiet src back in the set's reports (its interests' mask); nothing when it is not quiet. */
export function intr_source_unquiet(src: number): void {
  if ((Atomics.load(I32, src + S.flags) & SRC_QUIET) === 0) return;
  mutex_enter(lockw());
  quiet_end(src);
  sync_epoll(src);
  mutex_exit(lockw());
}

/**
 * Whether src's descriptor number still names its file (statx compared
 * with the identity taken at registration; leaves os.st filled). A lock-free
 * read of [c] fields and the stale flag.
 */
export function intr_source_valid(src: number): boolean {
  if ((Atomics.load(I32, src + S.flags) & SRC_STALE) !== 0) return false;
  return os.os_stat(I32[src + S.fd]!) === 0 && same_file(src);
}

/*
 * One statx answer for two checks of the same call. A caller whose statx
 * of src's descriptor has just confirmed its identity says so
 * (intr_source_confirmed); the thread's next question about it
 * (intr_source_fresh) takes that answer instead of another statx when no
 * other statx ran in this thread since (ffi.ts's count): what the repeated
 * statx would say but for a close racing the one call, which the next
 * evaluation sees anyway. Users: the kqueue register path (attach, then the
 * new knote's evaluation), EVFILT_VNODE (a host waiter's dispatch of an
 * inotify event, then the scan of the same kevent call: vnode.ts) and
 * PORT_SOURCE_FD (a getter's claim, then the delivery of that event in the
 * same port_get). A kevent call forgets it when it begins and ends, a
 * port_get that slept (where claims happen) when it ends (intr_call_forget).
 */
let confSrc = 0, confSeq = -1;
/** This thread's last statx confirmed src's identity. */
export function intr_source_confirmed(src: number): void { confSrc = src; confSeq = os.os_stat_seq(); }
/** Whether that confirmation is of src and still the last statx; forgets it either way (it answers once). */
export function intr_source_fresh(src: number): boolean {
  const fresh = src !== 0 && src === confSrc && os.os_stat_seq() === confSeq;
  confSrc = 0;
  return fresh;
}

/*
 * What the last dispatch of a source's event saw, for the evaluation that
 * follows. epoll computes an event's bits by polling the file when it
 * hands the event over, so a thread that evaluates the woken knote (the
 * scan of a kevent call the intr thread woke, or a host waiter's own scan
 * after its harvest) would ask the same file the same question again a few
 * microseconds later: a poll(2) per event (the scan of 100 events the intr
 * thread dispatched made 100: bench/os-sources.bench.ts, 10 000 knotes).
 * So every dispatch (dispatch.ts: the intr thread, a host waiter, a bridge)
 * leaves its bits in the source (S.seen), and the kqueue's read filter
 * takes the hang-up and error bits from there (os.ts os_read_event: pipes
 * and stream sockets, whose readability FIONREAD says afresh). They stay
 * good until taken: a hang-up after the dispatch is a new edge, whose own
 * dispatch overwrites them (and activates the knote again), and a hang-up
 * is for good. Taken once: a second knote of the source polls.
 */
const SEEN_SET = 1 << 30;
/** A dispatch of src's event with these bits (no lock: one atomic store). */
export function intr_revents_seen(src: number, revents: number): void { Atomics.store(I32, src + S.seen, (revents & ~SEEN_SET) | SEEN_SET); }
/** The bits of src's last dispatch not yet taken, or -1; takes them. */
export function intr_revents_take(src: number): number {
  if (src === 0) return -1;
  const v = Atomics.exchange(I32, src + S.seen, 0);
  return v === 0 ? -1 : v & ~SEEN_SET;
}
/**
 * Forgets this thread's statx confirmation (intr_source_confirmed). Called
 * when a kevent call begins and ends and when a host wait starts: the
 * answer may not outlive the call that made it, for a later call whose
 * thread ran no statx meanwhile would otherwise take an old confirmation as
 * fresh (and a wait lets any time pass).
 */
export function intr_call_forget(): void { confSrc = 0; }

/** A source's slot number, 0 .. intr_sources_max - 1 (for consumers' per-source tables). */
export function src_index(src: number): number { return sources.index(src); }
/** Sources the table holds at most (intr_sources_max). */
export function src_max(t: { intr_sources_max?: number }): number { return t.intr_sources_max!; }
/** Whether OS descriptor fd is open (statx succeeds); true when the host calls are unavailable (attach then says EOPNOTSUPP). */
export function os_fd_open(fd: number): boolean {
  return !os.os_available() || (Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff && os.os_stat(fd) === 0);
}

/** The descriptor number, file type and socket type of a source. */
export function src_fd(src: number): number { return I32[src + S.fd]!; }
export function src_mode(src: number): number { return I32[src + S.mode]!; }
/** The low 32 bits of the open file's inode (a socket's inode number: sock_diag asks by it). */
export function src_ino(src: number): number { return I32[src + S.inoLo]! >>> 0; }
/** SO_TYPE of a socket source (asked once, at the first call: no registration pays for it), 0 otherwise. */
export function src_sotype(src: number): number {
  const t = Atomics.load(I32, src + S.sotype);
  if (t >= 0) return t;
  const v = Math.max(0, os.os_sockopt_int(I32[src + S.fd]!, os.SOL_SOCKET, os.SO_TYPE));
  Atomics.store(I32, src + S.sotype, v);
  return v;
}

/**
 * A socket's error, taken once at its hang-up and kept for the open file's
 * other knotes and later evaluations: Linux tells it only through
 * getsockopt(SO_ERROR), which clears it, so a second read would find 0.
 */
export function src_soerr(src: number): number { return Atomics.load(I32, src + S.soerr); }
export function src_keep_soerr(src: number, err: number): void { Atomics.compareExchange(I32, src + S.soerr, 0, err); }

/**
 * Consumers by bit, for a source's `users` mask: the kqueue's os filter
 * (EVFILT_READ / WRITE / EXCEPT knotes), the file watchers' inotify
 * instance (INO: inotify.ts, its one source, whose every event is on the
 * path of a host waiter woken by a watched file: the other handlers, each
 * of which would find the source is not its own, are not asked), and the
 * rest together (OTHER: a handler installed without a bit, a hold that
 * names none). The same numbers in every thread (handlers are installed
 * in each thread's own module load order, so their indices cannot be
 * shared).
 */
export const INTR_USER_KQ = 1, INTR_USER_OTHER = 2, INTR_USER_INO = 4;
export const INTR_USER_ANY = INTR_USER_KQ | INTR_USER_OTHER | INTR_USER_INO;
/** The write set's epoll descriptor, or -1 before the kernel's set is made (dispatch.ts wset_take). */
export function intr_wepfd(): number { return Atomics.load(I32, state.base + W_WEPFD) - 1; }

// The mapping from OS events to consumers (handlers, intr_dispatch, the
// write set's events, intr_fdclose) is dispatch.ts; its theory is above.

/** Every source (live or stale) of descriptor number fd (takes the intr lock). */
export function intr_sources_of(fd: number): number[] {
  const out: number[] = [];
  mutex_enter(lockw());
  for (let s = CHAIN.first(bucket(fd)); s !== 0; s = CHAIN.after(s)) if (I32[s + S.fd] === fd) out.push(s);
  mutex_exit(lockw());
  return out;
}

// The bridge until the intr thread runs (bridge.ts), under the names it always had here.
export { intr_bridge, intr_bridge_needed, BRIDGE_NS } from './bridge.js';
