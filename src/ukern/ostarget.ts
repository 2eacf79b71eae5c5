/**
 * What Node users hold, turned into what the kernel's OS event sources take:
 * a descriptor number or a pid. The kqueue's `watch` and the port's
 * `associate` accept
 *
 *   - a number: an OS descriptor (or, for 'proc', a pid), as the sys calls;
 *   - a `net.Socket`, `net.Server`, `dgram.Socket`, a TTY stream: the
 *     descriptor of its libuv handle (`_handle.fd`: Node's own field, the
 *     one `process.binding`-free way to it). A socket that has no
 *     descriptor yet (connecting) is refused: watch it after 'connect';
 *   - an `fs.promises.FileHandle` (its `fd`);
 *   - a `ChildProcess` (its `pid`), for 'proc'; ESRCH once it has exited
 *     (Node reaped it: its pid may name another process by now);
 *   - a path (a string or URL), for 'vnode' only: the class opens it
 *     read-only, without blocking (a FIFO's open does not wait for a
 *     writer), and owns that descriptor (it closes it when the watch ends).
 *
 * Node keeps reading a socket it owns: libuv reads what arrives into the
 * stream's buffer (up to its highWaterMark, also while the stream is
 * paused: `socket.pause()` only stops 'data' events), so the kernel's
 * EVFILT_READ sees the socket drained. To read a socket's bytes from an
 * LWP instead, never let Node read it: accept it with
 * `net.createServer({ pauseOnConnect: true })` (Node's own documented way:
 * "no data will be read from its handle"), or, for a client socket, call
 * `socket.pause()` before its 'connect' (Node starts reading a connected
 * socket only when it is not paused), and read its descriptor (the ident
 * `watch` returns) in the LWP; add no 'data' or 'readable' listener, which
 * would start Node's reads, and destroy the socket when done. Node's
 * writes and the kernel's EVFILT_WRITE do not interfere, and EVFILT_WRITE
 * works on any socket.
 */
import { openSync, constants as F } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Socket, Server } from 'node:net';
import { Socket as DgramSocketClass, type Socket as DgramSocket } from 'node:dgram';
import type { FileHandle } from 'node:fs/promises';
import { ChildProcess } from 'node:child_process';
import { arg_type, ArgValueError, SysError, copyin_fault } from '../sys/ext.js';

/** What can be watched: an OS descriptor or pid, or an object of Node's that has one, or a path ('vnode'). */
export type OsTarget = number | Socket | Server | DgramSocket | FileHandle | ChildProcess | string | URL;

/** An OS target resolved: the ident, and a descriptor the class opened for it (-1: none). */
export interface ResolvedTarget { readonly ident: number; readonly opened: number }

function int_of(v: unknown, what: string, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new ArgValueError(where, `${what} has no ${what === 'ChildProcess' ? 'pid' : 'descriptor'} (got ${String(v)})`);
  }
  return v;
}

/**
 * A dgram.Socket's libuv handle, without its `_handle` getter: that one is
 * deprecated (DEP0112) and printed a DeprecationWarning at the first watch.
 * The handle is in the socket's state object, under a symbol of Node's own
 * ('state symbol', lib/internal/dgram.js); `_handle` is the fallback.
 */
function dgram_handle(t: DgramSocket): unknown {
  const k = Object.getOwnPropertySymbols(t).find((s) => s.description === 'state symbol');
  const state = k === undefined ? undefined : (t as unknown as Record<symbol, unknown>)[k];
  if (typeof state === 'object' && state !== null && 'handle' in state) return (state as { handle?: unknown }).handle;
  return (t as unknown as { _handle?: unknown })._handle;
}

/** The descriptor of a socket-like object's libuv handle, or undefined when it is not one. */
function handle_fd(t: object): unknown {
  if (t instanceof DgramSocketClass) return fd_of_handle(dgram_handle(t));
  if (!('_handle' in t)) return undefined;
  return fd_of_handle((t as { _handle?: unknown })._handle);
}

/** A libuv handle's descriptor; -1 when there is no handle (closed) or it has none. */
function fd_of_handle(h: unknown): unknown {
  if (h === null || h === undefined) return -1;
  return typeof h === 'object' && 'fd' in h ? (h as { fd?: unknown }).fd : -1;
}

/**
 * Resolves `target` for `kind` ('proc' takes pids; 'vnode' also paths,
 * opened here). Argument errors (ERR_INVALID_ARG_TYPE / _VALUE) for what
 * it cannot use; the kernel says EBADF / ESRCH for numbers. `ending`: for
 * ending a watch (unwatch), which takes an exited ChildProcess's pid.
 */
export function resolve_target(target: unknown, kind: string, where: string, ending = false): ResolvedTarget {
  // A revoked Proxy throws at the first look (instanceof, in): an argument error, not V8's codeless TypeError.
  try { return resolve(target, kind, where, ending); } catch (e) { return copyin_fault(e, target, 'target', where, true); }
}

function resolve(target: unknown, kind: string, where: string, ending: boolean): ResolvedTarget {
  if (typeof target === 'number') return { ident: int_of(target, 'the target', where), opened: -1 };
  if (typeof target === 'string' || target instanceof URL) {
    if (kind !== 'vnode') arg_type(where, `a path can only be watched for 'vnode', not '${kind}'`);
    const path = typeof target === 'string' ? target : fileURLToPath(target);
    // O_NONBLOCK: read-only open of a FIFO waits for a writer, for ever if
    // none comes; the watch needs only the inode. O_NOCTTY: a terminal
    // named by path never becomes the process's controlling terminal.
    const fd = openSync(path, F.O_RDONLY | F.O_NONBLOCK | F.O_NOCTTY);
    return { ident: fd, opened: fd };
  }
  if (typeof target !== 'object' || target === null) arg_type(where, `target must be a number, a path or an object of Node's with a descriptor or pid, got ${target === null ? 'null' : typeof target}`);
  if (kind === 'proc') {
    if (!('pid' in target)) arg_type(where, 'a \'proc\' target must be a pid or a ChildProcess');
    const pid = int_of((target as { pid?: unknown }).pid, 'ChildProcess', where);
    // Node has reaped it ('exit' was emitted): its pid is free, and may
    // name another process by now, which the watch would then report on.
    // (Ending a watch made while it ran still names it by that pid.)
    if (!ending && target instanceof ChildProcess && (target.exitCode !== null || target.signalCode !== null)) {
      throw new SysError('ESRCH', 'kevent', `${where}: ChildProcess ${pid} has exited; its pid may name another process now`);
    }
    return { ident: pid, opened: -1 };
  }
  // Its _handle is the process's, which has no descriptor: that was
  // "the socket has no descriptor (got -1)", for an object that is no socket.
  if (target instanceof ChildProcess) arg_type(where, `a ChildProcess is watched for 'proc' (its pid), not '${kind}': its stdin, stdout and stderr are the sockets`);
  const hfd = handle_fd(target);
  if (hfd !== undefined) return { ident: int_of(hfd, 'the socket', where), opened: -1 };
  if ('fd' in target) return { ident: int_of((target as { fd?: unknown }).fd, 'the FileHandle', where), opened: -1 };
  arg_type(where, 'target must be a number, a socket, a FileHandle, a ChildProcess or a path');
}
