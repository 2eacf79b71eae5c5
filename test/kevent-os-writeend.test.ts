/**
 * EVFILT_READ on a pipe's write end: never readable (a read of it is
 * EBADF, its poll has no POLLIN), so its knote never reports the pipe's
 * bytes as readable. FIONREAD counts the pipe's bytes at either end, and
 * the read filter took that count as the bytes readable whenever a
 * dispatched event of the source was at hand (os.ts: the count instead of
 * a poll): once the reader went (the write end's POLLERR, an event of the
 * source), the write end's READ knote fired with data = the bytes left in
 * the pipe.
 *
 * Deterministic: the write end's EV_CLEAR WRITE knote reports EV_EOF only
 * after the source's event of the reader's close was dispatched, which is
 * the event the READ knote's evaluation then meets; the READ knote is
 * EV_ONESHOT, so the scan returns what that evaluation decided.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_CLEAR, EV_ONESHOT, EV_EOF } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('a pipe\'s write end, its reader gone with bytes left: a READ knote does not report them as readable', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  kevent(kq, [EV_SET(w, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
  const end = Date.now() + 5000;
  while (kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 20e6 }).length === 0) assert.ok(Date.now() < end, 'the write end writable within 5 s');
  writeSync(w, 'abc'); // left in the pipe, never read
  close(r);
  for (;;) {
    const ev = kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 20e6 });
    if (ev.some((e) => e.filter === EVFILT_WRITE && (e.flags & EV_EOF) !== 0)) break;
    assert.ok(Date.now() < end, 'the write end\'s EV_EOF within 5 s');
  }
  const ev = kevent(kq, [EV_SET(w, EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, 0)], 8, ZERO);
  assert.deepEqual(ev.filter((e) => e.filter === EVFILT_READ), [], 'nothing is readable on a write end');
  close(kq); close(w);
});
