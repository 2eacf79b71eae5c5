/**
 * Copy-in: the one door through which user arguments enter the kernel.
 *
 * THEORY
 *
 * A C kernel never works on user memory in place: `copyin` copies each
 * argument into kernel space once, and everything after that (validation,
 * locking, the work) sees only the copy. In JS the danger is not a page
 * fault but user code: reading `ts.tv_sec` may run a getter, a Proxy trap or
 * a `valueOf`, which may call the kernel again (and deadlock on a lock the
 * caller holds), throw (with a lock held), or answer differently the second
 * time (a timeout valid when checked, NaN when used).
 *
 * The rules, for every syscall:
 *
 *  1. Every property of a user object is read exactly once, here, before
 *     the syscall takes any kernel lock. A syscall body never reads a
 *     property of a user object itself: it calls a `copyin_*` helper, which
 *     returns kernel-owned plain values (numbers, fresh plain objects and
 *     arrays nobody else holds).
 *  2. Validation runs on the copies. A wrong JS type is a TypeError with a
 *     Node-style `code` (ERR_INVALID_ARG_TYPE); a number C's type could not
 *     hold, or the call rejects, is the call's errno (SysError).
 *  3. Every helper checks that the calling thread holds no kernel mutex (one
 *     load of its l_nlocks word). A copy-in under a lock is a kernel bug, and
 *     it panics loudly at the first test that reaches it rather than wedging
 *     the kernel the first time a user passes a getter.
 *
 * Primitives passed directly (a number argument) are already copies: JS
 * passes them by value and `typeof` runs no user code. So the integer checks
 * below are pure functions of their argument; the object helpers are where
 * the reads happen.
 */
import { types } from 'node:util';
import { I32 } from './kmem.js';
import { cur } from './hdr.js';
import { fail, KernelAssertionError, type ErrnoCode } from './errno.js';
import { kpanic } from './panic.js';

/* ------------------------------------------------------------------ errors */

/** A Node-style argument type error: `code` is ERR_INVALID_ARG_TYPE, as Node's own. */
export class ArgTypeError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_TYPE';
  constructor(syscall: string, what: string) {
    super(`${syscall}: ${what}`);
    this.name = 'TypeError';
  }
}

/** A Node-style range error (code ERR_OUT_OF_RANGE): the argument has the right type, but its value is outside what the call takes. */
export class ArgRangeError extends RangeError {
  readonly code = 'ERR_OUT_OF_RANGE';
  constructor(where: string, what: string) {
    super(`${where}: ${what}`);
    this.name = 'RangeError';
  }
}

/** A Node-style value error (code ERR_INVALID_ARG_VALUE): the argument has an accepted type but cannot be used (a socket without a descriptor yet). */
export class ArgValueError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_VALUE';
  constructor(where: string, what: string) {
    super(`${where}: ${what}`);
    this.name = 'TypeError';
  }
}

/** Throws {@link ArgTypeError}. */
export function arg_type(syscall: string, what: string): never {
  throw new ArgTypeError(syscall, what);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  let arr: boolean;
  try { arr = Array.isArray(v); } catch { return 'a revoked Proxy'; } // (only a revoked Proxy throws there)
  if (arr) return 'an array';
  return `type ${typeof v}`;
}

/**
 * Panics when the calling thread holds a kernel lock: copying in user data
 * there could run user code under the lock. Cheap: one load.
 */
export function copyin_check(syscall: string): void {
  if ((I32[cur.nlocksw]! | 0) !== 0) copyin_panic(syscall);
}

function copyin_panic(syscall: string): never {
  kpanic(`${syscall} copied in a user argument with ${I32[cur.nlocksw]} kernel lock(s) held`, syscall);
}

/* ------------------------------------------------------- unreadable objects */

/**
 * Whether `v` is a Proxy that was revoked, or one over a revoked Proxy:
 * every read of it throws (V8's codeless TypeError "Cannot perform 'get' on
 * a proxy that has been revoked"). Runs no user code: Array.isArray looks
 * through a live Proxy to its target without a trap, and throws at a
 * revoked one.
 */
export function copyin_revoked(v: unknown): boolean {
  if (!types.isProxy(v)) return false;
  try { Array.isArray(v); return false; } catch { return true; }
}

