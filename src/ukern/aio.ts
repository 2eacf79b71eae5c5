/**
 * The idiomatic AIO: `aio.read(fd, buf, position)` and its kin return a
 * Promise of what the request did, as `fs.promises` does, over the POSIX
 * calls of `ukern/sys` (aio_read / aio_write / aio_fsync, aio_suspend_async,
 * aio_error, aio_return, aio_cancel, lio_listio_async). What the Promise
 * form adds to them:
 *
 *   - collection: the Promise settles once the request is done, with
 *     aio_return's bytes (or rejects with the request's errno as a
 *     SysError); aio_return is called for you, once;
 *   - `signal`: an abort asks aio_cancel for the request; a request
 *     cancelled before it ran rejects with an AbortError; one already in
 *     progress (AIO_NOTCANCELED) is waited for, and its outcome stands,
 *     as fs.promises' reads do (they cannot be taken back either);
 *   - `port` / `user`: the completion is also queued on that event port as
 *     a PORT_SOURCE_AIO event (SIGEV_PORT: portev_object the aio_id), for
 *     a program that multiplexes completions with other events; the
 *     Promise still collects the result;
 *   - `ref: false`: the pending request does not keep the process alive.
 *
 * Buffers must be views over a SharedArrayBuffer (the I/O is done by the
 * kernel's engine, not in this thread: a request's buffer is shared with it);
 * `aio.buffer(n)` makes one.
 */
