/**
 * EVFILT_USER: events triggered by user code (the seed's filt_user*).
 * `hook` holds whether the event is triggered; fflags combine by the
 * NOTE_FF* control in the top two bits of the given fflags; data is copied
 * from every change (undocumented, as the seed says, but relied upon).
 * A modify does not change udata.
 */
import { I32, F64 } from '../../kern/kmem.js';
import * as knote from '../knote.js';
import { kn_sdata, kn_setdata } from '../knote.js';
import * as filter from '../filter.js';
import { filter_register, type kevent_t } from '../filter.js';
import * as consts from '../consts.js';
import { EVFILT_USER } from '../consts.js';

// Module-local copies of the offsets and bits a trigger uses (see scan.ts):
// optimised code reads an imported binding through its module cell, with a
// hole check, on every use; a local const is folded in as a constant.
const K = knote.K, EVENT_REGISTER = filter.EVENT_REGISTER, EV_CLEAR = consts.EV_CLEAR;
const NOTE_TRIGGER = consts.NOTE_TRIGGER, NOTE_FFCTRLMASK = consts.NOTE_FFCTRLMASK, NOTE_FFLAGSMASK = consts.NOTE_FFLAGSMASK;
const NOTE_FFAND = consts.NOTE_FFAND, NOTE_FFOR = consts.NOTE_FFOR, NOTE_FFCOPY = consts.NOTE_FFCOPY;

/** Applies the NOTE_FF* control of `given` to the stored fflags; returns the given flags masked. */
function combine(kn: number, given: number): number {
  const bits = given & NOTE_FFLAGSMASK;
  // NOTE_FFNOP, the common trigger, here; the others out of line (knote.ts hi32: V8's inlining budget).
  if ((given & NOTE_FFCTRLMASK) === 0) return bits;
  combine_ctrl(kn, (given & NOTE_FFCTRLMASK) >>> 0, bits);
  return bits;
}
function combine_ctrl(kn: number, ctrl: number, bits: number): void {
  const m = I32;
  const cur = m[kn + K.fflags]!;
  if (ctrl === NOTE_FFAND) m[kn + K.fflags] = cur & bits;
  else if (ctrl === NOTE_FFOR) m[kn + K.fflags] = cur | bits;
  else if (ctrl === NOTE_FFCOPY) m[kn + K.fflags] = bits;
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
      const m = I32;
      const ff = kev.fflags >>> 0;
      if ((ff & NOTE_TRIGGER) !== 0) m[kn + K.hook] = 1;
      kev.fflags = combine(kn, ff);
      // EV_CLEAR on a modify un-triggers (Apple/FreeBSD compatibility); it
      // clears data but leaves fflags to NOTE_FFAND / NOTE_FFCOPY.
      if ((kev.flags & EV_CLEAR) !== 0) { m[kn + K.hook] = 0; F64[(kn + K.data) >> 1] = 0; }
      else F64[(kn + K.data) >> 1] = kev.data;
      return;
    }
    // The knote's own EV_CLEAR un-triggers it on retrieval; the scan clears data and fflags.
    if ((I32[kn + K.flags] & EV_CLEAR) !== 0) I32[kn + K.hook] = 0;
  },
});
