/**
 * Model-based test of EVFILT_USER: random sequences of changes (every
 * combination of EV_ADD / EV_DELETE / EV_ENABLE / EV_DISABLE / EV_ONESHOT /
 * EV_CLEAR / EV_DISPATCH, every NOTE_FF* control, NOTE_TRIGGER) and polls
 * of random sizes, checked step by step against a small model written from
 * the seed (kqueue_register, kqueue_scan, filt_userattach, filt_usertouch).
 * fast-check shrinks a failure to a minimal sequence and prints its seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as sys from 'ukern/sys';

const { EV_SET, kevent, EVFILT_USER, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_DISPATCH } = sys;
const { NOTE_TRIGGER, NOTE_FFCTRLMASK, NOTE_FFLAGSMASK, NOTE_FFAND, NOTE_FFOR, NOTE_FFCOPY } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

interface MKnote { flags: number; hook: boolean; fflags: number; data: number; udata: number; active: boolean; queued: boolean; disabled: boolean }

/** The seed's semantics for EVFILT_USER knotes of one kqueue. */
class Model {
  knotes = new Map<number, MKnote>();
  queue: number[] = [];

  private combine(kn: MKnote, given: number): void {
    const ctrl = (given & NOTE_FFCTRLMASK) >>> 0, bits = given & NOTE_FFLAGSMASK;
    if (ctrl === NOTE_FFAND) kn.fflags &= bits;
    else if (ctrl === NOTE_FFOR) kn.fflags |= bits;
    else if (ctrl === NOTE_FFCOPY) kn.fflags = bits;
  }
  private activate(id: number, kn: MKnote): void {
    kn.active = true;
    if (!kn.queued && !kn.disabled) { kn.queued = true; this.queue.push(id); }
  }
  private drop(id: number): void {
    this.knotes.delete(id);
    this.queue = this.queue.filter((x) => x !== id);
  }
  /** Returns an error code or null. */
  change(id: number, flags: number, fflags: number, data: number, udata: number): string | null {
    let kn = this.knotes.get(id);
    if (kn === undefined && (flags & EV_ADD) === 0) return 'ENOENT';
    if ((flags & EV_ADD) !== 0 || (flags & EV_DELETE) === 0) {
      if (kn === undefined) {
        kn = { flags, hook: (fflags & NOTE_TRIGGER) !== 0, fflags: 0, data, udata, active: false, queued: false, disabled: false };
        this.combine(kn, fflags);
        this.knotes.set(id, kn);
      } else {
        if ((fflags & NOTE_TRIGGER) !== 0) kn.hook = true;
        this.combine(kn, fflags);
        kn.data = data;
        if ((flags & EV_CLEAR) !== 0) { kn.hook = false; kn.data = 0; }
      }
      if (kn.hook) this.activate(id, kn);
    } else {
      this.drop(id);
      return null;
    }
    if ((flags & EV_DISABLE) !== 0) kn.disabled = true;
    if ((flags & EV_ENABLE) !== 0 && kn.disabled) {
      kn.disabled = false;
      if (kn.active && !kn.queued) { kn.queued = true; this.queue.push(id); }
    }
    return null;
  }
  poll(max: number): sys.kevent_t[] {
    const out: sys.kevent_t[] = [];
    let left = this.queue.length;
    while (out.length < max && left-- > 0) {
      const id = this.queue.shift()!;
      const kn = this.knotes.get(id)!;
      if (kn.disabled) { kn.queued = false; continue; }
      if ((kn.flags & EV_ONESHOT) === 0 && !kn.hook) { kn.queued = false; kn.active = false; continue; }
      out.push({ ident: id, filter: EVFILT_USER, flags: kn.flags, fflags: kn.fflags >>> 0, data: kn.data, udata: kn.udata });
      if ((kn.flags & EV_CLEAR) !== 0) kn.hook = false;
      if ((kn.flags & EV_ONESHOT) !== 0) { kn.queued = false; this.drop(id); }
      else if ((kn.flags & (EV_CLEAR | EV_DISPATCH)) !== 0) {
        if ((kn.flags & EV_CLEAR) !== 0) { kn.data = 0; kn.fflags = 0; }
        if ((kn.flags & EV_DISPATCH) !== 0) kn.disabled = true;
        kn.queued = false; kn.active = false;
      } else {
        this.queue.push(id);
      }
    }
    return out;
  }
}

type Op = { t: 'change'; id: number; flags: number; fflags: number; data: number; udata: number } | { t: 'poll'; max: number };

const flagBits = [EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_DISPATCH];
const arbFlags = fc.subarray(flagBits).map((a) => a.reduce((x, y) => x | y, 0));
const arbFflags = fc.tuple(fc.constantFrom(0, NOTE_FFAND, NOTE_FFOR, NOTE_FFCOPY), fc.integer({ min: 0, max: 15 }), fc.boolean())
  .map(([ctrl, bits, trig]) => (ctrl | bits | (trig ? NOTE_TRIGGER : 0)) >>> 0);
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('change' as const), id: fc.integer({ min: 0, max: 3 }), flags: arbFlags, fflags: arbFflags,
    data: fc.integer({ min: 0, max: 9 }), udata: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('poll' as const), max: fc.integer({ min: 1, max: 5 }) }) },
);

test('EVFILT_USER behaves as the seed\'s model under random changes and polls', () => {
  fc.assert(fc.property(fc.array(arbOp, { maxLength: 60 }), (ops) => {
    const kq = sys.kqueue();
    const m = new Model();
    try {
      for (const op of ops) {
        if (op.t === 'poll') {
          assert.deepEqual(kevent(kq, null, op.max, ZERO), m.poll(op.max));
          continue;
        }
        const want = m.change(op.id, op.flags, op.fflags, op.data, op.udata);
        let got: string | null = null;
        try { kevent(kq, [EV_SET(op.id, EVFILT_USER, op.flags, op.fflags, op.data, op.udata)], 0, ZERO); } catch (e) {
          got = (e as sys.SysError).code;
        }
        assert.equal(got, want);
      }
      assert.deepEqual(kevent(kq, null, 64, ZERO), m.poll(64));
    } finally {
      sys.close(kq);
    }
  }), { numRuns: 400 });
});