/**
 * The one judge of a read of a user object that threw (each copy-in helper
 * that reads one catches there and calls this): an object that cannot be
 * read at all, a revoked Proxy, is C's EFAULT (memory copyin cannot read) in
 * the sys layer, and ERR_INVALID_ARG_VALUE in the class layer (`cls`);
 * anything else is the user's own exception (a getter's, a trap's), passed
 * through unchanged. Not on any fast path: reached only from a catch.
 */
export function copyin_fault(e: unknown, v: unknown, what: string, syscall: string, cls = false): never {
  if (e instanceof TypeError && (e as { code?: unknown }).code === undefined && copyin_revoked(v)) {
    if (cls) throw new ArgValueError(syscall, `${what} is a revoked Proxy (it cannot be read)`);
    fail('EFAULT', syscall, `${what} is a revoked Proxy (it cannot be read)`);
  }
  throw e;
}

/**
 * `v instanceof C` for a user value, read as copy-in reads (a Proxy's
 * getPrototypeOf trap runs here, no lock held; a revoked Proxy is
 * {@link copyin_fault}'s).
 */
export function copyin_instanceof<T>(v: unknown, C: abstract new (...a: never[]) => T, what: string, syscall: string, cls = false): v is T {
  if (v === null || typeof v !== 'object') return false;
  try { return v instanceof C; } catch (e) { return copyin_fault(e, v, what, syscall, cls); }
}

/* ---------------------------------------------------------------- integers */

/**
 * An integer id/flag/count argument of a C `int` or `unsigned int`: a wrong
 * JS type is a TypeError; NaN, a fraction or a value outside
 * [-2^31, 2^32) is `code` (EINVAL unless the call says otherwise).
 */
export function copyin_int(v: unknown, name: string, syscall: string, code: ErrnoCode = 'EINVAL'): number {
  if (typeof v !== 'number') arg_type(syscall, `${name} must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) fail(code, syscall, `${name} ${v}`);
  return v;
}

/** A C `int`: [-2^31, 2^31). */
export function copyin_i32(v: unknown, name: string, syscall: string, code: ErrnoCode = 'EINVAL'): number {
  if (typeof v !== 'number') arg_type(syscall, `${name} must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) fail(code, syscall, `${name} ${v}`);
  return v;
}

/** A user data word (portev_user, udata, private): every JS number is valid, kept bit-exact. */
export function copyin_user(v: unknown, name: string, syscall: string): number {
  if (typeof v !== 'number') arg_type(syscall, `${name} must be a number, got ${describe(v)}`);
  return v;
}

/* ------------------------------------------------------------------ objects */

/**
 * Reads the named properties of a user object once each, into a fresh
 * record (the kernel's copy). TypeError when `v` is not an object. Getters
 * and Proxy traps run here, with no lock held. For a struct copied on a hot
 * path, make a copier once with {@link copyin_struct} instead.
 */
export function copyin_fields<K extends string>(v: unknown, keys: readonly K[], what: string, syscall: string): Record<K, unknown> {
  return fields_in(v, keys, what, syscall, false);
}

/** {@link copyin_fields} for the class layer: an object that cannot be read is ERR_INVALID_ARG_VALUE, not EFAULT. */
export function arg_fields<K extends string>(v: unknown, keys: readonly K[], what: string, where: string): Record<K, unknown> {
  return fields_in(v, keys, what, where, true);
}

function fields_in<K extends string>(v: unknown, keys: readonly K[], what: string, syscall: string, cls: boolean): Record<K, unknown> {
  copyin_check(syscall);
  if (v === null || typeof v !== 'object') arg_type(syscall, `${what} must be an object, got ${describe(v)}`);
  const src = v as Record<string, unknown>;
  const out = {} as Record<K, unknown>;
  try {
    for (let i = 0; i < keys.length; i++) { const k = keys[i]!; out[k] = src[k]; }
  } catch (e) { copyin_fault(e, v, what, syscall, cls); }
  return out;
}

/** A copier made by {@link copyin_struct}. */
export type StructCopier<K extends string> = (v: unknown, syscall: string) => Readonly<Record<K, unknown>>;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Makes the copier of a C struct: a function that reads exactly the named
 * properties of a user object once each, in order, into a fresh plain object
 * of one fixed shape (TypeError when the argument is not an object). It is
 * compiled from the key list, which is the kernel's own constant, never user
 * input: named property loads are what V8 optimises (~15 ns for a kevent_t
 * against ~300 ns for a loop of keyed loads into a dictionary).
 */
