/**
 * EVFILT_WRITE: OS descriptors only (os.ts has the theory). Kernel
 * descriptors are never writable (a port is posted to, a kqueue changed,
 * through their calls), so a kernel descriptor ident is EINVAL, as a
 * kqueue's kqfilter refuses every filter but EVFILT_READ in the seed.
 */
import { I32 } from '../../kern/kmem.js';
import { FD_BASE, fd_file } from '../../kern/fdtab.js';
import { K, kn_ident } from '../knote.js';
import { filter_register } from '../filter.js';
import { EVFILT_WRITE } from '../consts.js';
import { DIR_WRITE_OWN } from '../../intr/kapi.js';
import { os_attach, os_detach, os_gone, os_isopen, os_write_event } from './os.js';
// EVFILT_EXCEPT, the other OS-only filter, registers beside this one.
import './osexcept.js';

filter_register(EVFILT_WRITE, {
  name: 'write',
  isfd: true,
  isopen(ident) { return ident < FD_BASE ? os_isopen(ident) : fd_file(ident) !== 0; },
  gone(kn) { return I32[kn + K.hook] !== 0 && os_gone(kn); },
  // Its own registration (the write set): bytes arriving are no news for it (os.ts).
  attach(kn) { return kn_ident(kn) < FD_BASE ? os_attach(kn, DIR_WRITE_OWN) : 'EINVAL'; },
  detach(kn) { os_detach(kn, DIR_WRITE_OWN); },
  event(kn) { return os_write_event(kn); },
});
