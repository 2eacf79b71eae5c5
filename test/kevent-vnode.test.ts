/**
 * EVFILT_VNODE on real temp files and directories: the cases of libkqueue's
 * test/vnode.c (add, note_write, note_attrib, note_rename, note_delete, del,
 * disable/enable, dispatch) and FreeBSD tests/sys/kqueue's vnode cases
 * (extend, link, directory writes), with the DragonFly NOTE_* values the
 * contract pins; that only the requested notes come back and accumulate
 * until retrieved; that the watch follows the open file through renames and
 * unlinks (a descriptor, never a path); every errno path; close(fd) through
 * the kernel; a descriptor closed behind the kernel's back and its number
 * reused; one host watch shared by knotes on one inode. Events come from
 * the intr thread: each wait has a deadline (kevent's timeout), never a
 * sleep-and-hope; "nothing came" is a poll after a later event that did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, tmpdir } from 'node:os';
import fs from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe, high, reuse_as } from './fixtures/osfd.js';

const {
  EV_SET, kevent, kqueue, close, EVFILT_VNODE, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR,
  EV_DISPATCH, EV_RECEIPT, EV_ERROR, NOTE_DELETE, NOTE_WRITE, NOTE_EXTEND, NOTE_ATTRIB, NOTE_LINK, NOTE_RENAME,
} = sys;
const E = constants.errno;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };
const ALL = NOTE_DELETE | NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK | NOTE_RENAME;
const vn = (fd: number, flags: number, fflags = ALL, udata = 0) => EV_SET(fd, EVFILT_VNODE, flags, fflags, 0, udata);
const change = (kq: number, ...c: sys.kevent_t[]) => assert.deepEqual(kevent(kq, c, 0, ZERO), []);
const errOf = (kq: number, c: sys.kevent_t) => kevent(kq, [c], 1, ZERO)[0]!;
const wait = (kq: number) => kevent(kq, null, 8, SOON);
const poll = (kq: number) => kevent(kq, null, 8, ZERO);
const ino = (k: string) => sys.kstat('inotify')[`inotify.${k}`]!;

function tmp(): string { return fs.mkdtempSync(join(tmpdir(), 'ukern-vnode-')); }
/** A temp file with content, opened read-write: [dir, path, fd]. */
function file(content = 'x'): [string, string, number] {
  const d = tmp(), p = join(d, 'f');
  fs.writeFileSync(p, content);
  return [d, p, fs.openSync(p, 'r+')];
}
/** Waits for one event and returns its fflags (with a deadline: none is a failure). */
function fflags(kq: number): number {
  const ev = wait(kq);
  assert.equal(ev.length, 1, 'one event within 5 s');
  assert.equal(ev[0]!.filter, EVFILT_VNODE);
  return ev[0]!.fflags;
}
/**
 * For a level-triggered knote that is reporting already: polls (1 ms
 * apart, 5 s deadline) until its report says `want`. A wait would return
 * the old report at once, before the intr thread has read the new event.
 */
function fflags_until(kq: number, want: number): number {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + 5000;
  let got = -1;
  do {
    const ev = poll(kq);
    assert.equal(ev.length, 1, 'the knote still reports');
    got = ev[0]!.fflags;
    if (got === want) break;
    Atomics.wait(nap, 0, 0, 1);
  } while (Date.now() < end);
  return got;
}
/**
 * Proves nothing is pending for kq's vnode knote on `fd` by making an event
 * on a second, probe file watched by the same kqueue, waiting for it, and
 * then polling: the intr thread reads events in order, so an event of the
 * first file that was due came before the probe's.
 */
function nothing_pending(kq: number): void {
  const [d, , pfd] = file();
  change(kq, vn(pfd, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 999));
  fs.fchmodSync(pfd, 0o600);
  const ev = wait(kq);
  assert.deepEqual(ev.map((e) => e.udata), [999], 'only the probe reported');
  assert.deepEqual(poll(kq), []);
  close(pfd);
  fs.rmSync(d, { recursive: true });
}