export function copyin_struct<K extends string>(what: string, keys: readonly K[]): StructCopier<K> {
  // Compiled at the first copy, not at the module's load: the copiers are
  // made at the kernel script's top level, and code made by new Function
  // is in no code cache, so every thread compiled all of them (~0.5 ms of
  // each fresh thread's load) for the few calls it makes.
  let read: ((v: object) => Record<K, unknown>) | undefined;
  const compile = (): (v: object) => Record<K, unknown> => {
    for (const k of keys) if (!IDENT.test(k)) throw new KernelAssertionError(`copyin_struct: bad field name ${k}`);
    return new Function('v', `return { ${keys.map((k) => `${k}: v.${k}`).join(', ')} };`) as (v: object) => Record<K, unknown>;
  };
  return (v: unknown, syscall: string) => {
    copyin_check(syscall);
    if (v === null || typeof v !== 'object') arg_type(syscall, `${what} must be an object, got ${describe(v)}`);
    try { return (read ??= compile())(v); } catch (e) { return copyin_fault(e, v, what, syscall); }
  };
}

/**
 * Copies a user array: its length read once, each element once, into a
 * fresh array. TypeError when `v` is not an array, or at its first hole (a
 * sparse array). `max` bounds the length (EINVAL beyond, before any element
 * is read).
 */
export function copyin_array(v: unknown, what: string, syscall: string, max = 0x7fffffff): unknown[] {
  return array_in(v, what, syscall, max, false);
}

/** {@link copyin_array} for the class layer: an array that cannot be read is ERR_INVALID_ARG_VALUE, not EFAULT. */
export function arg_array(v: unknown, what: string, where: string, max = 0x7fffffff): unknown[] {
  return array_in(v, what, where, max, true);
}

function array_in(v: unknown, what: string, syscall: string, max: number, cls: boolean): unknown[] {
  const n = length_in(v, what, syscall, max, cls);
  const src = v as readonly unknown[];
  // Grown as read, and a hole refused where it is met: a sparse array's
  // length costs its maker nothing, and copied whole (made at length n
  // first) a length of 10^7 held the caller ~0.3-0.5 s, 2^31 - 1 minutes,
  // before the call even began. C's copyin fails at the first page it
  // cannot read (EFAULT); a hole is that here.
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    let e: unknown, hole = false;
    // (An element's getter may revoke the Proxy the array is.)
    try { e = src[i]; hole = e === undefined && !(i in src); } catch (x) { copyin_fault(x, v, what, syscall, cls); }
    if (hole) arg_type(syscall, `${what}[${i}] is a hole (a sparse array)`);
    out.push(e);
  }
  return out;
}

/**
 * copyin_array's first step: checks that `v` is an array and reads its
 * length once (the same errors). For a caller that copies the elements
 * itself, each once, into a buffer it reuses (kevent's changelist).
 */
export function copyin_length(v: unknown, what: string, syscall: string, max = 0x7fffffff): number {
  return length_in(v, what, syscall, max, false);
}

function length_in(v: unknown, what: string, syscall: string, max: number, cls: boolean): number {
  copyin_check(syscall);
  let n: unknown;
  try {
    if (!Array.isArray(v)) arg_type(syscall, `${what} must be an array, got ${describe(v)}`);
    n = (v as readonly unknown[]).length;
  } catch (e) { copyin_fault(e, v, what, syscall, cls); }
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) arg_type(syscall, `${what} has no valid length`);
  if (n > max) fail('EINVAL', syscall, `${what}: ${n} entries, at most ${max}`);
  return n;
}

/** Copies an array of integers (each checked with {@link copyin_int} and `code`). */
export function copyin_ints(v: unknown, what: string, syscall: string, code: ErrnoCode = 'EINVAL', max?: number): number[] {
  const a = copyin_array(v, what, syscall, max);
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = copyin_int(a[i], `${what}[${i}]`, syscall, code);
  return out;
}

/* --------------------------------------------------------------------- time */

import { NSEC_PER_SEC, TIME_SEC_MAX, mono_now, type TimespecCopy } from './time.js';

/**
 * Copies a timespec (both fields read once) without judging its values:
 * TypeError for a non-object or non-number fields. Used where the value is
 * only an error in some cases (timer_settime's it_interval).
 */
