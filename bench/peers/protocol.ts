/**
 * What the peer-bench parent (bench/peers.ts) and its workers
 * (bench/peers/worker.ts) say to each other. Every worker posts `ready` once
 * it is listening, waits for `go`, then posts one `result`: the handshake
 * keeps thread start-up (~30 ms) out of every measured interval.
 */
import type { MessagePort } from 'node:worker_threads';

/** Side A measures round trips; side B echoes. */
export type PingPongJob =
  | { kind: 'pm-a'; port: MessagePort; rounds: number; warmup: number; budgetMs: number }
  | { kind: 'pm-b'; port: MessagePort }
  | { kind: 'atomics-a' | 'spin-a'; sab: SharedArrayBuffer; rounds: number; warmup: number; budgetMs: number }
  | { kind: 'atomics-b' | 'spin-b'; sab: SharedArrayBuffer; rounds: number; warmup: number };

export type ThroughputJob =
  | { kind: 'tp-producer'; port: MessagePort; messages: number; warmup: number }
  | { kind: 'tp-consumer'; port: MessagePort; messages: number; warmup: number };

export interface TimerJob { kind: 'atomics-timer'; periodUs: number; fires: number; budgetMs: number }

export type WorkerJob = PingPongJob | ThroughputJob | TimerJob;

export interface ReadyMsg { type: 'ready' }
export interface GoMsg { type: 'go' }

/**
 * The one result a worker posts. `samples` are µs (RTT or lateness), in
 * order; `elapsedNs` is the producer-start-to-last-message time of the
 * throughput job.
 */
export interface ResultMsg {
  type: 'result';
  samples?: Float64Array;
  /** Measured rounds or fires actually completed (a time budget may cut a run short). */
  completed: number;
  overruns?: number;
  elapsedNs?: number;
}

export type FromWorker = ReadyMsg | ResultMsg;

export function isGo(m: unknown): m is GoMsg {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'go';
}

export function isFromWorker(m: unknown): m is FromWorker {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'ready' || t === 'result';
}

/** Written into the shared seq word by side A to tell side B to stop early. */
export const STOP = -1;