test('EV_ADD on an open file: nothing until something happens; EV_RECEIPT says 0', () => {
  const [d, , fd] = file();
  const kq = kqueue();
  assert.deepEqual(kevent(kq, [vn(fd, EV_ADD | EV_RECEIPT)], 1, ZERO), [
    { ident: fd, filter: EVFILT_VNODE, flags: EV_ERROR, fflags: 0, data: 0, udata: 0 },
  ]);
  assert.deepEqual(poll(kq), []);
  assert.equal(ino('watchers'), 1);
  close(kq); close(fd);
  assert.equal(ino('watchers'), 0, 'the watcher released with the knote');
  assert.equal(ino('watches'), 0, 'and the host watch');
  fs.rmSync(d, { recursive: true });
});

test('NOTE_WRITE | NOTE_EXTEND on an append; only the requested notes are returned', () => {
  const [d, p, fd] = file();
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR, ALL, 7));
  fs.appendFileSync(p, 'more');
  assert.deepEqual(wait(kq), [{ ident: fd, filter: EVFILT_VNODE, flags: EV_ADD | EV_CLEAR, fflags: NOTE_WRITE | NOTE_EXTEND, data: 0, udata: 7 }]);
  // Only NOTE_WRITE asked for: NOTE_EXTEND is not reported.
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE, 7));
  fs.appendFileSync(p, 'more');
  assert.equal(fflags(kq), NOTE_WRITE);
  // Overwriting in place: a write that does not extend.
  change(kq, vn(fd, EV_ADD | EV_CLEAR, ALL, 7));
  fs.writeSync(fd, 'y', 0);
  assert.equal(fflags(kq), NOTE_WRITE);
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test('NOTE_ATTRIB on chmod and utimes; a knote not asking for it hears nothing', () => {
  const [d, p, fd] = file();
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_ATTRIB));
  fs.chmodSync(p, 0o640);
  assert.equal(fflags(kq), NOTE_ATTRIB);
  fs.utimesSync(p, 1000, 2000);
  assert.equal(fflags(kq), NOTE_ATTRIB);
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE));
  fs.chmodSync(p, 0o600);
  nothing_pending(kq);
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test('NOTE_RENAME on rename; the knote follows the open file, not the path', () => {
  const [d, p, fd] = file();
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR));
  fs.renameSync(p, join(d, 'g'));
  assert.equal(fflags(kq), NOTE_RENAME);
  // A new file at the old path is not ours; the renamed one still is.
  fs.writeFileSync(p, 'other');
  fs.appendFileSync(join(d, 'g'), 'z');
  assert.equal(fflags(kq), NOTE_WRITE | NOTE_EXTEND);
  nothing_pending(kq);
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test('NOTE_LINK on link(), NOTE_DELETE when the last name goes (the descriptor keeps the file open)', () => {
  const [d, p, fd] = file();
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR));
  fs.linkSync(p, join(d, 'h'));
  assert.equal(fflags(kq), NOTE_LINK | NOTE_ATTRIB);
  fs.unlinkSync(join(d, 'h'));
  assert.equal(fflags(kq), NOTE_LINK | NOTE_ATTRIB);
  fs.unlinkSync(p);
  assert.equal(fflags(kq), NOTE_DELETE | NOTE_ATTRIB);
  // Only NOTE_DELETE asked for: exactly that.
  const [d2, p2, fd2] = file();
  change(kq, vn(fd2, EV_ADD, NOTE_DELETE, 2));
  fs.unlinkSync(p2);
  assert.deepEqual(wait(kq).map((e) => [e.ident, e.fflags]), [[fd2, NOTE_DELETE]]);
  // The deleted file can still be written through the descriptor: still watched.
  change(kq, vn(fd2, EV_DELETE));
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE));
  fs.writeSync(fd, 'after unlink');
  assert.equal(fflags(kq), NOTE_WRITE);
  close(kq); close(fd); close(fd2);
  fs.rmSync(d, { recursive: true }); fs.rmSync(d2, { recursive: true });
});

