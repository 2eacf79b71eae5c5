/**
 * Argument checks shared by syscalls. A value of the wrong JS type is a
 * TypeError; a number C could hold but the call rejects is the call's errno.
 */
import { fail, type ErrnoCode } from './errno.js';

/** An integer id/flag argument: wrong JS type -> TypeError, NaN/fraction/out of int range -> errno. */
export function intArg(v: unknown, name: string, syscall: string, code: ErrnoCode = 'EINVAL'): number {
  if (typeof v !== 'number') throw new TypeError(`${syscall}: ${name} must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) fail(code, syscall, `${name} ${v}`);
  return v;
}

/** A user data word (portev_user, udata, private): every JS number is valid, kept bit-exact. */
export function userArg(v: unknown, name: string, syscall: string): number {
  if (typeof v !== 'number') throw new TypeError(`${syscall}: ${name} must be a number, got ${typeof v}`);
  return v;
}
