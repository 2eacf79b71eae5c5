/**
 * What the aio subsystem offers the rest of the kernel (a BSD-style
 * header): the hooks through which another subsystem's notification kind
 * plugs into a request's life — reserve what the completion will need at
 * submission (no lock held), undo it for a request that is not published,
 * and notify at completion (under the aio lock, which comes before the
 * kqueue, port and signal locks) — and the few request fields it needs.
 * kqueue/filters/aio.ts (EVFILT_AIO, SIGEV_KEVENT) is its user.
 */
import { I32 } from '../kern/kmem.js';
import { R } from './aio.js';
export { aio_set_notifier, aio_renew_id, type AioNotifier } from './aio.js';
export { aio_notify_register, type NotifyOps } from './submit.js';
export type { Cb, Ev } from './copy.js';

/** A request's aio_id. */
export function aio_req_id(h: number): number { return I32[h + R.id]!; }
/** SIGEV_KEVENT: the kqueue and knote a request notifies (set at reservation). */
export function aio_req_knote(h: number): { kq: number; kn: number } { return { kq: I32[h + R.kq]!, kn: I32[h + R.kn]! }; }
export function aio_req_set_knote(h: number, kq: number, kn: number): void { I32[h + R.kq] = kq; I32[h + R.kn] = kn; }
