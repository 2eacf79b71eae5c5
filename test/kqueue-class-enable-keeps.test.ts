/**
 * KQueue#enable / #disable / #modify keep the filter parameters (fflags,
 * data) the object registered. kevent stores a change's fflags and data in
 * an existing knote whatever else the change asks (the seed's
 * kqueue_register), and enable() and disable() sent zeros: a 100 ms
 * EVFILT_TIMER came back with a period of 0 (firing at once and on), a
 * vnode watch for NOTE_WRITE came back watching no note (no later write was
 * reported). The sys layer keeps the seed's rule (kevent-timer.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, appendFileSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from '../src/sys/index.js';
import { KQueue } from '../src/ukern/kqueue.js';

const { EVFILT_TIMER, EVFILT_VNODE, NOTE_WRITE, EV_ONESHOT } = sys;

test('a 100 ms timer disabled and enabled again keeps its period', async () => {
  const kq = new KQueue();
  try {
    kq.register(1, EVFILT_TIMER, { data: 100 });
    kq.disable(1, EVFILT_TIMER);
    kq.enable(1, EVFILT_TIMER);
    // With its period reset to 0 it fired at once; with 100 ms, nothing in 30 ms.
    assert.deepEqual(await kq.wait({ timeout: 30 }), [], 'the period was reset by enable/disable');
    const evs = await kq.wait({ timeout: 5000 });
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.ident, 1);
    // modify() of the data alone keeps it too (fflags: the unit, none given here).
    kq.modify(1, EVFILT_TIMER, { data: 150 });
    kq.disable(1, EVFILT_TIMER); kq.enable(1, EVFILT_TIMER);
    assert.deepEqual(await kq.wait({ timeout: 30 }), [], 'modify({ data }) then enable kept 150 ms');
  } finally { kq.close(); }
});

test('a vnode watch for NOTE_WRITE disabled and enabled again still reports the next write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-kq-enable-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'a');
  const fd = openSync(path, 'r');
  const kq = new KQueue();
  try {
    kq.register(fd, EVFILT_VNODE, { fflags: NOTE_WRITE });
    kq.disable(fd, EVFILT_VNODE);
    kq.enable(fd, EVFILT_VNODE);
    appendFileSync(path, 'b');
    const evs = await kq.wait({ timeout: 5000 });
    assert.equal(evs.length, 1, 'the watch lost its notes at enable/disable');
    assert.equal(evs[0]!.fflags & NOTE_WRITE, NOTE_WRITE);
  } finally { kq.close(); closeSync(fd); rmSync(dir, { recursive: true, force: true }); }
});

test('an EV_ONESHOT knote taken through the object is forgotten: a later enable of that ident gets ENOENT, as before', async () => {
  const kq = new KQueue();
  try {
    kq.register(7, EVFILT_TIMER, { data: 1, flags: EV_ONESHOT });
    assert.equal((await kq.wait({ timeout: 5000 })).length, 1);
    assert.throws(() => kq.enable(7, EVFILT_TIMER), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
  } finally { kq.close(); }
});
