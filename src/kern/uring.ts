/**
 * io_uring, the host's ring interface, as the kernel's subsystems use it:
 * written once here, used by AIO's engine (aio/uring.ts: one ring every
 * thread submits to) and by the intr thread's child-exit waits
 * (intr/childwait.ts: a ring only that thread touches).
 *
 * What this file gives: io_uring_setup through libc's syscall(2) (glibc has
 * no wrapper), the ring's layout as the setup reports it (a plain object a
 * subsystem may copy into kernel memory, so that other threads map the same
 * ring), the mapping of a ring into this thread (mmap of the ring descriptor,
 * viewed with koffi.view: reading and writing entries makes no FFI call),
 * SQE writing, CQE taking, io_uring_enter, and IORING_REGISTER_EVENTFD.
 *
 * What it leaves to its users: locking (a ring submitted to from several
 * threads needs a lock around sqe_put + enter, and around cq_take), what
 * user_data means, and when to enter.
 *
 * Two host rules its users build on. A request completes in one of three
 * ways: inside the io_uring_enter that submits it (the submitter then finds
 * its CQE at once), from an io-wq worker, or as task work of the thread that
 * submitted it, which the host runs when that thread next enters or leaves
 * the host (it interrupts a sleep in epoll_wait, futex or poll to do so,
 * then resumes the sleep); so a request whose completion is task work must
 * be submitted by a thread that lives as long as the request. A ring set up
 * without IORING_SETUP_DEFER_TASKRUN (none here is) posts such completions
 * without the submitter entering the ring again.
 */
import { libc_open, libc_binder } from './libc.js';

const SYS_setup = 425, SYS_enter = 426, SYS_register = 427;
const OFF_SQ_RING = 0, OFF_SQES = 0x10000000;
const FEAT_SINGLE_MMAP = 1, FEAT_NODROP = 2;
const REGISTER_EVENTFD = 4;

/** Opcodes used by the kernel (enum io_uring_op). */
export const IOP_FSYNC = 3, IOP_ASYNC_CANCEL = 14, IOP_READ = 22, IOP_WRITE = 23, IOP_WAITID = 50;
/** sqe flags byte (shifted left 8 into sqe_put's op): start only after every earlier SQE completed. */
export const IOSQE_IO_DRAIN = 2;
/** cq_flags: the registered eventfd is not signalled while set. */
export const CQ_EVENTFD_DISABLED = 1;

const bind = libc_binder({
  setup: 'long syscall(long, unsigned int, void *)',
  enter: 'long syscall(long, int, unsigned int, unsigned int, unsigned int, void *, long)',
  register: 'long syscall(long, unsigned int, unsigned int, void *, unsigned int)',
  mmap: 'void *mmap(void *, size_t, int, int, int, long)',
  eventfd: 'int eventfd(unsigned int, int)',
  close: 'int close(int)',
  addr: 'uintptr_t memmove(void *, void *, size_t)',
});
/** The host calls a ring needs, with koffi's view and address. */
export type UringHost = NonNullable<ReturnType<typeof bind>> & { view(p: unknown, n: number): ArrayBuffer; address(p: unknown): bigint };
let host: UringHost | null | undefined;
/** This thread's bindings (once per thread), or null where host calls are unavailable. */
export function uring_host(): UringHost | null {
  if (host !== undefined) return host;
  const b = bind(), lib = libc_open();
  host = b === null || lib === null ? null : Object.assign(Object.create(null) as object, b, { view: lib.view, address: lib.address }) as UringHost;
  return host;
}

/** A ring's layout as io_uring_setup gave it: entries, the SQ and CQ ring offsets (7 each), the ring mapping's length. */
export interface UringLayout {
  sqn: number; cqn: number;
  /** head, tail, mask, entries, flags, dropped, array */
  sqoff: number[];
  /** head, tail, mask, entries, overflow, cqes, flags */
  cqoff: number[];
  len: number;
}

/**
 * io_uring_setup with at least `entries` SQ entries (the host rounds up to
 * a power of two and gives the CQ twice as many): the ring descriptor and
 * its layout, or null when the host refuses or lacks the single mapping
 * and no-drop CQ this file relies on (then the descriptor is closed).
 */
export function uring_setup(h: UringHost, entries: number): { fd: number; layout: UringLayout } | null {
  const p = new Uint32Array(30); // struct io_uring_params
  const fd = Number(h.setup(SYS_setup, entries, p));
  if (fd < 0) return null;
  const feat = p[5]!;
  if ((feat & FEAT_SINGLE_MMAP) === 0 || (feat & FEAT_NODROP) === 0) { h.close(fd); return null; }
  const sqoff = Array.from(p.subarray(10, 17)), cqoff = Array.from(p.subarray(20, 27));
  return { fd, layout: { sqn: p[0]!, cqn: p[1]!, sqoff, cqoff, len: Math.max(sqoff[6]! + p[0]! * 4, cqoff[5]! + p[1]! * 16) } };
}

/** A non-blocking, close-on-exec eventfd: its number, or -1. */
export function eventfd_nonblock(h: UringHost): number {
  return h.eventfd(0, 0o2004000 /* EFD_CLOEXEC | EFD_NONBLOCK */) as number;
}

/** Registers eventfd ev with ring fd (IORING_REGISTER_EVENTFD: the host signals it at each posted completion). */
export function uring_register_eventfd(h: UringHost, fd: number, ev: number): boolean {
  return Number(h.register(SYS_register, fd, REGISTER_EVENTFD, new Int32Array([ev]), 1)) >= 0;
}

