/**
 * EVFILT_USER: events triggered by user code (the seed's filt_user*).
 * `hook` holds whether the event is triggered; fflags combine by the
 * NOTE_FF* control in the top two bits of the given fflags; data is copied
 * from every change (undocumented, as the seed says, but relied upon).
 * A modify does not change udata.
 */
import { I32, F64 } from '../../kern/kmem.js';
import { kn_sdata, kn_setdata, KO } from '../knote.js';
import * as filter from '../filter.js';
import { filter_register, type kevent_t } from '../filter.js';
import * as consts from '../consts.js';
import { EVFILT_USER } from '../consts.js';

// Module-local copies of the offsets and bits a trigger uses (see scan.ts):
// optimised code reads an imported binding through its module cell, with a
// hole check, on every use; a local const is folded in as a constant.
const EVENT_REGISTER = filter.EVENT_REGISTER, EV_CLEAR = consts.EV_CLEAR;
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
  const cur = m[kn + KO.fflags]!;
  if (ctrl === NOTE_FFAND) m[kn + KO.fflags] = cur & bits;
  else if (ctrl === NOTE_FFOR) m[kn + KO.fflags] = cur | bits;
  else if (ctrl === NOTE_FFCOPY) m[kn + KO.fflags] = bits;
}

/** A change to an existing user knote (touch EVENT_REGISTER): NOTE_TRIGGER, the fflags control, data. */
function user_modify(kn: number, kev: kevent_t): void {
  const m = I32;
  const ff = kev.fflags >>> 0;
  if ((ff & NOTE_TRIGGER) !== 0) m[kn + KO.hook] = 1;
  // combine() but for NOTE_FFNOP, the common trigger, tested here.
  kev.fflags = (ff & NOTE_FFCTRLMASK) === 0 ? ff & NOTE_FFLAGSMASK : combine(kn, ff);
  // EV_CLEAR on a modify un-triggers (Apple/FreeBSD compatibility); it
  // clears data but leaves fflags to NOTE_FFAND / NOTE_FFCOPY.
  if ((kev.flags & EV_CLEAR) !== 0) { m[kn + KO.hook] = 0; F64[(kn + KO.data) >> 1] = 0; }
  else F64[(kn + KO.data) >> 1] = kev.data;
}

filter_register(EVFILT_USER, {
  name: 'user',
  attach(kn) {
    const sf = I32[kn + KO.sfflags] >>> 0;
    I32[kn + KO.hook] = (sf & NOTE_TRIGGER) !== 0 ? 1 : 0;
    I32[kn + KO.sfflags] = combine(kn, sf);
    kn_setdata(kn, kn_sdata(kn));
    return 0;
  },
  detach() {},
  event(kn) { return I32[kn + KO.hook] !== 0; },
  // The two halves are apart so that the register path (a trigger) and the
  // scan each inline only their own (knote.ts KO: V8's inlining budget).
  touch(kn, kev: kevent_t, type) {
    if (type === EVENT_REGISTER) user_modify(kn, kev);
    // The knote's own EV_CLEAR un-triggers it on retrieval; the scan clears data and fflags.
    else if ((I32[kn + KO.flags]! & EV_CLEAR) !== 0) I32[kn + KO.hook] = 0;
  },
});