import {
  aio_read, aio_write, aio_fsync, aio_error, aio_return, aio_cancel, aio_suspend_async, lio_listio_async,
  SysError, SIGEV_NONE, SIGEV_PORT, AIO_CANCELED, LIO_READ, LIO_WRITE, LIO_WAIT, O_SYNC, O_DSYNC,
  type aiocb, type sigevent,
} from '../sys/index.js';
import { copyin_fields, copyin_array, abort_listen, AbortError, ArgValueError } from '../sys/ext.js';
import { int_arg, num_arg, bool_opt, signal_opt } from './args.js';
import { Refs } from './refs.js';
import type { FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';

/** Options of every request. */
export interface AioOptions {
  /** Aborting cancels the request if it has not started (the Promise then rejects with an AbortError). */
  signal?: AbortSignal;
  /** Also queue the completion on this event port (PORT_SOURCE_AIO), with `user` as portev_user (`user` without `port`: ERR_INVALID_ARG_VALUE). */
  port?: number;
  user?: number;
  /** false: the pending request does not keep the process alive. */
  ref?: boolean;
  /** aio_reqprio (lowers the request's priority). */
  priority?: number;
}

/** One request of {@link aio.batch}. */
export interface AioOp {
  op: 'read' | 'write';
  fd: number | FileHandle;
  buffer: Uint8Array;
  position: number;
  /** Bytes (default: the whole buffer). */
  length?: number;
}

/** aio_error's answer for a request not done yet (the host's errno number). */
const EINPROGRESS = constants.errno.EINPROGRESS;

function fd_of(fd: unknown, where: string): number {
  if (typeof fd === 'object' && fd !== null && 'fd' in fd) return int_arg((fd as { fd: unknown }).fd, 'fd', where, 0, 0x7fffffff);
  return int_arg(fd, 'fd', where, 0, 0x7fffffff);
}

function sigevent_of(o: Record<string, unknown>, where: string): sigevent {
  if (o.port === undefined) {
    // portev_user of a port event: with no port there is no event to carry
    // it (it was dropped without a word, the completion never queued).
    if (o.user !== undefined) throw new ArgValueError(where, 'options.user is given without options.port (it is the port event\'s portev_user)');
    return { sigev_notify: SIGEV_NONE };
  }
  return {
    sigev_notify: SIGEV_PORT,
    sigev_notify_port: {
      portnfy_port: int_arg(o.port, 'options.port', where, 0, Number.MAX_SAFE_INTEGER),
      portnfy_user: o.user === undefined ? 0 : num_arg(o.user, 'options.user', where),
    },
  };
}

/**
 * Asks aio_cancel for each request of `cbs` (an abort): whether any was
 * cancelled before it ran. It runs in an abort listener, where an error
 * has no caller to reach (it was an uncaught exception): a request that
 * cannot be cancelled (its descriptor closed meanwhile: EBADF) runs on, and
 * its outcome stands, as one already in progress.
 */
function cancel_all(cbs: readonly aiocb[]): boolean {
  let cancelled = false;
  for (const cb of cbs) {
    try { if (aio_cancel(cb.aio_fildes, cb) === AIO_CANCELED) cancelled = true; } catch (e) {
      if (!(e instanceof SysError)) throw e;
    }
  }
  return cancelled;
}

/**
 * Waits for the requests `cbs` (submitted) to be done; whether the signal's
 * abort cancelled one. Every request is waited for, whatever interrupts the
 * wait: a caught signal's EINTR (aio_suspend is never restarted) rejected
 * the Promise and left the request uncollected, its outcome (the bytes it
 * read) lost.
 */
async function settle(cbs: readonly aiocb[], signal: AbortSignal | undefined, refs: Refs): Promise<boolean> {
  let cancelled = false;
  const onAbort = (): void => { if (cancel_all(cbs)) cancelled = true; };
  // (A signal aborted while the listener is added runs onAbort at once.)
  const off = signal === undefined ? undefined : abort_listen(signal, onAbort);
  try {
    for (;;) {
      const pending = cbs.filter((cb) => aio_error(cb) === EINPROGRESS);
      if (pending.length === 0) return cancelled;
      try {
        await refs.wait(() => aio_suspend_async(pending, null));
      } catch (e) {
        if (!(e instanceof SysError && e.code === 'EINTR')) throw e;
      }
    }
  } finally {
    off?.();
  }
}

/** Whether lio_listio queued `cb` (it copies out the request's id). */
function queued(cb: aiocb): boolean { return typeof (cb as { aio_id?: unknown }).aio_id === 'number'; }

/**
 * Waits for request cb (submitted), then collects it: its bytes, or
 * aio_return's SysError (an AbortError for one the signal cancelled).
 */
async function collect(cb: aiocb, signal: AbortSignal | undefined, refs: Refs): Promise<number> {
  const cancelled = await settle([cb], signal, refs);
  try {
    return aio_return(cb);
  } catch (e) {
    if (cancelled && e instanceof SysError && e.code === 'ECANCELED') throw new AbortError(signal?.reason);
    throw e;
  }
}

/**
 * Submits a read or write at the call (the body runs synchronously up to
 * collect()'s first wait: requests are queued in call order) and gives a
 * Promise of its outcome. Async, so that every failure, argument errors and
 * the submission's errno included, is a rejection, as fsync and batch give
 * theirs and as every Promise form of the classes does: they were thrown at
 * the call, so `aio.read(fd, buf, 0).catch(f)` never reached f.
 */
async function request(kind: 'read' | 'write', fd: unknown, buffer: unknown, position: unknown, opts: AioOptions | undefined): Promise<number> {
  const where = `aio.${kind}`;
  const o = copyin_fields(opts ?? {}, ['signal', 'port', 'user', 'ref', 'priority'], 'options', where);
  // Every option is checked before the request is submitted: one found
  // wrong after aio_read (a signal that is no AbortSignal threw in
  // collect()) left a request nobody would ever collect.
  const signal = signal_opt(o.signal, 'options.signal', where), ref = bool_opt(o.ref, 'options.ref', where);
  if (signal?.aborted === true) throw new AbortError(signal.reason);
  const n = fd_of(fd, where);
  const cb: aiocb = {
    aio_fildes: n, aio_offset: int_arg(position, 'position', where, 0, Number.MAX_SAFE_INTEGER),
    aio_buf: buffer as Uint8Array, aio_nbytes: (buffer as Uint8Array)?.byteLength ?? 0,
    aio_reqprio: o.priority === undefined ? 0 : int_arg(o.priority, 'options.priority', where, 0, 20),
    aio_sigevent: sigevent_of(o, where),
  };
  (kind === 'read' ? aio_read : aio_write)(cb);
  return collect(cb, signal, new Refs(ref !== false));
}

/**
 * POSIX AIO in the Promise form: `read`, `write`, `fsync` and `batch`
 * resolve with what the request did (aio_return called for you), `buffer`
 * makes a buffer the kernel's I/O engine can fill. Options: {@link AioOptions}.
 */
export const aio = {
  /** Reads buffer.byteLength bytes at `position` into `buffer` (over a SharedArrayBuffer); resolves with the bytes read. */
  read(fd: number | FileHandle, buffer: Uint8Array, position: number, opts?: AioOptions): Promise<number> {
    return request('read', fd, buffer, position, opts);
  },
  /** Writes `buffer` at `position`; resolves with the bytes written. */
  write(fd: number | FileHandle, buffer: Uint8Array, position: number, opts?: AioOptions): Promise<number> {
    return request('write', fd, buffer, position, opts);
  },
  /** fsync (or, with `data: true`, fdatasync) after every write queued before it on fd. */
  async fsync(fd: number | FileHandle, opts?: AioOptions & { data?: boolean }): Promise<void> {
    const o = copyin_fields(opts ?? {}, ['signal', 'port', 'user', 'ref', 'priority', 'data'], 'options', 'aio.fsync');
    const signal = signal_opt(o.signal, 'options.signal', 'aio.fsync'), ref = bool_opt(o.ref, 'options.ref', 'aio.fsync');
    const data = bool_opt(o.data, 'options.data', 'aio.fsync');
    // As read and write: an aborted signal submits nothing (an fsync was
    // queued and waited for, its abort listener never to fire).
    if (signal?.aborted === true) throw new AbortError(signal.reason);
    const n = fd_of(fd, 'aio.fsync');
    // (priority: read and checked as aio.read's; it was left out of the copy-in, so ignored, a bad one too.)
    const cb: aiocb = {
      aio_fildes: n, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(0)), aio_nbytes: 0,
      aio_reqprio: o.priority === undefined ? 0 : int_arg(o.priority, 'options.priority', 'aio.fsync', 0, 20), aio_sigevent: sigevent_of(o, 'aio.fsync'),
    };
    aio_fsync(data === true ? O_DSYNC : O_SYNC, cb);
    await collect(cb, signal, new Refs(ref !== false));
  },
  /**
   * Submits every op at once (lio_listio) and resolves when all are done,
   * with each op's bytes or its error (a SysError), in order. An op the
   * kernel refuses at submission (a descriptor not open: EBADF; a length
   * beyond its buffer, a buffer not over a SharedArrayBuffer: EINVAL) rejects
   * the batch with that error, nothing of it submitted. `signal`: an
   * abort asks aio_cancel for every op; when it cancelled one before it
   * ran, the batch rejects with an AbortError once every op is done (each
   * collected); ops already in progress run to their end, as aio.read's.
   */
  async batch(ops: readonly AioOp[], opts?: Omit<AioOptions, 'port' | 'user' | 'priority'>): Promise<(number | SysError)[]> {
    const list = copyin_array(ops, 'ops', 'aio.batch').map((op, i) => {
      const f = copyin_fields(op, ['op', 'fd', 'buffer', 'position', 'length'], `ops[${i}]`, 'aio.batch');
      const buf = f.buffer as Uint8Array;
      // Anything but 'read' and 'write' was a read ('Write', a typo, read into the buffer meant to be written).
      if (f.op !== 'read' && f.op !== 'write') throw new ArgValueError('aio.batch', `ops[${i}].op must be 'read' or 'write', got ${String(f.op)}`);
      return {
        aio_lio_opcode: f.op === 'write' ? LIO_WRITE : LIO_READ,
        aio_fildes: fd_of(f.fd, 'aio.batch'), aio_offset: int_arg(f.position, `ops[${i}].position`, 'aio.batch', 0, Number.MAX_SAFE_INTEGER),
        aio_buf: buf, aio_nbytes: f.length === undefined ? buf?.byteLength ?? 0 : int_arg(f.length, `ops[${i}].length`, 'aio.batch', 0, 0x7fffffff),
        aio_sigevent: { sigev_notify: SIGEV_NONE },
      } as aiocb;
    });
    const o = copyin_fields(opts ?? {}, ['signal', 'ref'], 'options', 'aio.batch');
    const signal = signal_opt(o.signal, 'options.signal', 'aio.batch'), ref = bool_opt(o.ref, 'options.ref', 'aio.batch');
    // As read and write: an aborted signal submits nothing (the list was
    // submitted, its writes done, and the Promise rejected with no op collected).
    if (signal?.aborted === true) throw new AbortError(signal.reason);
    // lio_listio's LIO_WAIT fails the whole call with EIO when an op failed
    // (every op done then: each says its own below) and with EINTR when a
    // caught signal interrupts it (the ops go on: waited for here); either
    // rejected the batch with no op collected, not one result per op. The
    // signal is ours (an abort cancels the ops, which ends the wait), not
    // the call's, whose AbortError also left the ops uncollected.
    let cancelled = false;
    const onAbort = (): void => { if (cancel_all(list)) cancelled = true; };
    const refs = new Refs(ref !== false);
    const done = refs.wait(() => lio_listio_async(LIO_WAIT, list, null)); // submitted at once (or failed: nothing queued)
    // (A signal aborted while the listener is added runs onAbort at once: the ops are cancelled.)
    const off = signal === undefined ? undefined : abort_listen(signal, onAbort);
    try {
      await done;
    } catch (e) {
      if (!(e instanceof SysError) || (e.code !== 'EIO' && e.code !== 'EINTR') || !list.every(queued)) throw e;
      await settle(list, undefined, refs);
    } finally {
      off?.();
    }
    const out = list.map((cb) => {
      try { return aio_return(cb); } catch (e) {
        if (e instanceof SysError) return e;
        throw e;
      }
    });
    if (cancelled) throw new AbortError(signal?.reason);
    return out;
  },
  /** A buffer the kernel's I/O engine can fill: `n` bytes over a new SharedArrayBuffer. */
  buffer(n: number): Uint8Array { return new Uint8Array(new SharedArrayBuffer(int_arg(n, 'n', 'aio.buffer', 0, 2 ** 31 - 1))); },
};