/** A new non-blocking eventfd registered with ring fd: its number, or -1. */
export function uring_eventfd(h: UringHost, fd: number): number {
  const ev = eventfd_nonblock(h);
  if (ev < 0) return -1;
  if (uring_register_eventfd(h, fd, ev)) return ev;
  h.close(ev);
  return -1;
}

/** This thread's mapping of a ring. */
export interface UringMap {
  fd: number; sqTail: Uint32Array; sqMask: number; sqArray: Uint32Array; sqeWords: Uint32Array;
  cqHead: Uint32Array; cqTail: Uint32Array; cqMask: number; cqes: Int32Array;
  /** cq_flags, or null on a host without it (before Linux 5.8: every completion signals). */
  cqFlags: Uint32Array | null;
}

function map(h: UringHost, fd: number, len: number, off: number): ArrayBuffer | null {
  const p = h.mmap(null, len, 3 /* PROT_READ|WRITE */, 0x8001 /* MAP_SHARED|POPULATE */, fd, off);
  if (p === null || BigInt.asIntN(64, h.address(p)) === -1n) return null;
  // (view refuses only while the process exits: kern/libc.ts host_enter; the mapping goes with the process.)
  try { return h.view(p, len); } catch { return null; }
}

/** Maps ring fd (of the given layout) into this thread, or null. */
export function uring_map(h: UringHost, fd: number, l: UringLayout): UringMap | null {
  const mem = map(h, fd, l.len, OFF_SQ_RING);
  const sqeMem = map(h, fd, l.sqn * 64, OFF_SQES);
  if (mem === null || sqeMem === null) return null;
  const u32 = (off: number, n = 1): Uint32Array => new Uint32Array(mem, off, n);
  return {
    fd, sqTail: u32(l.sqoff[1]!), sqMask: u32(l.sqoff[2]!)[0]!, sqArray: u32(l.sqoff[6]!, l.sqn), sqeWords: new Uint32Array(sqeMem),
    cqHead: u32(l.cqoff[0]!), cqTail: u32(l.cqoff[1]!), cqMask: u32(l.cqoff[2]!)[0]!, cqes: new Int32Array(mem, l.cqoff[5]!, l.cqn * 4),
    cqFlags: l.cqoff[6] !== 0 ? u32(l.cqoff[6]!) : null,
  };
}

/**
 * Writes one SQE at the tail (the caller serializes submitters); the next
 * enter submits it. `op`: the opcode, with IOSQE_* flags shifted left 8.
 * `off` -1 means the file's position; `w11` is the word at byte 44
 * (file_index: IORING_OP_WAITID's options). user_data is hi:lo.
 */
export function sqe_put(m: UringMap, op: number, fd: number, addr: number, len: number, off: number,
  lo: number, hi: number, opflags: number, w11 = 0): void {
  const tail = Atomics.load(m.sqTail, 0);
  const idx = tail & m.sqMask, w = idx * 16, q = m.sqeWords;
  q[w] = op; // opcode, then the flags byte; ioprio 0
  q[w + 1] = fd >>> 0;
  const o = off < 0 ? 2 ** 64 - 1 : off;
  q[w + 2] = o % 0x100000000; q[w + 3] = off < 0 ? 0xffffffff : Math.floor(o / 0x100000000);
  q[w + 4] = addr % 0x100000000; q[w + 5] = Math.floor(addr / 0x100000000);
  q[w + 6] = len >>> 0;
  q[w + 7] = opflags >>> 0;
  q[w + 8] = lo >>> 0; q[w + 9] = hi >>> 0;
  for (let i = 10; i < 16; i++) q[i + w] = 0;
  q[w + 11] = w11 >>> 0;
  m.sqArray[idx] = idx;
  Atomics.store(m.sqTail, 0, (tail + 1) >>> 0);
}

/**
 * Takes back the last `k` SQEs written and not yet submitted (the caller
 * serializes writers and knows they were not submitted: no SQPOLL, and
 * io_uring_enter consumed none of them). Their user_data goes to `out`,
 * oldest first; returns k. The tail moves back over them: the host reads
 * entries only from its head to the tail at an enter, so it never sees them.
 */
export function sqe_withdraw(m: UringMap, k: number, out: { lo: number[]; hi: number[] }): number {
  const tail = Atomics.load(m.sqTail, 0), q = m.sqeWords;
  for (let i = 0; i < k; i++) {
    const w = (((tail - k + i) >>> 0) & m.sqMask) * 16;
    out.lo[i] = q[w + 8]!; out.hi[i] = q[w + 9]!;
  }
  Atomics.store(m.sqTail, 0, (tail - k) >>> 0);
  return k;
}

/** The CQEs cq_take moved out: user_data (lo, hi) and res, per entry. */
export interface Cqes { lo: number[]; hi: number[]; res: number[] }

/** Moves the CQEs posted so far into out (the caller serializes reapers); returns how many. */
export function cq_take(m: UringMap, out: Cqes): number {
  let head = Atomics.load(m.cqHead, 0);
  const tail = Atomics.load(m.cqTail, 0);
  let n = 0;
  while (head !== tail) {
    const b = (head & m.cqMask) * 4;
    out.lo[n] = m.cqes[b]!; out.hi[n] = m.cqes[b + 1]!; out.res[n] = m.cqes[b + 2]!;
    n++;
    head = (head + 1) >>> 0;
  }
  Atomics.store(m.cqHead, 0, head);
  return n;
}

/** io_uring_enter submitting `n` SQEs without waiting: how many the host took, or -1 (h.errno() says why). */
export function uring_enter(h: UringHost, m: UringMap, n: number): number {
  return Number(h.enter(SYS_enter, m.fd, n, 0, 0, null, 0));
}
