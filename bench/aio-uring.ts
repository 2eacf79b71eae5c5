/**
 * A minimal io_uring for the AIO engine bench, through koffi and libc's
 * syscall(2): io_uring_setup, one mmap of the SQ/CQ rings (the kernel here
 * has IORING_FEAT_SINGLE_MMAP) and one of the SQE array, both mapped into JS
 * with koffi.view (an ArrayBuffer over native memory: no per-entry FFI call),
 * and io_uring_enter to submit and to wait. Buffers live in native memory
 * (koffi.alloc) viewed the same way, since an SQE carries a raw address.
 *
 * It is deliberately tiny: one thread owns the ring (submits and reaps), which
 * is the shape an AIO kernel thread would have; nothing here is shared with
 * other threads. Offsets and opcodes are the kernel's uapi (linux/io_uring.h).
 * When setup fails the error carries the errno, so the bench can say why.
 */
import { createRequire } from 'node:module';

interface Koffi {
  load(name: string): { func(sig: string): (...a: unknown[]) => unknown };
  view(ref: unknown, len: number): ArrayBuffer;
  alloc(type: string, n: number): unknown;
  address(p: unknown): bigint;
  decode(p: unknown, type: string): unknown;
}

const SYS_io_uring_setup = 425;
const SYS_io_uring_enter = 426;
const IORING_OFF_SQ_RING = 0;
const IORING_OFF_SQES = 0x10000000;
const IORING_FEAT_SINGLE_MMAP = 1;
const IORING_ENTER_GETEVENTS = 1;
const PROT_RW = 3;
const MAP_SHARED_POPULATE = 0x8001;
const MAP_FAILED = -1n;

export const OP_FSYNC = 3;
export const OP_READ = 22;
export const OP_WRITE = 23;
/** SQE flag: never try inline, always punt to an io-wq worker (what a cold-cache read costs). */
export const IOSQE_ASYNC = 1 << 4;

const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 12: 'ENOMEM', 14: 'EFAULT', 22: 'EINVAL', 38: 'ENOSYS' };

interface Libc {
  setup: (entries: number, params: Uint32Array) => number;
  enter: (fd: number, toSubmit: number, minComplete: number, flags: number) => number;
  mmap: (len: number, fd: number, off: number) => unknown;
  errno: () => number;
  koffi: Koffi;
}

function loadLibc(): Libc {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  const setup = lib.func('long syscall(long, unsigned int, void *)');
  // A second declaration of the same variadic symbol with the enter arity.
  const enter = lib.func('long syscall(long, int, unsigned int, unsigned int, unsigned int, void *, long)');
  const mmap = lib.func('void *mmap(void *, size_t, int, int, int, long)');
  const errloc = lib.func('int *__errno_location(void)');
  return {
    setup: (n, p) => Number(setup(SYS_io_uring_setup, n, p)),
    enter: (fd, s, m, f) => Number(enter(SYS_io_uring_enter, fd, s, m, f, null, 0)),
    mmap: (len, fd, off) => mmap(null, len, PROT_RW, MAP_SHARED_POPULATE, fd, off),
    errno: () => koffi.decode(errloc(), 'int') as number,
    koffi,
  };
}

