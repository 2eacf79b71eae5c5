/**
 * EVFILT_EXCEPT: exceptional conditions on an OS descriptor, where they map
 * on Linux. DragonFly sends EVFILT_EXCEPT through the descriptor's
 * kqfilter; only sockets take it there (its socket filter reports NOTE_OOB
 * while out-of-band data is pending), every other file type refuses it with
 * EOPNOTSUPP, as a kqueue's own kqfilter does for every filter but READ.
 * Here the same: sockets only, EOPNOTSUPP for pipes, files, TTYs and kernel
 * descriptors.
 *
 * Out-of-band data is TCP's urgent data: Linux's poll reports POLLPRI while
 * an urgent byte is pending (until it is read with MSG_OOB or, with
 * SO_OOBINLINE, passed by the reader). The knote holds an intr source with
 * an EXCEPT interest (epoll EPOLLPRI: normal data does not wake the intr
 * thread for it), and is evaluated like the read and write knotes of os.ts
 * (identity first, then poll): with NOTE_OOB requested and POLLPRI set,
 * the event fires with fflags NOTE_OOB and data 1. A knote that asked for
 * no note never fires (DragonFly's filter: only the requested conditions).
 */
import { I32 } from '../../kern/kmem.js';
import { FD_BASE, fd_file } from '../../kern/fdtab.js';
import { K, kn_ident, kn_setdata } from '../knote.js';
import { filter_register } from '../filter.js';
import { EVFILT_EXCEPT, NOTE_OOB } from '../consts.js';
import * as ix from '../../intr/kapi.js';
import { os_attach, os_detach, os_gone, os_isopen, os_live } from './os.js';

/** EVFILT_EXCEPT on an OS socket: is out-of-band data pending (kqueue lock held). */
export function os_except_event(kn: number): boolean {
  const src = I32[kn + K.hook]!;
  if (src === 0 || !os_live(kn, src)) return false;
  if ((I32[kn + K.sfflags]! & NOTE_OOB) === 0) return false;
  const rev = ix.os_poll(ix.src_fd(src), ix.POLLPRI);
  if (rev < 0 || (rev & ix.POLLPRI) === 0) return false;
  I32[kn + K.fflags] = NOTE_OOB;
  kn_setdata(kn, 1);
  return true;
}

filter_register(EVFILT_EXCEPT, {
  name: 'except',
  isfd: true,
  isopen(ident) { return ident < FD_BASE ? os_isopen(ident) : fd_file(ident) !== 0; },
  gone(kn) { return I32[kn + K.hook] !== 0 && os_gone(kn); },
  attach(kn) {
    if (kn_ident(kn) >= FD_BASE) return 'EOPNOTSUPP';
    const err = os_attach(kn, ix.DIR_EXCEPT);
    if (err !== 0 || ix.src_mode(I32[kn + K.hook]!) === ix.S_IFSOCK) return err;
    os_detach(kn, ix.DIR_EXCEPT);
    return 'EOPNOTSUPP';
  },
  detach(kn) { os_detach(kn, ix.DIR_EXCEPT); },
  event(kn) { return os_except_event(kn); },
});
