/**
 * EVFILT_READ, dispatched by ident: below FD_BASE an OS descriptor (pipes,
 * sockets, files: os.ts), above it a kernel descriptor. On kernel
 * descriptors a kqueue is readable while it has pending events (data = how
 * many, the seed's filt_kqueue), a port while it has events (data = what
 * its `readable` file operation reports); the knote sits on the
 * descriptor's watch list, the descriptor's owner calls file_notify() when
 * readiness changes, and closing the descriptor drops the knote. An OS knote
 * keeps its intr source in kn_hook (never 0 for one), which is how the other
 * operations tell the two kinds apart. A kernel descriptor's knote counts
 * among its kqueue's (Q.nkd: kern.ts kq_hostfed).
 */
import { I32 } from '../../kern/kmem.js';
import { FF, FD_BASE, fd_file, fileops } from '../../kern/fdtab.js';
import { K, kn_ident, kn_setdata } from '../knote.js';
import { filter_register } from '../filter.js';
import { knote_watch, knote_unwatch } from '../watch.js';
import { kq_kd_attached } from '../kern.js';
import { EVFILT_READ } from '../consts.js';
import { DIR_READ } from '../../intr/kapi.js';
import { os_attach, os_detach, os_gone, os_isopen, os_read_event } from './os.js';

const is_os = (kn: number): boolean => I32[kn + K.hook] !== 0;

filter_register(EVFILT_READ, {
  name: 'read',
  isfd: true,
  isopen(ident) { return ident < FD_BASE ? os_isopen(ident) : fd_file(ident) !== 0; },
  gone(kn) { return is_os(kn) && os_gone(kn); },
  attach(kn) {
    const ident = kn_ident(kn);
    if (ident < FD_BASE) return os_attach(kn, DIR_READ);
    const file = Number.isSafeInteger(ident) ? fd_file(ident) : 0;
    if (file === 0) return 'EBADF';
    if (fileops(Atomics.load(I32, file + FF.type))?.readable === undefined) return 'EINVAL';
    const err = knote_watch(kn, file);
    if (err === 0) kq_kd_attached(I32[kn + K.kq]!, 1);
    return err;
  },
  detach(kn) {
    if (is_os(kn)) { os_detach(kn, DIR_READ); return; }
    if (I32[kn + K.file] !== 0) kq_kd_attached(I32[kn + K.kq]!, -1);
    knote_unwatch(kn);
  },
  event(kn) {
    if (is_os(kn)) return os_read_event(kn);
    const file = I32[kn + K.file];
    if (file === 0) return false;
    const ops = fileops(Atomics.load(I32, file + FF.type));
    const n = ops?.readable?.(I32[file + FF.obj]) ?? 0;
    kn_setdata(kn, n);
    return n > 0;
  },
});
