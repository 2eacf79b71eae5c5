/**
 * EVFILT_USER: events triggered by user code (the seed's filt_user*).
 * `hook` holds whether the event is triggered; fflags combine by the
 * NOTE_FF* control in the top two bits of the given fflags; data is copied
 * from every change (undocumented, as the seed says, but relied upon).
 * A modify does not change udata.
 */
import { I32 } from '../../kern/kmem.js';
import { K, kn_sdata, kn_setdata } from '../knote.js';
import { filter_register, EVENT_REGISTER, type kevent_t } from '../filter.js';
import {
  EVFILT_USER, EV_CLEAR, NOTE_TRIGGER, NOTE_FFCTRLMASK, NOTE_FFLAGSMASK, NOTE_FFAND, NOTE_FFOR, NOTE_FFCOPY,
} from '../consts.js';

/** Applies the NOTE_FF* control of `given` to the stored fflags; returns the given flags masked. */
function combine(kn: number, given: number): number {
  const ctrl = (given & NOTE_FFCTRLMASK) >>> 0;
  const bits = given & NOTE_FFLAGSMASK;
  const cur = I32[kn + K.fflags];
  if (ctrl === NOTE_FFAND) I32[kn + K.fflags] = cur & bits;
  else if (ctrl === NOTE_FFOR) I32[kn + K.fflags] = cur | bits;
  else if (ctrl === NOTE_FFCOPY) I32[kn + K.fflags] = bits;
  return bits;
}

filter_register(EVFILT_USER, {
  name: 'user',
  attach(kn) {
    const sf = I32[kn + K.sfflags] >>> 0;
    I32[kn + K.hook] = (sf & NOTE_TRIGGER) !== 0 ? 1 : 0;
    I32[kn + K.sfflags] = combine(kn, sf);
    kn_setdata(kn, kn_sdata(kn));
    return 0;
  },
  detach() {},
  event(kn) { return I32[kn + K.hook] !== 0; },
  touch(kn, kev: kevent_t, type) {
    if (type === EVENT_REGISTER) {
      if (((kev.fflags >>> 0) & NOTE_TRIGGER) !== 0) I32[kn + K.hook] = 1;
      kev.fflags = combine(kn, kev.fflags >>> 0);
      kn_setdata(kn, kev.data);
      // EV_CLEAR on a modify un-triggers (Apple/FreeBSD compatibility); it
      // clears data but leaves fflags to NOTE_FFAND / NOTE_FFCOPY.
      if ((kev.flags & EV_CLEAR) !== 0) { I32[kn + K.hook] = 0; kn_setdata(kn, 0); }
      return;
    }
    // The knote's own EV_CLEAR un-triggers it on retrieval; the scan clears data and fflags.
    if ((I32[kn + K.flags] & EV_CLEAR) !== 0) I32[kn + K.hook] = 0;
  },
});
