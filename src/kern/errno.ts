/**
 * The kernel's error model, in one place (undici's lib/core/errors.js is the
 * model: one class per condition, stable codes).
 *
 *  - A syscall's domain error is a {@link SysError}, shaped like Node's own
 *    system errors: `code` ('EINVAL'), `errno` (Node's negative number for
 *    that code on this host) and `syscall`. Only syscall entry points throw
 *    it; internal functions return an {@link Errno} (0 or the code) and let
 *    the entry point decide (`fail`).
 *  - An argument of the wrong JS type or range: Node's argument errors,
 *    ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE (kern/copyin.ts ArgTypeError,
 *    ArgRangeError), as C would not compile or would set the errno instead.
 *  - A panic (kern/panic.ts): {@link KernelPanicError}, a SysError with
 *    code EIO, so every call made after a panic fails the way C's would.
 *  - A thread that cannot attach to kernel memory laid out differently:
 *    {@link KernelLayoutError} (code ERR_UKERN_LAYOUT).
 *  - A kernel invariant broken by kernel code (a registration twice, a
 *    table out of range: a bug, never a user's doing):
 *    {@link KernelAssertionError} (code ERR_UKERN_ASSERTION).
 *  - An AbortSignal ending a sleep: {@link AbortError} (code ABORT_ERR).
 */
import { constants } from 'node:os';

// Node's table lacks a few codes the kernel raises (EBADFD: ports' "not a
// port"; EOWNERDEAD / ENOTRECOVERABLE: robust mutexes); they take the host's
// value where known (Linux), else illumos'.
const linux = process.platform === 'linux';
const missing: Readonly<Record<string, number>> = {
  EBADFD: linux ? 77 : 81, EOWNERDEAD: linux ? 130 : 58, ENOTRECOVERABLE: linux ? 131 : 59,
};
const hostErrnos = constants.errno as Readonly<Record<string, number>>;

/** Error codes the kernel raises. */
export type ErrnoCode =
  | 'EPERM' | 'ENOENT' | 'ESRCH' | 'EINTR' | 'EIO' | 'EBADF' | 'EAGAIN' | 'ENOMEM'
  | 'EFAULT' | 'EBUSY' | 'EEXIST' | 'ENODEV' | 'EINVAL' | 'EMFILE' | 'ENOSPC'
  | 'EDEADLK' | 'ENOSYS' | 'ETIME' | 'ETIMEDOUT' | 'EALREADY' | 'EBADFD'
  | 'EOVERFLOW' | 'ENOTSUP' | 'EOPNOTSUPP' | 'EOWNERDEAD' | 'ENOTRECOVERABLE'
  | 'EACCES' | 'ENOTDIR' | 'ELOOP' | 'ENAMETOOLONG' // a path's (PORT_SOURCE_FILE)
  | 'ECANCELED' | 'EINPROGRESS'; // aio: a cancelled request, one not done yet

/**
 * Codes by host number, the first name of each (EAGAIN, not its alias
 * EWOULDBLOCK, as libuv names them): made at the first host number looked
 * up, not at load (~0.2 ms of every thread's kernel load, for a table most
 * threads never read).
 */
let codes: Map<number, string> | undefined;
function codes_make(): Map<number, string> {
  const m = new Map<number, string>();
  const add = (k: string): void => { const n = errno_of(k as ErrnoCode); if (!m.has(n)) m.set(n, k); };
  for (const k of Object.keys(missing)) add(k);
  for (const k of Object.keys(hostErrnos)) add(k);
  return m;
}

/** The code of a host errno number (positive), e.g. a host call's result; EIO for one the host does not name. */
export function errno_code(n: number): ErrnoCode {
  return ((codes ??= codes_make()).get(n) ?? 'EIO') as ErrnoCode;
}

/** Host errno number (positive) for a code, as C code sees it (the host's, else `missing`'s). */
export function errno_of(code: ErrnoCode): number {
  const n = hostErrnos[code] ?? missing[code];
  if (n === undefined) throw new KernelAssertionError(`errno ${code} unknown on this host`);
  return n;
}

function sys_message(code: ErrnoCode, syscall: string, detail: string | undefined): string {
  return `${syscall}: ${code}${detail ? ` (${detail})` : ''}`;
}

/** A system call failed; `code` names the errno as C would set it. */
export class SysError extends Error {
  readonly code: ErrnoCode;
  readonly errno: number;
  readonly syscall: string;
  constructor(code: ErrnoCode, syscall: string, detail?: string) {
    super(sys_message(code, syscall, detail));
    this.name = 'SysError';
    this.code = code;
    this.errno = -errno_of(code);
    this.syscall = syscall;
  }
}

