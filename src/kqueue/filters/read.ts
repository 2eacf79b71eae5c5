/**
 * EVFILT_READ on kernel descriptors: a kqueue is readable while it has
 * pending events (data = how many, the seed's filt_kqueue), a port while it
 * has events (data = what its `readable` file operation reports). The knote
 * sits on the descriptor's watch list; the descriptor's owner calls
 * file_notify() when readiness changes, and closing the descriptor drops
 * the knote. OS descriptors (sockets, pipes) are a later filter's: this one
 * refuses them with EBADF, as it refuses numbers that are not open.
 */
import { I32 } from '../../kern/kmem.js';
import { FF, fd_file, fileops } from '../../kern/fdtab.js';
import { K, kn_ident, kn_setdata } from '../knote.js';
import { filter_register } from '../filter.js';
import { knote_watch, knote_unwatch } from '../watch.js';
import { EVFILT_READ } from '../consts.js';

filter_register(EVFILT_READ, {
  name: 'read',
  isfd: true,
  attach(kn) {
    const ident = kn_ident(kn);
    const file = Number.isSafeInteger(ident) ? fd_file(ident) : 0;
    if (file === 0) return 'EBADF';
    if (fileops(Atomics.load(I32, file + FF.type))?.readable === undefined) return 'EINVAL';
    return knote_watch(kn, file);
  },
  detach(kn) { knote_unwatch(kn); },
  event(kn) {
    const file = I32[kn + K.file];
    if (file === 0) return false;
    const ops = fileops(Atomics.load(I32, file + FF.type));
    const n = ops?.readable?.(I32[file + FF.obj]) ?? 0;
    kn_setdata(kn, n);
    return n > 0;
  },
});
