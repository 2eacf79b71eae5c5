/**
 * A descriptor closed behind the kernel's back (fs.closeSync, not close()
 * of ukern/sys): its knotes go at their next event (sys.md, "OS event
 * sources": "its knotes and associations go at their next event or
 * change"), with what they hold (the intr source, an EVFILT_VNODE knote's
 * inotify watch). They used to go only at a change naming them or the
 * kqueue's close: until then an EVFILT_VNODE knote kept its watch on the
 * file, whose every event came back to it for nothing, and a knote of a
 * descriptor whose open file lived on through a dup was activated by each
 * of that file's events and counted against kq_knotes_max.
 *
 * The next event is the host's: each case waits for its effect (the
 * kernel's counters) with a 5 s deadline, driving kevent calls meanwhile
 * (the scan is where a READ knote is evaluated), never a sleep-and-hope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe, high, dup } from './fixtures/osfd.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_WRITE, EVFILT_VNODE, EV_ADD, EV_CLEAR, NOTE_WRITE } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const knotes = (): number => sys.kstat('kqueue')['kqueue.knotes_in_use']!;
const watchers = (): number => sys.kstat('inotify')['inotify.watchers']!;
const sources = (): number => sys.kstat('intr')['intr.sources']!;

/** Runs kevent on kq (20 ms waits) until ok() holds; fails after 5 s. Returns the events seen meanwhile. */
function until(kq: number, ok: () => boolean, what: string): sys.kevent_t[] {
  const end = Date.now() + 5000, seen: sys.kevent_t[] = [];
  while (!ok()) {
    if (Date.now() > end) assert.fail(`${what}: not within 5 s`);
    seen.push(...kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 20e6 }));
  }
  return seen;
}

test('EVFILT_VNODE: the file\'s next event drops the knote of a descriptor closed behind the kernel\'s back, and its watch', () => {
  const d = fs.mkdtempSync(join(tmpdir(), 'ukern-gone-')), p = join(d, 'f');
  fs.writeFileSync(p, 'x');
  const fd = high(fs.openSync(p, 'r'));
  const kq = kqueue();
  const k0 = knotes(), w0 = watchers();
  kevent(kq, [EV_SET(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, 0)], 0, ZERO);
  assert.equal(knotes(), k0 + 1);
  assert.equal(watchers(), w0 + 1);
  fs.closeSync(fd); // behind the kernel's back
  fs.appendFileSync(p, 'written through another open'); // the watched file's next event
  const seen = until(kq, () => watchers() === w0 && knotes() === k0, 'the knote and its inotify watcher dropped');
  assert.deepEqual(seen, [], 'and never an event');
  close(kq);
  fs.rmSync(d, { recursive: true });
});

for (const filter of [EVFILT_READ, EVFILT_WRITE]) {
  const name = filter === EVFILT_READ ? 'EVFILT_READ' : 'EVFILT_WRITE';
  test(`${name}: the next event drops the knote of a descriptor closed behind the kernel's back while a dup keeps its file open`, () => {
    const [r0, w0] = pipe();
    const r = high(r0), w = high(w0);
    const fd = filter === EVFILT_READ ? r : w;
    // A dup keeps the open file, and so its epoll registration, alive once
    // the number is closed: the host goes on reporting the file's events.
    const keep = dup(fd);
    const kq = kqueue();
    const k0 = knotes(), s0 = sources();
    kevent(kq, [EV_SET(fd, filter, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
    if (filter === EVFILT_WRITE) fs.writeSync(w, Buffer.alloc(65536)); // full: the next event is space freed
    assert.equal(knotes(), k0 + 1);
    assert.equal(sources(), s0 + 1);
    kevent(kq, null, 8, ZERO); // (the registration's own report, if any)
    fs.closeSync(fd); // behind the kernel's back
    // The file's next event: bytes arriving, or space freed by the reader.
    if (filter === EVFILT_READ) fs.writeSync(w, 'x'); else fs.readSync(r, Buffer.alloc(65536));
    const seen = until(kq, () => knotes() === k0 && sources() === s0, 'the knote and its intr source dropped');
    assert.deepEqual(seen, [], 'and never an event');
    close(kq);
    fs.closeSync(keep);
    close(filter === EVFILT_READ ? w : r);
  });
}