/** Thrown when the ring cannot be set up; `errno` is the host's. */
export class UringError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call} failed: errno ${errno} (${ERRNO_NAMES[errno] ?? '?'})`);
  }
}

/** One completion: the submitter's tag and the result (bytes, or -errno). */
export type OnCqe = (tag: number, res: number) => void;

export class Uring {
  private readonly c: Libc;
  private readonly fd: number;
  private readonly sqTail: Uint32Array;
  private readonly sqMask: number; private readonly sqArray: Uint32Array;
  private readonly cqHead: Uint32Array; private readonly cqTail: Uint32Array;
  private readonly cqMask: number; private readonly cqes: DataView;
  private readonly sqes: DataView;
  private tail = 0;
  private pending = 0;
  /** Total SQEs the kernel has accepted; completions reaped. */
  inflight = 0;

  constructor(entries: number) {
    this.c = loadLibc();
    const p = new Uint32Array(30); // struct io_uring_params, 120 bytes
    const fd = this.c.setup(entries, p);
    if (fd < 0) throw new UringError('io_uring_setup', this.c.errno());
    this.fd = fd;
    if ((p[5]! & IORING_FEAT_SINGLE_MMAP) === 0) throw new Error('io_uring: no IORING_FEAT_SINGLE_MMAP (kernel < 5.4)');
    const sqEntries = p[0]!, cqEntries = p[1]!;
    const sq = p.subarray(10, 20), cq = p.subarray(20, 30);
    const ringLen = Math.max(sq[6]! + sqEntries * 4, cq[5]! + cqEntries * 16);
    const ring = this.map(ringLen, IORING_OFF_SQ_RING);
    const sqeMem = this.map(sqEntries * 64, IORING_OFF_SQES);
    const u32 = (off: number, n = 1): Uint32Array => new Uint32Array(ring, off, n);
    this.sqTail = u32(sq[1]!); // the SQ head (sq[0]) is the kernel's; we never outrun it: at most `entries` in flight
    this.sqMask = u32(sq[2]!)[0]!; this.sqArray = u32(sq[6]!, sqEntries);
    this.cqHead = u32(cq[0]!); this.cqTail = u32(cq[1]!);
    this.cqMask = u32(cq[2]!)[0]!; this.cqes = new DataView(ring, cq[5]!, cqEntries * 16);
    this.sqes = new DataView(sqeMem);
    this.tail = Atomics.load(this.sqTail, 0);
  }

  private map(len: number, off: number): ArrayBuffer {
    const ptr = this.c.mmap(len, this.fd, off);
    if (ptr === null || BigInt.asIntN(64, this.c.koffi.address(ptr)) === MAP_FAILED) throw new UringError('mmap', this.c.errno());
    return this.c.koffi.view(ptr, len);
  }

  /** Native memory of `len` bytes for I/O buffers: its JS view and its address. */
  buffer(len: number): { bytes: Uint8Array; addr: bigint } {
    const mem = this.c.koffi.alloc('uint8_t', len);
    return { bytes: new Uint8Array(this.c.koffi.view(mem, len)), addr: this.c.koffi.address(mem) };
  }

  /** Queues one SQE (published to the kernel by the next enter). */
  prep(op: number, fd: number, addr: bigint, len: number, off: number, tag: number, sqeFlags = 0): void {
    const idx = this.tail & this.sqMask;
    const b = idx * 64, v = this.sqes;
    for (let i = 0; i < 64; i += 8) v.setBigUint64(b + i, 0n, true);
    v.setUint8(b, op);
    v.setUint8(b + 1, sqeFlags);
    v.setInt32(b + 4, fd, true);
    v.setBigUint64(b + 8, BigInt.asUintN(64, BigInt(off)), true); // -1: the file position (pipes)
    v.setBigUint64(b + 16, addr, true);
    v.setUint32(b + 24, len, true);
    v.setUint32(b + 32, tag, true);
    this.sqArray[idx] = idx;
    this.tail = (this.tail + 1) >>> 0;
    Atomics.store(this.sqTail, 0, this.tail);
    this.pending++;
  }

  /**
   * Submits what is queued and blocks until at least `minComplete`
   * completions are ready (io_uring_enter with GETEVENTS), then reaps all
   * ready CQEs through `on`. Returns how many were reaped.
   */
  submitAndWait(minComplete: number, on: OnCqe): number {
    for (;;) {
      const r = this.c.enter(this.fd, this.pending, minComplete, IORING_ENTER_GETEVENTS);
      if (r >= 0) { this.pending -= r; this.inflight += r; break; }
      const e = this.c.errno();
      if (e !== 4 && e !== 11 && e !== 16) throw new UringError('io_uring_enter', e); // EINTR/EAGAIN/EBUSY: retry
    }
    return this.reap(on);
  }

  /** Reaps the CQEs already posted, without a syscall. */
  reap(on: OnCqe): number {
    let head = Atomics.load(this.cqHead, 0);
    const tail = Atomics.load(this.cqTail, 0);
    let n = 0;
    while (head !== tail) {
      const b = (head & this.cqMask) * 16;
      const tag = this.cqes.getUint32(b, true), res = this.cqes.getInt32(b + 8, true);
      head = (head + 1) >>> 0;
      n++;
      on(tag, res);
    }
    Atomics.store(this.cqHead, 0, head);
    this.inflight -= n;
    return n;
  }
}
