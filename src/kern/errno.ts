/**
 * Kernel errors. Every domain error a syscall reports is a {@link SysError}
 * shaped like Node's own system errors: `code` ('EINVAL'), `errno` (Node's
 * negative number for that code on this host) and `syscall`.
 */
import { constants } from 'node:os';

// Node's table lacks a few codes the kernel raises (EBADFD: ports' "not a
// port"; EOWNERDEAD / ENOTRECOVERABLE: robust mutexes); they take the host's
// value where known (Linux), else illumos'.
const linux = process.platform === 'linux';
const missing: Readonly<Record<string, number>> = {
  EBADFD: linux ? 77 : 81, EOWNERDEAD: linux ? 130 : 58, ENOTRECOVERABLE: linux ? 131 : 59,
};
const errnos = { ...missing, ...(constants.errno as Readonly<Record<string, number>>) } as Readonly<Record<string, number>>;

/** Error codes the kernel raises. */
export type ErrnoCode =
  | 'EPERM' | 'ENOENT' | 'ESRCH' | 'EINTR' | 'EIO' | 'EBADF' | 'EAGAIN' | 'ENOMEM'
  | 'EFAULT' | 'EBUSY' | 'EEXIST' | 'ENODEV' | 'EINVAL' | 'EMFILE' | 'ENOSPC'
  | 'EDEADLK' | 'ENOSYS' | 'ETIME' | 'ETIMEDOUT' | 'EALREADY' | 'EBADFD'
  | 'EOVERFLOW' | 'ENOTSUP' | 'EOPNOTSUPP' | 'EOWNERDEAD' | 'ENOTRECOVERABLE';

/** Host errno number (positive) for a code, as C code sees it. */
export function errnoOf(code: ErrnoCode): number {
  const n = errnos[code];
  if (n === undefined) throw new Error(`errno ${code} unknown on this host`);
  return n;
}

/** A system call failed; `code` names the errno as C would set it. */
export class SysError extends Error {
  readonly code: ErrnoCode;
  readonly errno: number;
  readonly syscall: string;
  constructor(code: ErrnoCode, syscall: string, detail?: string) {
    super(`${syscall}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'SysError';
    this.code = code;
    this.errno = -errnoOf(code);
    this.syscall = syscall;
  }
}

/** Throws a SysError: a terse form for syscall bodies. */
export function fail(code: ErrnoCode, syscall: string, detail?: string): never {
  throw new SysError(code, syscall, detail);
}

/**
 * A sleep given an AbortSignal was aborted: Node's shape (name AbortError,
 * code ABORT_ERR, `cause` the signal's reason), as `timers/promises` and
 * `events.on` reject. The sleep machinery raises it (kern/sleeprun.ts), so
 * the sys layer's _async calls and the classes give the same error.
 */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(reason: unknown) {
    super('The operation was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}