test('a directory: entries created, removed, renamed are NOTE_WRITE; a subdirectory is NOTE_LINK too', () => {
  const d = tmp();
  const fd = fs.openSync(d, 'r');
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE | NOTE_LINK));
  fs.writeFileSync(join(d, 'a'), '');
  assert.equal(fflags(kq), NOTE_WRITE);
  fs.renameSync(join(d, 'a'), join(d, 'b'));
  assert.equal(fflags(kq), NOTE_WRITE);
  fs.unlinkSync(join(d, 'b'));
  assert.equal(fflags(kq), NOTE_WRITE);
  fs.mkdirSync(join(d, 'sub'));
  assert.equal(fflags(kq), NOTE_WRITE | NOTE_LINK);
  fs.rmdirSync(join(d, 'sub'));
  assert.equal(fflags(kq), NOTE_WRITE | NOTE_LINK);
  // A child's own changes are not the directory's (inotify reports them on its watch, named).
  fs.writeFileSync(join(d, 'c'), '');
  assert.equal(fflags(kq), NOTE_WRITE);
  change(kq, vn(fd, EV_ADD | EV_CLEAR, ALL));
  fs.appendFileSync(join(d, 'c'), 'data');
  fs.chmodSync(join(d, 'c'), 0o600);
  nothing_pending(kq);
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test("a read of one event alone: a child's own change, named on the directory's watch, is not the directory's", () => {
  const d = tmp();
  fs.writeFileSync(join(d, 'c'), '');
  const fd = fs.openSync(d, 'r'), cfd = fs.openSync(join(d, 'c'), 'a');
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR, ALL));
  // One write, then wait until the instance was read (the intr thread or a
  // bridge): that read held this one event alone (inotify's single-event
  // path), which must come to nothing.
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 3; i++) {
    const before = ino('events');
    fs.writeSync(cfd, 'data');
    for (const end = Date.now() + 5000; ino('events') === before && Date.now() < end;) Atomics.wait(nap, 0, 0, 1);
    assert.ok(ino('events') > before, 'the event was read');
    assert.deepEqual(poll(kq), [], 'nothing for the directory');
  }
  // The same directory still hears its own entries, alone in a read too.
  const before = ino('events');
  fs.writeFileSync(join(d, 'e'), '');
  assert.equal(fflags(kq), NOTE_WRITE);
  assert.ok(ino('events') > before);
  close(kq); close(fd); fs.closeSync(cfd);
  fs.rmSync(d, { recursive: true });
});

test('without EV_CLEAR the notes stay and accumulate; EV_CLEAR clears them when reported', () => {
  const [d, p, fd] = file();
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD, NOTE_WRITE | NOTE_ATTRIB));
  fs.appendFileSync(p, '1');
  assert.equal(fflags(kq), NOTE_WRITE);
  assert.equal(poll(kq)[0]?.fflags, NOTE_WRITE, 'level: still reported');
  fs.chmodSync(p, 0o600);
  assert.equal(fflags_until(kq, NOTE_WRITE | NOTE_ATTRIB), NOTE_WRITE | NOTE_ATTRIB, 'accumulated');
  change(kq, vn(fd, EV_DELETE));
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE | NOTE_ATTRIB));
  fs.appendFileSync(p, '2');
  fs.chmodSync(p, 0o640);
  // Both may come in one report or two; together they are exactly the two notes.
  let seen = fflags(kq);
  if (seen !== (NOTE_WRITE | NOTE_ATTRIB)) seen |= fflags(kq);
  assert.equal(seen, NOTE_WRITE | NOTE_ATTRIB);
  nothing_pending(kq);
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test('EV_ONESHOT: reported once, then gone (EV_DELETE: ENOENT)', () => {
  const [d, p, fd] = file();
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_ONESHOT, NOTE_WRITE));
  fs.appendFileSync(p, '1');
  assert.equal(fflags(kq), NOTE_WRITE);
  assert.equal(errOf(kq, vn(fd, EV_DELETE)).data, E.ENOENT);
  assert.equal(ino('watchers'), 0);
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test('EV_DISABLE / EV_ENABLE and EV_DISPATCH: notes of a disabled knote wait for its enable', () => {
  const [d, p, fd] = file();
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR | EV_DISABLE, NOTE_WRITE));
  fs.appendFileSync(p, '1');
  nothing_pending(kq);
  change(kq, vn(fd, EV_ENABLE, NOTE_WRITE));
  assert.equal(fflags(kq), NOTE_WRITE);
  change(kq, vn(fd, EV_DELETE));
  change(kq, vn(fd, EV_ADD | EV_CLEAR | EV_DISPATCH, NOTE_WRITE));
  fs.appendFileSync(p, '2');
  assert.equal(fflags(kq), NOTE_WRITE);
  fs.appendFileSync(p, '3');
  nothing_pending(kq);
  change(kq, vn(fd, EV_ENABLE, NOTE_WRITE));
  assert.equal(fflags(kq), NOTE_WRITE, 'the write while dispatched-off, on enable');
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test('EV_DELETE: no event afterwards; watches shared per inode and released at the last', () => {
  const [d, p, fd] = file();
  const fd2 = fs.openSync(p, 'r');
  const kq = kqueue(), kq2 = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE, 1));
  change(kq2, vn(fd2, EV_ADD | EV_CLEAR, NOTE_WRITE, 2));
  assert.equal(ino('watches'), 1, 'one host watch for the inode');
  assert.equal(ino('watchers'), 2);
  fs.appendFileSync(p, '1');
  assert.equal(wait(kq)[0]!.udata, 1);
  assert.equal(wait(kq2)[0]!.udata, 2);
  change(kq, vn(fd, EV_DELETE));
  assert.equal(ino('watches'), 1);
  fs.appendFileSync(p, '2');
  assert.equal(wait(kq2)[0]!.udata, 2);
  nothing_pending(kq);
  change(kq2, vn(fd2, EV_DELETE));
  assert.equal(ino('watches'), 0);
  close(kq); close(kq2); close(fd); close(fd2);
  fs.rmSync(d, { recursive: true });
});

