/**
 * Argument checks of the class layer, with Node's codes: a value of the
 * wrong type is ERR_INVALID_ARG_TYPE (TypeError), a number outside what the
 * call takes is ERR_OUT_OF_RANGE (RangeError). The sys layer keeps the
 * errno C would set (kern/copyin.ts); the classes check first, so that a
 * value C could never have passed (a string descriptor, 2**31 for an int)
 * is a clear argument error rather than a wrapped or coerced number.
 */
import { arg_type, ArgRangeError, copyin_instanceof } from '../sys/ext.js';

/** An integer in [min, max]. */
export function int_arg(v: unknown, name: string, where: string, min: number, max: number): number {
  if (typeof v !== 'number') arg_type(where, `${name} must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new ArgRangeError(where, `${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

/** A finite number. */
export function num_arg(v: unknown, name: string, where: string): number {
  if (typeof v !== 'number') arg_type(where, `${name} must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isFinite(v)) throw new ArgRangeError(where, `${name} must be a finite number, got ${v}`);
  return v;
}

/** An optional boolean option (undefined: the default), as Node's validateBoolean. */
export function bool_opt(v: unknown, name: string, where: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') arg_type(where, `${name} must be a boolean, got ${v === null ? 'null' : typeof v}`);
  return v as boolean | undefined;
}

/** An optional AbortSignal option. */
export function signal_opt(v: unknown, name: string, where: string): AbortSignal | undefined {
  if (v !== undefined && !copyin_instanceof(v, AbortSignal, name, where, true)) arg_type(where, `${name} must be an AbortSignal`);
  return v as AbortSignal | undefined;
}

export const INT32_MIN = -0x80000000, INT32_MAX = 0x7fffffff, UINT32_MAX = 0xffffffff;
