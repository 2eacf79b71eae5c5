/**
 * struct lwp and the LWP table. An LWP is a thread of the process: the
 * booting thread is LWP 1; the others are worker threads started by
 * lwp_create. States and counters follow NetBSD's kern_lwp.c:
 *
 *   IDL -> RUN -> ONPROC <-> SLEEP        ONPROC -> SUSPENDED -> RUN
 *   ONPROC -> ZOMB (exit) -> freed (collected by lwp_wait, or at once when detached)
 *
 * A lid is found in O(1): lids grow from 1 and an LWP lives in table slot
 * (lid - 1) mod maxlwp, so allocation skips lids whose slot is taken.
 */
import { I32, F64, defineStruct, kregionCreate } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { SYSID_BASE } from '../kern/hdr.js';
import { mutex_class } from '../kern/lockdebug.js';

/** LWP states, with NetBSD's numbers. 0 marks a free slot. */
export const LSIDL = 1, LSRUN = 2, LSSLEEP = 3, LSSTOP = 4, LSZOMB = 5, LSONPROC = 7, LSSUSPENDED = 8;
export const STATE_NAMES: Readonly<Record<number, string>> = {
  [LSIDL]: 'IDL', [LSRUN]: 'RUN', [LSSLEEP]: 'SLEEP', [LSSTOP]: 'STOP', [LSZOMB]: 'ZOMB',
  [LSONPROC]: 'ONPROC', [LSSUSPENDED]: 'SUSPENDED',
};

/** l_flag bits. */
export const LW_WSUSPEND = 0x1;    // suspend requested: act at the next syscall boundary
export const LW_UNPARKED = 0x2;    // an unpark is pending (NetBSD's L_CANCELLED for park)
export const LW_SINTR = 0x4;       // sleeping interruptibly
export const LW_DETACHED = 0x8;    // LPR_DETACHED
export const LW_WEXIT = 0x10;      // exiting
export const LW_MAIN = 0x20;       // the booting thread
export const LW_THREW = 0x40;      // its start function threw
export const LW_DIED = 0x80;       // its worker died outside the kernel
export const LW_CANCELLED = 0x100; // lwp_wakeup: end the current or next interruptible sleep with EINTR
export const LW_PENDING = 0x200;   // a subsystem left work for the LWP's next syscall (onUserret hooks)
/** Bits that send the LWP through userret at its next syscall. */
export const LW_USERRET = LW_WSUSPEND | LW_PENDING;

export const LWP = defineStruct('lwp', {
  private: 'f64',      // lwp_getprivate / lwp_setprivate
  parkhint: 'f64',     // the hint it is parked with
  created: 'f64',      // kernel monotonic ns
  lock: 'i32',
  lid: 'i32',
  stat: 'i32',
  flag: 'i32',
  waitingfor: 'i32',   // lid it waits for in lwp_wait (0 for whichever)
  waiter: 'i32',       // the first waiter for it
  sl: 'i32',           // its sleeper for sync sleeps
  sleeping: 'i32',     // the sleeper it is blocked on now (sync), 0 if none
  asq: 'i32',          // chain of its pending async sleepers
  nasync: 'i32',
  suspw: 'i32',        // suspended LWPs wait on this word
  resume: 'i32',       // state to return to when continued
  nlocks: 'i32',       // kernel mutexes held (a dead worker holding any panics the kernel)
  wmesg: 'i32',
  nparks: 'i32',
  nwakes: 'i32',
});
export const L = LWP.F;

export const lwptab = kregionCreate('lwptab', (t) => t.maxlwp! * LWP.words);
mutex_class('lwp', lwptab, { field: L.lock, stride: LWP.words });

export function maxlwp(): number { return lwptab.words / LWP.words; }
export function slotHandle(slot: number): number { return lwptab.base + slot * LWP.words; }

/** The live LWP with this lid (any state but free), or 0. */
export function lwp_byid(lid: number): number {
  if (!Number.isInteger(lid) || lid <= 0 || lid >= SYSID_BASE) return 0;
  const h = slotHandle((lid - 1) % maxlwp());
  return I32[h + L.lid] === lid && Atomics.load(I32, h + L.stat) !== 0 ? h : 0;
}

export function curlwp(): number { return cur.lwp; }
export function lwp_stat(h: number): number { return Atomics.load(I32, h + L.stat); }
export function lwp_flag(h: number): number { return Atomics.load(I32, h + L.flag); }
export function lwp_setflag(h: number, bits: number): void { Atomics.or(I32, h + L.flag, bits); }
export function lwp_clrflag(h: number, bits: number): void { Atomics.and(I32, h + L.flag, ~bits); }
export function lwp_private(h: number): number { return F64[(h + L.private) >> 1]!; }
export function lwp_setprivate_(h: number, v: number): void { F64[(h + L.private) >> 1] = v; }
