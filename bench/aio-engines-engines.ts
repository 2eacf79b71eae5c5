/**
 * The three AIO engine candidates behind one small interface, for
 * aio-engines-child.ts: (a) libuv's thread pool (fs.read/fs.write callbacks),
 * (b) N dedicated worker threads blocking in fs.readSync/fs.writeSync, fed
 * through a SharedArrayBuffer ring with Atomics.wait/notify, (c) io_uring
 * through koffi (aio-uring.ts). Each owns `slots` I/O buffers of SLOT_BYTES;
 * the tag of an operation is its slot. `run` drives completions until the
 * driver's `done()` says so: (a) through the event loop, (b) and (c) by
 * blocking the calling thread (an AIO kernel thread may block; it is not the
 * intr thread), so the figures compare what each costs that thread.
 */
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Uring, OP_READ, OP_WRITE, OP_FSYNC, IOSQE_ASYNC } from './aio-uring.js';

export const SLOT_BYTES = 64 * 1024;
export const K_READ = 0, K_WRITE = 1, K_FSYNC = 2;
/** A position of -1 means "the file's own position" (pipes). */
export type OnDone = (slot: number, res: number) => void;

export interface Engine {
  readonly label: string;
  view(slot: number): Uint8Array;
  submit(kind: number, fd: number, slot: number, len: number, pos: number): void;
  run(on: OnDone, done: () => boolean): Promise<void>;
  close(): Promise<void>;
}

const errOf = (e: unknown): number => {
  const n = (e as { errno?: unknown }).errno;
  return typeof n === 'number' ? (n < 0 ? n : -n) : -5;
};

// ---- (a) libuv's pool -------------------------------------------------------

class UvEngine implements Engine {
  private readonly bufs: Buffer[] = [];
  private on: OnDone = () => {};
  private done: () => boolean = () => true;
  private finish: (() => void) | null = null;
  constructor(readonly label: string, slots: number) {
    for (let i = 0; i < slots; i++) this.bufs.push(Buffer.alloc(SLOT_BYTES));
  }
  view(slot: number): Uint8Array { return this.bufs[slot]!; }
  private complete(slot: number, res: number): void {
    this.on(slot, res);
    if (this.finish !== null && this.done()) { const f = this.finish; this.finish = null; f(); }
  }
  submit(kind: number, fd: number, slot: number, len: number, pos: number): void {
    const p = pos < 0 ? null : pos;
    if (kind === K_READ) fs.read(fd, this.bufs[slot]!, 0, len, p, (e, n) => this.complete(slot, e ? errOf(e) : n));
    else if (kind === K_WRITE) fs.write(fd, this.bufs[slot]!, 0, len, p, (e, n) => this.complete(slot, e ? errOf(e) : n));
    else fs.fsync(fd, (e) => this.complete(slot, e ? errOf(e) : 0));
  }
  run(on: OnDone, done: () => boolean): Promise<void> {
    this.on = on; this.done = done;
    if (done()) return Promise.resolve();
    return new Promise((res) => { this.finish = res; });
  }
  async close(): Promise<void> {}
}

// ---- (b) dedicated blocking threads ------------------------------------------

const RING = 256, MASK = RING - 1;
const SQ_HEAD = 0, SQ_TAIL = 1, CQ_TAIL = 2, READY = 3;
/** Shared state of the blocking engine, handed to each I/O worker. */
export interface BlkShared { ctl: SharedArrayBuffer; sq: SharedArrayBuffer; cq: SharedArrayBuffer; ops: SharedArrayBuffer; pos: SharedArrayBuffer; bufs: SharedArrayBuffer }