test('errno paths: EBADF (not open), EINVAL (a pipe, a kernel descriptor), ENOENT (EV_DELETE of none)', () => {
  const kq = kqueue();
  const [d, , fd] = file();
  const [r, w] = pipe();
  assert.equal(errOf(kq, vn(1 << 20, EV_ADD)).data, E.EBADF);
  assert.equal(errOf(kq, vn(1 << 20, EV_DELETE)).data, E.EBADF);
  assert.equal(errOf(kq, vn(r, EV_ADD)).data, E.EINVAL);
  assert.equal(errOf(kq, vn(kq, EV_ADD)).data, E.EINVAL);
  assert.equal(errOf(kq, vn(fd, EV_DELETE)).data, E.ENOENT);
  assert.throws(() => kevent(kq, [vn(1 << 20, EV_ADD)], 0, ZERO), { code: 'EBADF' });
  assert.equal(ino('watchers'), 0, 'nothing held by a refused change');
  close(kq); close(fd); close(r); close(w);
  fs.rmSync(d, { recursive: true });
});

test('close(fd) through the kernel drops the knote: EV_DELETE is then EBADF', () => {
  const [d, p, fd0] = file();
  const fd = high(fd0); // a number nobody else takes once closed
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE));
  close(fd);
  assert.equal(ino('watchers'), 0);
  assert.equal(errOf(kq, vn(fd, EV_DELETE)).data, E.EBADF);
  fs.appendFileSync(p, 'x');
  nothing_pending(kq);
  close(kq);
  fs.rmSync(d, { recursive: true });
});

test('a descriptor closed behind the kernel and its number reused: never an event for the new file', () => {
  const [d, p, fd0] = file();
  const fd = high(fd0);
  const kq = kqueue();
  change(kq, vn(fd, EV_ADD | EV_CLEAR, NOTE_WRITE | NOTE_ATTRIB));
  fs.closeSync(fd);
  const q = join(d, 'other');
  fs.writeFileSync(q, '');
  // The number reused by another file, as the host would give it to the
  // next open; done with dup3 because another thread could take it first.
  const fd2 = reuse_as(fd, fs.openSync(q, 'r+'));
  fs.appendFileSync(q, 'new file');
  fs.appendFileSync(p, 'old file, closed');
  nothing_pending(kq);
  // The change finds the knote gone: ENOENT; a new knote watches the new file.
  assert.equal(errOf(kq, vn(fd, EV_DELETE)).data, E.ENOENT);
  change(kq, vn(fd2, EV_ADD | EV_CLEAR, NOTE_WRITE));
  fs.appendFileSync(q, 'new');
  assert.equal(fflags(kq), NOTE_WRITE);
  close(kq); close(fd2);
  assert.equal(ino('watchers'), 0);
  fs.rmSync(d, { recursive: true });
});
