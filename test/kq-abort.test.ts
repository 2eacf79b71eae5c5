/**
 * kevent_async and its AbortSignal when user code the call runs (a getter of
 * the timeout or of a changelist entry, read at copy-in) aborts the signal:
 * the call hands a kqueue lock and reference to its sleeping half, which
 * must release them however the sleep ends, also when it never starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { AbortError } from '../src/kern/errno.js';

const { EV_SET, EVFILT_USER, EV_ADD, EV_CLEAR, NOTE_TRIGGER } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const locks_held = (): number => I32[cur.nlocksw]!;
const is_abort = (e: unknown): boolean => e instanceof AbortError;

test('kevent_async: a signal aborted during copy-in rejects with AbortError and leaves no kqueue lock or reference held', async () => {
  const kq = sys.kqueue();
  const before = locks_held();
  const inuse = kstat_snapshot('kqueue')['kqueue.kqueues_in_use']!;
  const ac = new AbortController();
  const timeout = { get tv_sec() { ac.abort(new Error('from the getter')); return 5; }, tv_nsec: 0 };
  await assert.rejects(sys.kevent_async(kq, null, 1, timeout, { signal: ac.signal }), is_abort);
  // Checked before anything takes the lock again: a leaked one would be a
  // self-deadlock (a kernel panic) at this thread's next kevent on kq.
  assert.equal(locks_held(), before, 'the kqueue lock was released');
  // The kqueue still works, and its memory goes with its descriptor (no reference left).
  sys.kevent(kq, [EV_SET(1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
  sys.kevent(kq, [EV_SET(1, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0)], 0, ZERO);
  assert.equal(sys.kevent(kq, null, 4, ZERO).length, 1);
  sys.close(kq);
  assert.equal(kstat_snapshot('kqueue')['kqueue.kqueues_in_use']!, inuse - 1, 'the kqueue was freed');
});

test('kevent_async: the same abort from a changelist entry\'s getter', async () => {
  const kq = sys.kqueue();
  const before = locks_held();
  const ac = new AbortController();
  const entry = { ident: 1, filter: EVFILT_USER, get flags() { ac.abort(); return EV_ADD; }, fflags: 0, data: 0, udata: 0 };
  await assert.rejects(sys.kevent_async(kq, [entry], 1, null, { signal: ac.signal }), is_abort);
  assert.equal(locks_held(), before, 'the kqueue lock was released');
  sys.close(kq);
});