/**
 * What an internal kernel function returns when it can fail: 0 for success,
 * else the errno code the syscall entry point raises (C's convention).
 */
export type Errno = ErrnoCode | 0;

/** The kernel panicked (kern/panic.ts): this call, and every later one, fails with EIO. */
export class KernelPanicError extends SysError {
  /** The first panic's message. */
  readonly panic: string;
  constructor(syscall: string, panic: string, detail: string) {
    super('EIO', syscall, detail);
    this.name = 'KernelPanicError';
    this.panic = panic;
  }
}

/** A thread tried to attach to kernel memory it cannot use (another layout, or no booted kernel). */
export class KernelLayoutError extends Error {
  readonly code = 'ERR_UKERN_LAYOUT';
  constructor(message: string) {
    super(`ukern: ${message}`);
    this.name = 'KernelLayoutError';
  }
}

/** Kernel code broke one of the kernel's own invariants (a bug in ukern, not in its caller). */
export class KernelAssertionError extends Error {
  readonly code = 'ERR_UKERN_ASSERTION';
  constructor(message: string) {
    super(`ukern: assertion failed: ${message}`);
    this.name = 'KernelAssertionError';
  }
}

/** Throws a SysError: a terse form for syscall bodies. */
export function fail(code: ErrnoCode, syscall: string, detail?: string): never {
  throw new SysError(code, syscall, detail);
}

/**
 * A SysError that reports a status rather than a fault, made without a stack
 * trace: a deadline that passed (port_get's ETIME, lwp_park's ETIMEDOUT,
 * sigtimedwait's EAGAIN), an unpark that came first (lwp_park's EALREADY),
 * a sleep a signal interrupted (EINTR: the handlers run before the error
 * reaches the caller, so its construction is on the signal's latency), a
 * port full to its own limit (EAGAIN: the class layer's awaitable send
 * waits on it). Callers meet these in loops, as C code checks errno, so
 * what it costs to make one is on their hot paths: a park that finds its
 * unpark pending is a fifth of all parks in a park/unpark ping-pong.
 *
 * V8's Error constructor costs 2-8 us with a stack (each inlined frame is
 * rebuilt from its deoptimization data) and still 0.6-1.6 us with
 * `Error.stackTraceLimit` at 0: the construction itself is a call into the
 * runtime. So a status is not built by the Error constructor but by a plain
 * function whose prototype is SysError's: ~20 ns here, against ~400 ns more
 * when `message` and `stack` are made non-enumerable as V8 makes them
 * (Object.defineProperty takes the object off V8's fast path). The object
 * is `instanceof SysError` and `instanceof Error`, has the same `code`,
 * `errno`, `syscall`, `name`, `message`, and as `stack` the one line a
 * stackless error has; util.inspect and the test runner print it exactly as
 * a constructed SysError without a stack. What tells them apart:
 * `util.types.isNativeError`, and `message` and `stack` are enumerable own
 * properties (Object.keys, spread and JSON.stringify show them). Faults (a
 * bad descriptor, a limit of the kernel's own) keep their constructed
 * errors and stacks.
 */
export function status_error(code: ErrnoCode, syscall: string, detail?: string): SysError {
  return new StatusError(code, -errno_of(code), syscall, sys_message(code, syscall, detail));
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };
/** A status SysError's maker (see status_error). */
const StatusError = function (this: Writable<SysError>, code: ErrnoCode, errno: number, syscall: string, message: string): void {
  this.stack = `SysError: ${message}`;
  this.message = message;
  this.code = code;
  this.errno = errno;
  this.syscall = syscall;
  this.name = 'SysError';
} as unknown as new (code: ErrnoCode, errno: number, syscall: string, message: string) => SysError;
StatusError.prototype = SysError.prototype;

/** Makes an error (a status: see {@link status_error}) without capturing a stack trace. */
export function without_stack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try { return make(); } finally { Error.stackTraceLimit = limit; }
}

/** Throws {@link status_error}'s error. */
export function fail_status(code: ErrnoCode, syscall: string, detail?: string): never {
  throw status_error(code, syscall, detail);
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

/**
 * An exception thrown by user code the kernel called for the user (a
 * SIGEV_THREAD function, a signal handler): it becomes the thread's
 * uncaught exception once the kernel is done, as a throw in a setTimeout
 * callback does, never an exception inside the kernel call that ran it.
 * The one way the kernel reports them, so that every notification kind
 * fails alike.
 */
export function user_rethrow(e: unknown): void { queueMicrotask(() => { throw e; }); }