export function copyin_timespec_raw(v: unknown, what: string, syscall: string): TimespecCopy {
  const r = copyin_fields(v, ['tv_sec', 'tv_nsec'], what, syscall);
  const s = r.tv_sec, ns = r.tv_nsec;
  if (typeof s !== 'number' || typeof ns !== 'number') arg_type(syscall, `${what} needs numeric tv_sec and tv_nsec`);
  return { tv_sec: s, tv_nsec: ns };
}

/**
 * Checks a copied timespec: integers, 0 <= tv_nsec < 1e9, |tv_sec| within
 * {@link TIME_SEC_MAX}, tv_sec >= 0 unless `allowNegative`. EINVAL otherwise.
 */
export function timespec_valid(t: TimespecCopy, allowNegative = false): boolean {
  return Number.isInteger(t.tv_sec) && Number.isInteger(t.tv_nsec) &&
    t.tv_nsec >= 0 && t.tv_nsec < NSEC_PER_SEC &&
    (allowNegative ? t.tv_sec >= -TIME_SEC_MAX : t.tv_sec >= 0) && t.tv_sec <= TIME_SEC_MAX;
}

/** {@link copyin_timespec_raw} then {@link timespec_valid}, failing with EINVAL. */
export function copyin_timespec(v: unknown, what: string, syscall: string, allowNegative = false): TimespecCopy {
  const t = copyin_timespec_raw(v, what, syscall);
  if (!timespec_valid(t, allowNegative)) fail('EINVAL', syscall, `${what} {${t.tv_sec}, ${t.tv_nsec}}`);
  return t;
}

/**
 * A relative timeout: undefined or null is "for ever" (-1), a zero timespec
 * is a poll (0), else nanoseconds (> 0). Huge timeouts are clamped to
 * {@link TIME_SEC_MAX} seconds. TypeError for a wrong shape; negative or
 * malformed values are EINVAL, or `invalid` when given (for calls that judge
 * the timeout only when they would wait, as the seed's port_get does).
 */
export function copyin_timeout_ns(v: unknown, syscall: string, invalid?: number): number {
  copyin_check(syscall);
  if (v === undefined || v === null) return -1;
  // The reads and errors of copyin_timespec_raw, into locals: every blocking
  // call copies a timeout, and a record per call was ~90 bytes of garbage
  // (V8's young generation fills the faster, and a scavenge is a pause of
  // the LWP that made it).
  if (typeof v !== 'object') arg_type(syscall, `timeout must be an object, got ${describe(v)}`);
  const src = v as { readonly tv_sec?: unknown; readonly tv_nsec?: unknown };
  let s: unknown, ns: unknown;
  try { s = src.tv_sec; ns = src.tv_nsec; } catch (e) { copyin_fault(e, v, 'timeout', syscall); }
  if (typeof s !== 'number' || typeof ns !== 'number') arg_type(syscall, 'timeout needs numeric tv_sec and tv_nsec');
  if (!Number.isInteger(s) || !Number.isInteger(ns) || s < 0 || ns < 0 || ns >= NSEC_PER_SEC) {
    if (invalid !== undefined) return invalid;
    fail('EINVAL', syscall, `timeout {${s}, ${ns}}`);
  }
  const sec = s > TIME_SEC_MAX ? TIME_SEC_MAX : s;
  return sec * NSEC_PER_SEC + ns;
}

/**
 * The monotonic deadline (ns, mono_now's line) of a relative timeout
 * copied in by {@link copyin_timeout_ns}: Infinity for undefined or null
 * (for ever), now for a zero timespec.
 */
export function copyin_deadline(v: unknown, syscall: string): number {
  const ns = copyin_timeout_ns(v, syscall);
  return ns < 0 ? Infinity : mono_now() + ns;
}


/* -------------------------------------------------------- added by timers */

/**
 * {@link copyin_timespec_raw} with the same reads (each field once, no lock
 * held) and the same errors, for hot paths: it reads the two fields by name,
 * which V8 caches per call site, where copyin_fields' keyed reads into a
 * null-prototype record cost more than timer_settime's own work.
 */
