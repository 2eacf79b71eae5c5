/**
 * Copy-in of the aio calls' arguments: an aiocb (each field read once, by a
 * compiled copier, before any lock), its sigevent, and a request named by an
 * aiocb or a bare aio_id. The buffer's type and backing store are read
 * through the intrinsic TypedArray getters captured at load, never through
 * the object (a user getter named `buffer` on the instance runs no code
 * here). Errors as the aio manual pages give them: a wrong JS type is a
 * TypeError (ERR_INVALID_ARG_TYPE); a descriptor below 0 is EBADF; a
 * negative or fractional offset, an nbytes larger than the buffer, a buffer
 * not over a SharedArrayBuffer, a bad aio_reqprio or sigev_notify: EINVAL.
 */
import { fail } from '../kern/errno.js';
import { copyin_struct, copyin_i32, copyin_check, arg_type } from '../kern/copyin.js';
import { SIGEV_NONE } from '../timers/consts.js';
import { copyin_sigevent, type Sigev } from '../timers/kapi.js';
import { AIO_PRIO_DELTA_MAX, LIO_READ, LIO_WRITE, LIO_NOP } from './consts.js';
import { OP_READ, OP_WRITE } from './aio.js';

import type { sigevent } from '../timers/sys.js';

/** The aiocb of the contract (POSIX aio.h): a request to read, write or sync a descriptor. */
export interface aiocb {
  aio_fildes: number; aio_offset: number;
  /** Over a SharedArrayBuffer. */
  aio_buf: Uint8Array;
  aio_nbytes: number; aio_reqprio?: number; aio_sigevent?: aio_sigevent;
  /** LIO_READ | LIO_WRITE | LIO_NOP (lio_listio). */
  aio_lio_opcode?: number;
  /** Set by the kernel when the request is queued. */
  aio_id?: number;
}
/** The sigevent of an aio request: the contract's one sigevent (timers/sys.ts), whose sigev_notify_kqueue only AIO takes. */
export type aio_sigevent = sigevent;

/** The kernel's copy of a sigevent. */
export type Ev = Sigev;
/** The kernel's copy of an aiocb. */
export interface Cb { fd: number; offset: number; buf: Uint8Array | null; nbytes: number; ev: Ev; lioop: number; user: object }

const TA = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (k: PropertyKey): ((this: unknown) => unknown) => Object.getOwnPropertyDescriptor(TA, k)!.get! as (this: unknown) => unknown;
const taTag = getter(Symbol.toStringTag), taBuffer = getter('buffer'), taLength = getter('byteLength');

const copy_cb = copyin_struct('aiocb', ['aio_fildes', 'aio_offset', 'aio_buf', 'aio_nbytes', 'aio_reqprio', 'aio_sigevent', 'aio_lio_opcode']);
const copy_id = copyin_struct('aiocb', ['aio_id']);

const NO_EV: Ev = Object.freeze({ notify: SIGEV_NONE, signo: 0, value: 0, port: 0, user: 0, kq: 0 });

/** Copies in a sigevent (undefined / null: SIGEV_NONE); SIGEV_KEVENT taken (timers/sigevent.ts). */
export function copyin_aio_sigevent(v: unknown, S: string): Ev {
  return copyin_sigevent(v, 'aio_sigevent', S, true) ?? NO_EV;
}

/** A Uint8Array over a SharedArrayBuffer (TypeError for another type, EINVAL for another backing store). */
function copyin_buf(v: unknown, S: string): Uint8Array {
  if (taTag.call(v) !== 'Uint8Array') arg_type(S, 'aio_buf must be a Uint8Array');
  if (!(taBuffer.call(v) instanceof SharedArrayBuffer)) fail('EINVAL', S, 'aio_buf is not over a SharedArrayBuffer');
  return v as Uint8Array;
}

/**
 * Copies in an aiocb for operation `op` (OP_READ / OP_WRITE / fsync's; for
 * lio_listio -1: the opcode field decides, and LIO_NOP needs no buffer).
 */
export function copyin_aiocb(v: unknown, op: number, S: string): Cb {
  const c = copy_cb(v, S);
  const fd0 = c.aio_fildes, off0 = c.aio_offset, buf0 = c.aio_buf, n0 = c.aio_nbytes, pr0 = c.aio_reqprio, ev0 = c.aio_sigevent, lio0 = c.aio_lio_opcode;
  let lioop = -1;
  if (op < 0) {
    lioop = copyin_i32(lio0, 'aio_lio_opcode', S);
    if (lioop !== LIO_READ && lioop !== LIO_WRITE && lioop !== LIO_NOP) fail('EINVAL', S, `aio_lio_opcode ${lioop}`);
  }
  const fd = copyin_i32(fd0, 'aio_fildes', S, 'EBADF');
  const ev = copyin_aio_sigevent(ev0, S);
  if (pr0 !== undefined) {
    const pr = copyin_i32(pr0, 'aio_reqprio', S);
    if (pr < 0 || pr > AIO_PRIO_DELTA_MAX) fail('EINVAL', S, `aio_reqprio ${pr}`);
  }
  const io = op === OP_READ || op === OP_WRITE || lioop === LIO_READ || lioop === LIO_WRITE;
  if (fd < 0) fail('EBADF', S, `aio_fildes ${fd}`);
  if (!io) return { fd, offset: 0, buf: null, nbytes: 0, ev, lioop, user: v as object };
  const buf = copyin_buf(buf0, S);
  if (typeof off0 !== 'number') arg_type(S, 'aio_offset must be a number');
  if (typeof n0 !== 'number') arg_type(S, 'aio_nbytes must be a number');
  if (!Number.isSafeInteger(off0) || off0 < 0) fail('EINVAL', S, `aio_offset ${off0}`);
  if (!Number.isInteger(n0) || n0 < 0 || n0 > (taLength.call(buf) as number) || n0 > 0x7ffff000) fail('EINVAL', S, `aio_nbytes ${n0}`);
  return { fd, offset: off0, buf, nbytes: n0, ev, lioop, user: v as object };
}

/** The aio_id named by an aiocb (its aio_id) or a number: EINVAL when it names none. */
export function copyin_aio_id(v: unknown, S: string): number {
  let id: unknown = v;
  if (typeof v === 'object' && v !== null) id = copy_id(v, S).aio_id;
  else copyin_check(S);
  if (typeof id === 'number') return id;
  if (id === undefined && typeof v === 'object') fail('EINVAL', S, 'the aiocb was never queued (no aio_id)');
  return arg_type(S, 'expected an aiocb or an aio_id');
}

/** Sets cb.aio_id after queueing, with no lock held; a setter that throws changes nothing in the kernel. */
export function copyout_id(user: object, id: number): void {
  try { (user as { aio_id?: number }).aio_id = id; } catch { /* the request is queued regardless */ }
}
