/**
 * What aio-engines.bench.ts and its child processes (aio-engines-child.ts)
 * agree on: the spec of one measurement, its result, and the data file's
 * shape. A module of its own, because importing the child's file would run it.
 */
export interface Spec {
  engine: 'uv' | 'blk' | 'uring' | 'uring-async';
  /** Pool size (uv, set by the parent in UV_THREADPOOL_SIZE) or thread count (blk). */
  n: number;
  workload: 'read' | 'write' | 'pipe';
  qd: number;
  /** read: measured window (ms); write: bytes; pipe: rounds. */
  amount: number;
  /** read: the data file; write: the directory for the new file. */
  path: string;
}

export interface Result {
  ops: number;
  secs: number;
  p50us: number;
  p99us: number;
  /** Process CPU (all threads, user + system) per op; for the pipe, less the writer thread's own. */
  cpuUsPerOp: number;
  error?: string;
}

export const BLOCK = 4096;
/** Blocks in the 64 MiB data file; block i starts with the u32 i (each read is checked). */
export const FILE_BLOCKS = 16384;
