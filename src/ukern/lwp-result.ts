/**
 * How an LWP of the class layer hands its outcome to whoever waits for it:
 * a growable SharedArrayBuffer the creator allocates (`lwp_result_buffer`)
 * and passes to the start shim (lwp-start.ts) in the LWP, which writes once,
 * before the LWP exits, the v8 serialization of its return value or of its
 * failure; the waiter reads it after lwp_wait has collected the LWP (the
 * exit orders the write before the read). No kernel memory is involved and
 * nothing leaks: the buffer lives as long as the Lwp object.
 *
 * Layout: word 0 the state (RES_NONE until written), word 1 the byte length,
 * the serialized bytes from byte 8.
 */
import { types } from 'node:util';
import { v8_module } from '../sys/ext.js';

export const RES_NONE = 0, RES_VALUE = 1, RES_FAILED = 2;

/** Why an LWP of the class layer failed. */
export type LwpFailPhase = 'import' | 'export' | 'threw' | 'result';

/** What the shim records on failure. */
export interface LwpFailure { phase: LwpFailPhase; error: unknown }

const HDR = 8;
const INITIAL = 4096;
/** The largest outcome an LWP can hand back (virtual address space is reserved for it, not memory). */
const RESULT_MAX_BYTES = 64 * 1024 * 1024;

export function lwp_result_buffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(INITIAL, { maxByteLength: RESULT_MAX_BYTES });
}

function write(buf: SharedArrayBuffer, state: number, bytes: Uint8Array): void {
  if (HDR + bytes.length > buf.byteLength) buf.grow(HDR + bytes.length);
  new Uint8Array(buf, HDR, bytes.length).set(bytes);
  const w = new Int32Array(buf, 0, 2);
  w[1] = bytes.length;
  Atomics.store(w, 0, state);
}

/** In the LWP: records the return value. Throws when it cannot be serialized or is too large. */
export function lwp_result_value(buf: SharedArrayBuffer, value: unknown): void {
  const bytes = v8_module().serialize(value);
  if (HDR + bytes.length > RESULT_MAX_BYTES) throw new RangeError(`the return value takes ${bytes.length} bytes serialized (at most ${RESULT_MAX_BYTES - HDR})`);
  write(buf, RES_VALUE, bytes);
}

/**
 * An error's own enumerable properties with primitive values (code, errno,
 * syscall, name, ...): v8's serialization of an Error keeps only its
 * message and stack (and a standard name), so these travel beside it and
 * are put back on the copy (lwp_result_read). An object that is an Error
 * by prototype only (a status SysError: kern/errno.ts status_error) would
 * otherwise arrive as a plain object; it is sent as a real Error.
 */
function error_props(e: unknown): { error: unknown; props?: Record<string, string | number | boolean> } {
  if (!(e instanceof Error)) return { error: e };
  const props: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k !== 'message' && k !== 'stack' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) props[k] = v;
  }
  props.name = e.name;
  if (types.isNativeError(e as unknown)) return { error: e, props };
  const copy = new Error(e.message);
  if (typeof e.stack === 'string') copy.stack = e.stack;
  return { error: copy, props };
}

/** In the LWP: records a failure (an error that cannot be serialized is recorded by its name, message and stack). */
export function lwp_result_failure(buf: SharedArrayBuffer, failure: LwpFailure): void {
  const f = { phase: failure.phase, ...error_props(failure.error) };
  let bytes: Uint8Array;
  try { bytes = v8_module().serialize(f); } catch {
    const e = f.error as { name?: unknown; message?: unknown; stack?: unknown } | null;
    const plain = new Error(String(e?.message ?? f.error));
    plain.name = String(e?.name ?? 'Error');
    if (typeof e?.stack === 'string') plain.stack = e.stack;
    bytes = v8_module().serialize({ phase: f.phase, error: plain });
  }
  if (HDR + bytes.length > RESULT_MAX_BYTES) bytes = v8_module().serialize({ phase: f.phase, error: new Error('(the error was too large to hand back)') });
  write(buf, RES_FAILED, bytes);
}

/** In the waiter, after the LWP was collected: what it recorded. */
export function lwp_result_read(buf: SharedArrayBuffer): { state: number; payload: unknown } {
  const w = new Int32Array(buf, 0, 2);
  const state = Atomics.load(w, 0);
  if (state === RES_NONE) return { state, payload: undefined };
  const payload = v8_module().deserialize(new Uint8Array(buf, HDR, w[1]!).slice()) as unknown;
  if (state === RES_FAILED) {
    const f = payload as { phase: LwpFailPhase; error: unknown; props?: Record<string, unknown> };
    if (f.props !== undefined && f.error instanceof Error) Object.assign(f.error, f.props);
    return { state, payload: { phase: f.phase, error: f.error } satisfies LwpFailure };
  }
  return { state, payload };
}