export function copyin_timespec_fast(v: unknown, what: string, syscall: string): TimespecCopy {
  copyin_check(syscall);
  if (v === null || typeof v !== 'object') arg_type(syscall, `${what} must be an object, got ${describe(v)}`);
  const src = v as { readonly tv_sec?: unknown; readonly tv_nsec?: unknown };
  let s: unknown, ns: unknown;
  try { s = src.tv_sec; ns = src.tv_nsec; } catch (e) { copyin_fault(e, v, what, syscall); }
  if (typeof s !== 'number' || typeof ns !== 'number') arg_type(syscall, `${what} needs numeric tv_sec and tv_nsec`);
  return { tv_sec: s, tv_nsec: ns };
}

/* -------------------------------------------------- the _async calls' options */

/**
 * The options the sys layer's _async calls take after the contract's
 * arguments (an extension: C has no AbortSignal). `signal` aborts the
 * sleep: the Promise rejects with an AbortError (kern/sleeprun.ts).
 */
export interface AsyncOptions { signal?: AbortSignal }

/** Copies in an _async call's options (undefined: none): its AbortSignal, checked. */
export function copyin_async_options(opts: unknown, syscall: string): AbortSignal | undefined {
  if (opts === undefined) return undefined;
  if (opts === null || typeof opts !== 'object') arg_type(syscall, `options must be an object, got ${describe(opts)}`);
  const s = copyin_fields(opts as object, ['signal'], 'options', syscall).signal;
  if (s !== undefined && !copyin_instanceof(s, AbortSignal, 'options.signal', syscall)) arg_type(syscall, `options.signal must be an AbortSignal, got ${describe(s)}`);
  return s as AbortSignal | undefined;
}

/** AbortSignal.prototype's own `aborted` getter: the signal's state, with no user code (an own `aborted` getter of the signal is not it). */
const signal_aborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get! as (this: AbortSignal) => boolean;

/**
 * Adds `onAbort` to a wait's signal (once), through the signal's own
 * addEventListener as Node's APIs do; returns what removes it. That call
 * is user code (a replaced method; a subclass's): a signal it aborts before
 * the listener is in place has dispatched its 'abort' already, and a wait
 * that relied on the event slept on for its timeout, or for ever. So the
 * signal's state is then read where no user code answers
 * (AbortSignal.prototype's getter), and `onAbort` runs at once when it is
 * aborted; it runs at most once either way. No kernel lock may be held.
 */
export function abort_listen(signal: AbortSignal, onAbort: () => void): () => void {
  let ran = false;
  const l = (): void => { if (!ran) { ran = true; onAbort(); } };
  signal.addEventListener('abort', l, { once: true });
  const off = (): void => { signal.removeEventListener('abort', l); };
  // A fake (an object with AbortSignal.prototype) fails here with Node's ERR_INVALID_THIS, as at its first look.
  let aborted: boolean;
  try { aborted = signal_aborted.call(signal); } catch (e) { off(); throw e; }
  if (aborted) l();
  return off;
}

/* ------------------------------------------- added by PORT_SOURCE_FILE */

/** The kernel's copy of a file_obj_t: its fields read once, and the object itself, kept only for its identity. */
export interface FileObjCopy {
  readonly ref: object;
  readonly fo_name: string;
  readonly fo_atime: TimespecCopy;
  readonly fo_mtime: TimespecCopy;
  readonly fo_ctime: TimespecCopy;
}

/**
 * Copies a file_obj_t (port_associate's PORT_SOURCE_FILE object): fo_name a
 * string without NUL (TypeError / EINVAL), each time a timespec (TypeError
 * for a wrong shape, EINVAL for values out of range; before 1970 allowed).
 * The object's identity is kept in `ref`; nothing else of it is read again.
 */
export function copyin_file_obj(v: unknown, what: string, syscall: string): FileObjCopy {
  const r = copyin_fields(v, ['fo_name', 'fo_atime', 'fo_mtime', 'fo_ctime'], what, syscall);
  if (typeof r.fo_name !== 'string') arg_type(syscall, `${what}.fo_name must be a string, got ${describe(r.fo_name)}`);
  if (r.fo_name.length === 0 || r.fo_name.includes('\0')) fail('EINVAL', syscall, `${what}.fo_name is empty or holds a NUL`);
  const ts = (x: unknown, n: string): TimespecCopy => copyin_timespec(x, `${what}.${n}`, syscall, true);
  return { ref: v as object, fo_name: r.fo_name, fo_atime: ts(r.fo_atime, 'fo_atime'), fo_mtime: ts(r.fo_mtime, 'fo_mtime'), fo_ctime: ts(r.fo_ctime, 'fo_ctime') };
}
