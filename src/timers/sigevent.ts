/**
 * The copy-in of a sigevent (and its port_notify_t), written once for the
 * two kinds of source that take one: POSIX timers (timer_create) and AIO
 * requests (aio_sigevent, lio_listio's sig). Every field is read once,
 * whatever sigev_notify says (C copies the whole struct), before any lock;
 * then the notification's own fields are checked. SIGEV_KEVENT (FreeBSD's,
 * sigev_notify_kqueue) only where the caller takes it (AIO).
 */
import { fail } from '../kern/errno.js';
import { copyin_i32, copyin_user, arg_type, copyin_check, copyin_struct, copyin_revoked, type StructCopier } from '../kern/copyin.js';
import { SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_PORT, SIGEV_KEVENT } from './consts.js';
import { NSIG } from '../signals/consts.js'; // one signal range for the whole kernel

/** The kernel's copy of a sigevent. */
export interface Sigev { notify: number; signo: number; value: number; port: number; user: number; kq: number; fn?: (v: number) => void }

const FIELDS = ['sigev_notify', 'sigev_signo', 'sigev_value', 'sigev_notify_port', 'sigev_notify_function', 'sigev_notify_kqueue'] as const;
/** One copier per argument name (its messages name the argument: 'evp', 'aio_sigevent', 'sig'). */
const copiers = new Map<string, StructCopier<(typeof FIELDS)[number]>>();
const copy_portnfy = copyin_struct('sigev_notify_port', ['portnfy_port', 'portnfy_user']);

/**
 * Copies in and checks sigevent `v` (the argument `what`) for `syscall`: null for a null or
 * undefined one (the caller's default). EINVAL for an unknown sigev_notify
 * (SIGEV_KEVENT unless `kevent`) or signal; EBADF for a port or kqueue that
 * is not a descriptor number; TypeError for SIGEV_THREAD without a function.
 */
export function copyin_sigevent(v: unknown, what: string, syscall: string, kevent: boolean): Sigev | null {
  const S = syscall;
  if (v === null || v === undefined) { copyin_check(S); return null; }
  let copy = copiers.get(what);
  if (copy === undefined) copiers.set(what, copy = copyin_struct(what, FIELDS));
  const e = copy(v, S);
  const n0 = e.sigev_notify, s0 = e.sigev_signo, v0 = e.sigev_value, p0 = e.sigev_notify_port, f0 = e.sigev_notify_function, k0 = e.sigev_notify_kqueue;
  const notify = copyin_i32(n0, 'sigev_notify', S);
  const ev: Sigev = { notify, signo: 0, value: v0 === undefined ? 0 : copyin_user(v0, 'sigev_value', S), port: 0, user: 0, kq: 0 };
  switch (notify) {
    case SIGEV_NONE: break;
    case SIGEV_SIGNAL:
      ev.signo = copyin_i32(s0, 'sigev_signo', S);
      if (ev.signo < 1 || ev.signo >= NSIG) fail('EINVAL', S, `signal ${ev.signo}`);
      break;
    case SIGEV_THREAD:
      if (typeof f0 !== 'function') arg_type(S, 'SIGEV_THREAD needs sigev_notify_function');
      // A revoked Proxy of a function is a function to typeof, and fails only when called: at the first expiry, in another thread.
      if (copyin_revoked(f0)) fail('EFAULT', S, 'sigev_notify_function is a revoked Proxy (it cannot be called)');
      ev.fn = f0 as (v: number) => void;
      break;
    case SIGEV_PORT: {
      const pn = copy_portnfy(p0, S);
      const pp = pn.portnfy_port, pu = pn.portnfy_user;
      ev.port = copyin_i32(pp, 'portnfy_port', S, 'EBADF');
      ev.user = copyin_user(pu, 'portnfy_user', S);
      break;
    }
    case SIGEV_KEVENT:
      if (!kevent) fail('EINVAL', S, `sigev_notify ${notify}`);
      ev.kq = copyin_i32(k0, 'sigev_notify_kqueue', S, 'EBADF');
      break;
    default: fail('EINVAL', S, `sigev_notify ${notify}`);
  }
  return ev;
}