class BlkEngine implements Engine {
  private readonly sh: BlkShared;
  private readonly ctl: Int32Array; private readonly sq: Int32Array; private readonly cq: Int32Array;
  private readonly ops: Int32Array; private readonly pos: Float64Array;
  private readonly views: Uint8Array[] = [];
  private readonly workers: Worker[] = [];
  private tail = 0; private head = 0;
  constructor(readonly label: string, slots: number) {
    const sab = (n: number): SharedArrayBuffer => new SharedArrayBuffer(n);
    this.sh = { ctl: sab(16), sq: sab(RING * 4), cq: sab(RING * 4), ops: sab(slots * 16), pos: sab(slots * 8), bufs: sab(slots * SLOT_BYTES) };
    this.ctl = new Int32Array(this.sh.ctl); this.sq = new Int32Array(this.sh.sq); this.cq = new Int32Array(this.sh.cq).fill(-1);
    this.ops = new Int32Array(this.sh.ops); this.pos = new Float64Array(this.sh.pos);
    for (let i = 0; i < slots; i++) this.views.push(new Uint8Array(this.sh.bufs, i * SLOT_BYTES, SLOT_BYTES));
  }
  async start(n: number, module: URL): Promise<void> {
    for (let i = 0; i < n; i++) this.workers.push(new Worker(module, { workerData: { role: 'io', shared: this.sh } }));
    const deadline = Date.now() + 10_000;
    while (Atomics.load(this.ctl, READY) < n) {
      if (Date.now() > deadline) throw new Error('blocking engine: I/O workers did not start within 10 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  view(slot: number): Uint8Array { return this.views[slot]!; }
  submit(kind: number, fd: number, slot: number, len: number, pos: number): void {
    const o = slot * 4;
    this.ops[o] = kind; this.ops[o + 1] = fd; this.ops[o + 2] = len; this.pos[slot] = pos;
    Atomics.store(this.sq, this.tail & MASK, slot);
    this.tail = (this.tail + 1) | 0;
    Atomics.store(this.ctl, SQ_TAIL, this.tail);
    Atomics.notify(this.ctl, SQ_TAIL, 1);
  }
  async run(on: OnDone, done: () => boolean): Promise<void> {
    while (!done()) {
      const i = this.head & MASK;
      const s = Atomics.load(this.cq, i);
      if (s < 0) { Atomics.wait(this.cq, i, -1, 10_000); continue; }
      Atomics.store(this.cq, i, -1);
      this.head = (this.head + 1) | 0;
      on(s, Atomics.load(this.ops, s * 4 + 3));
    }
  }
  async close(): Promise<void> { await Promise.all(this.workers.map((w) => w.terminate())); }
}

/** The body of one blocking I/O worker (role 'io'): take, do, complete, forever. */
export function blk_worker(sh: BlkShared): never {
  const ctl = new Int32Array(sh.ctl), sq = new Int32Array(sh.sq), cq = new Int32Array(sh.cq);
  const ops = new Int32Array(sh.ops), pos = new Float64Array(sh.pos);
  Atomics.add(ctl, READY, 1);
  for (;;) {
    const h = Atomics.load(ctl, SQ_HEAD), t = Atomics.load(ctl, SQ_TAIL);
    if (h === t) { Atomics.wait(ctl, SQ_TAIL, t); continue; }
    const slot = Atomics.load(sq, h & MASK);
    if (Atomics.compareExchange(ctl, SQ_HEAD, h, (h + 1) | 0) !== h) continue;
    const o = slot * 4, p = pos[slot]!;
    const buf = new Uint8Array(sh.bufs, slot * SLOT_BYTES, SLOT_BYTES);
    let res: number;
    try {
      const kind = ops[o]!, fd = ops[o + 1]!, len = ops[o + 2]!;
      if (kind === K_READ) res = fs.readSync(fd, buf, 0, len, p < 0 ? null : p);
      else if (kind === K_WRITE) res = fs.writeSync(fd, buf, 0, len, p < 0 ? null : p);
      else { fs.fsyncSync(fd); res = 0; }
    } catch (e) { res = errOf(e); }
    Atomics.store(ops, o + 3, res);
    const i = Atomics.add(ctl, CQ_TAIL, 1) & MASK;
    Atomics.store(cq, i, slot);
    Atomics.notify(cq, i, 1);
  }
}

// ---- (c) io_uring -------------------------------------------------------------

class UringEngine implements Engine {
  private readonly ring: Uring;
  private readonly bufs: { bytes: Uint8Array; addr: bigint }[] = [];
  private readonly ops = [OP_READ, OP_WRITE, OP_FSYNC];
  constructor(readonly label: string, slots: number, private readonly sqeFlags: number) {
    this.ring = new Uring(Math.max(8, slots * 2));
    const mem = this.ring.buffer(slots * SLOT_BYTES);
    for (let i = 0; i < slots; i++) {
      this.bufs.push({ bytes: mem.bytes.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES), addr: mem.addr + BigInt(i * SLOT_BYTES) });
    }
  }
  view(slot: number): Uint8Array { return this.bufs[slot]!.bytes; }
  submit(kind: number, fd: number, slot: number, len: number, pos: number): void {
    const b = this.bufs[slot]!;
    this.ring.prep(this.ops[kind]!, fd, kind === K_FSYNC ? 0n : b.addr, kind === K_FSYNC ? 0 : len, pos, slot, this.sqeFlags);
  }
  async run(on: OnDone, done: () => boolean): Promise<void> {
    while (!done()) this.ring.submitAndWait(1, on);
  }
  async close(): Promise<void> {}
}

/** Makes the engine named by `kind` ('uv', 'blk', 'uring', 'uring-async') with `n` threads where that applies. */
export async function make_engine(kind: string, n: number, slots: number, self: URL): Promise<Engine> {
  if (kind === 'uv') return new UvEngine(`libuv pool x${n}`, slots);
  if (kind === 'blk') {
    const e = new BlkEngine(`blocking threads x${n}`, slots);
    await e.start(n, self);
    return e;
  }
  if (kind === 'uring') return new UringEngine('io_uring (koffi)', slots, 0);
  if (kind === 'uring-async') return new UringEngine('io_uring (koffi), IOSQE_ASYNC', slots, IOSQE_ASYNC);
  throw new Error(`unknown engine ${kind}`);
}
