/**
 * EVFILT_READ / EVFILT_WRITE on OS descriptors: real pipes, FIFOs, Unix
 * socket pairs (stream and datagram), a listening TCP socket on loopback and
 * temp files (test/fixtures/osfd.ts makes them with the host's calls). The
 * cases follow libkqueue's test/read.c and write.c (add, get, clear,
 * disable/enable, delete, oneshot, dispatch, lowat, eof, listen backlog,
 * regular file), with the values API.md gives; every errno path; close(fd)
 * through the kernel and the closed-and-reused descriptor. Events that need
 * the intr thread are waited for with a deadline, never a sleep.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, tmpdir } from 'node:os';
import { writeSync, readSync, closeSync, openSync, mkdtempSync, rmSync, appendFileSync, truncateSync, constants as F } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import * as sys from 'ukern/sys';
import { pipe, pipe_high, reuse_as, socketpair, tcp_listen, tcp_connect, unix_listen, unix_connect, shutdown, mkfifo, SOCK_DGRAM } from './fixtures/osfd.js';

const {
  EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE,
  EV_ONESHOT, EV_CLEAR, EV_DISPATCH, EV_RECEIPT, EV_ERROR, EV_EOF, NOTE_LOWAT,
} = sys;
const E = constants.errno;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };
const rd = (fd: number, flags: number, fflags = 0, data = 0, udata = 0) => EV_SET(fd, EVFILT_READ, flags, fflags, data, udata);
const wr = (fd: number, flags: number, fflags = 0, data = 0, udata = 0) => EV_SET(fd, EVFILT_WRITE, flags, fflags, data, udata);
function change(kq: number, ...c: sys.kevent_t[]): void { assert.deepEqual(kevent(kq, c, 0, ZERO), []); }
const poll = (kq: number, n = 8) => kevent(kq, null, n, ZERO);
/** Waits (blocking in kevent, with a deadline) for the next events. */
const wait = (kq: number, n = 8) => kevent(kq, null, n, SOON);
/** Waits with a deadline until an event of `filter` is returned (level-triggered others may come first). */
function wait_for(kq: number, filter: number): sys.kevent_t[] {
  const end = Date.now() + 5000;
  for (;;) {
    const ev = kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 20e6 });
    if (ev.some((e) => e.filter === filter)) return ev;
    if (Date.now() > end) assert.fail(`no event of filter ${filter} within 5 s`);
  }
}
const errOf = (kq: number, c: sys.kevent_t) => kevent(kq, [c], 1, ZERO)[0]!;
const put = (fd: number, s: string) => writeSync(fd, s);
const drain = (fd: number) => { const b = Buffer.alloc(1 << 20); try { return readSync(fd, b); } catch { return 0; } };

test('pipe read: no event when empty; data = bytes readable, level-triggered; drained: gone', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  change(kq, rd(r, EV_ADD, 0, 0, 5));
  assert.deepEqual(poll(kq), []);
  put(w, '.');
  assert.deepEqual(wait(kq), [{ ident: r, filter: EVFILT_READ, flags: EV_ADD, fflags: 0, data: 1, udata: 5 }]);
  assert.equal(poll(kq)[0]!.data, 1, 'still readable: reported again');
  put(w, 'ab');
  assert.equal(poll(kq)[0]!.data, 3, 'data follows the bytes');
  drain(r);
  assert.deepEqual(poll(kq), [], 'read empty: no event');
  close(kq); close(r); close(w);
});

test('pipe read: ready before registration reports at once, on the first poll', () => {
  const [r, w] = pipe();
  put(w, 'hello');
  const kq = kqueue();
  assert.deepEqual(kevent(kq, [rd(r, EV_ADD)], 4, ZERO), [{ ident: r, filter: EVFILT_READ, flags: EV_ADD, fflags: 0, data: 5, udata: 0 }]);
  close(kq); close(r); close(w);
});

test('pipe read: EV_EOF when the writer closes, with the bytes left', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  change(kq, rd(r, EV_ADD));
  put(w, 'xy');
  close(w);
  const ev = wait(kq);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.flags, EV_ADD | EV_EOF);
  assert.equal(ev[0]!.data, 2);
  drain(r);
  assert.equal(poll(kq)[0]!.flags & EV_EOF, EV_EOF, 'EOF stays readable with data 0');
  assert.equal(poll(kq)[0]!.data, 0);
  close(kq); close(r);
});

test('pipe read EV_CLEAR: once per arrival, not while the bytes stay', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  change(kq, rd(r, EV_ADD | EV_CLEAR));
  put(w, '..');
  assert.equal(wait(kq)[0]!.data, 2);
  assert.deepEqual(poll(kq), [], 'cleared: the unread bytes do not report again');
  put(w, '.');
  const ev = wait(kq);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.data, 3, 'a new arrival reports, with every unread byte');
  assert.deepEqual(poll(kq), []);
  close(kq); close(r); close(w);
});

test('pipe read EV_ONESHOT, EV_DISPATCH, EV_DISABLE / EV_ENABLE, EV_DELETE', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  put(w, '.');
  change(kq, rd(r, EV_ADD | EV_ONESHOT));
  assert.equal(poll(kq).length, 1);
  assert.deepEqual(poll(kq), []);
  assert.equal(errOf(kq, rd(r, EV_DELETE)).data, E.ENOENT, 'oneshot deleted it');

  change(kq, rd(r, EV_ADD | EV_DISPATCH));
  assert.equal(poll(kq).length, 1);
  assert.deepEqual(poll(kq), [], 'dispatch disabled it');
  change(kq, rd(r, EV_ENABLE));
  assert.equal(poll(kq).length, 1, 'enabled again while readable');

  change(kq, rd(r, EV_DELETE), rd(r, EV_ADD | EV_DISABLE));
  put(w, '.');
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }), [], 'disabled: nothing');
  change(kq, rd(r, EV_ENABLE));
  assert.equal(poll(kq)[0]!.data, 2);
  change(kq, rd(r, EV_DELETE));
  assert.deepEqual(poll(kq), []);
  assert.equal(errOf(kq, rd(r, EV_DELETE)).data, E.ENOENT);
  close(kq); close(r); close(w);
});

test('EV_RECEIPT: an EV_ERROR entry with data 0 for each change', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  assert.deepEqual(kevent(kq, [rd(r, EV_ADD | EV_RECEIPT, 0, 0, 3), wr(w, EV_ADD | EV_RECEIPT)], 4, ZERO), [
    { ident: r, filter: EVFILT_READ, flags: EV_ERROR, fflags: 0, data: 0, udata: 3 },
    { ident: w, filter: EVFILT_WRITE, flags: EV_ERROR, fflags: 0, data: 0, udata: 0 },
  ]);
  close(kq); close(r); close(w);
});

test('NOTE_LOWAT: the read event waits for that many bytes', () => {
  const [a, b] = socketpair();
  const kq = kqueue();
  change(kq, rd(a, EV_ADD, NOTE_LOWAT, 2));
  put(b, '.');
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }), [], 'one byte is under the mark');
  put(b, '.');
  assert.equal(wait(kq)[0]!.data, 2);
  close(kq); close(a); close(b);
});

test('pipe write: data = space left; a full pipe is not writable; EV_EOF when the reader goes', () => {
  const [r, w] = pipe();
  const kq = kqueue();
  const ev = kevent(kq, [wr(w, EV_ADD)], 4, ZERO);
  assert.equal(ev.length, 1);
  const cap = ev[0]!.data;
  assert.ok(cap >= 4096, `capacity ${cap}`);
  put(w, 'abc');
  assert.equal(poll(kq)[0]!.data, cap - 3);
  const big = Buffer.alloc(cap);
  try { writeSync(w, big); } catch { /* EAGAIN once full */ }
  assert.deepEqual(poll(kq), [], 'full: not writable');
  drain(r);
  assert.equal(wait(kq)[0]!.data, cap, 'writable again once read');
  close(r);
  const eof = wait(kq);
  assert.equal(eof[0]!.flags & EV_EOF, EV_EOF);
  assert.equal(eof[0]!.data, 0);
  close(kq); close(w);
});

test('a READ and a WRITE knote on one socket at once', () => {
  const [a, b] = socketpair();
  const kq = kqueue();
  const first = kevent(kq, [rd(a, EV_ADD, 0, 0, 1), wr(a, EV_ADD, 0, 0, 2)], 8, ZERO);
  assert.deepEqual(first.map((e) => e.filter), [EVFILT_WRITE], 'writable at once, nothing to read');
  assert.ok(first[0]!.data > 0);
  put(b, 'hi');
  const ev = wait_for(kq, EVFILT_READ).sort((x, y) => x.filter - y.filter);
  assert.deepEqual(ev.map((e) => [e.filter, e.udata]), [[EVFILT_WRITE, 2], [EVFILT_READ, 1]]);
  assert.equal(ev[1]!.data, 2);
  change(kq, wr(a, EV_DELETE));
  assert.deepEqual(poll(kq).map((e) => e.filter), [EVFILT_READ], 'deleting one leaves the other');
  close(kq); close(a); close(b);
});

test('unix stream socket: EV_EOF when the peer shuts down writing; datagram: data = the next datagram', () => {
  const [a, b] = socketpair();
  const kq = kqueue();
  change(kq, rd(a, EV_ADD));
  shutdown(b, 1);
  const ev = wait(kq);
  assert.equal(ev[0]!.flags & EV_EOF, EV_EOF);
  assert.equal(ev[0]!.fflags, 0, 'no socket error');
  close(a); close(b);

  const [c, d] = socketpair(SOCK_DGRAM);
  change(kq, rd(c, EV_ADD));
  put(d, 'four');
  put(d, 'sixsix');
  const g = wait(kq);
  assert.equal(g.length, 1);
  assert.ok(g[0]!.data === 4 || g[0]!.data === 10, `data ${g[0]!.data}`);
  close(kq); close(c); close(d);
});

test('listening TCP socket on loopback: data = the accept backlog', async () => {
  const { fd, port } = tcp_listen();
  const kq = kqueue();
  change(kq, rd(fd, EV_ADD));
  assert.deepEqual(poll(kq), []);
  const socks: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = net.connect(port, '127.0.0.1');
    socks.push(s);
    await new Promise<void>((res, rej) => { s.once('connect', res); s.once('error', rej); });
  }
  let ev: sys.kevent_t[] = [];
  const end = Date.now() + 5000;
  while (Date.now() < end) { ev = await sys.kevent_async(kq, null, 4, SOON); if (ev[0]?.data === 2) break; }
  assert.equal(ev[0]!.data, 2);
  for (const s of socks) s.destroy();
  close(kq); close(fd);
});

test('listening Unix stream socket: data = the accept backlog (sock_diag), not 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-unixl-'));
  try {
    const fd = unix_listen(join(dir, 's'));
    const kq = kqueue();
    change(kq, rd(fd, EV_ADD));
    assert.deepEqual(poll(kq), []);
    const cs = [unix_connect(join(dir, 's'))];
    assert.equal(wait(kq)[0]!.data, 1);
    cs.push(unix_connect(join(dir, 's')), unix_connect(join(dir, 's')));
    assert.equal(wait(kq)[0]!.data, 3);
    for (const c of cs) close(c);
    close(kq); close(fd);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('TCP: a reset connection reports EV_EOF with the socket error in fflags', () => {
  // A listener closed with a connection nobody accepted resets that
  // connection. The client is made with the host's calls: a net.Socket's
  // own event loop would see the reset too and close the descriptor.
  const { fd: lfd, port } = tcp_listen();
  const fd = tcp_connect(port);
  const kq = kqueue();
  change(kq, wr(fd, EV_ADD | EV_ONESHOT));
  assert.equal(wait_for(kq, EVFILT_WRITE).length, 1, 'connected');
  change(kq, rd(fd, EV_ADD));
  assert.deepEqual(poll(kq), []);
  close(lfd);
  const ev = wait(kq);
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.flags & EV_EOF, EV_EOF);
  assert.equal(ev[0]!.fflags, E.ECONNRESET);
  close(kq); close(fd);
});

test('FIFO: read and write ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-fifo-'));
  try {
    const path = join(dir, 'f');
    mkfifo(path);
    const r = openSync(path, F.O_RDONLY | F.O_NONBLOCK);
    const w = openSync(path, F.O_WRONLY | F.O_NONBLOCK);
    const kq = kqueue();
    const first = kevent(kq, [rd(r, EV_ADD), wr(w, EV_ADD)], 4, ZERO);
    assert.deepEqual(first.map((e) => e.filter), [EVFILT_WRITE]);
    put(w, 'fifo');
    assert.equal(wait_for(kq, EVFILT_READ).find((e) => e.filter === EVFILT_READ)?.data, 4);
    close(kq); close(r); close(w);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('regular file: data = bytes from the offset to the end, readable at EOF too; appends seen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-file-'));
  try {
    const path = join(dir, 'f');
    appendFileSync(path, '0123456789');
    const fd = openSync(path, 'r');
    const kq = kqueue();
    assert.equal(kevent(kq, [rd(fd, EV_ADD)], 4, ZERO)[0]!.data, 10);
    readSync(fd, Buffer.alloc(4), 0, 4, null);
    assert.equal(poll(kq)[0]!.data, 6, 'from the offset');
    readSync(fd, Buffer.alloc(16), 0, 16, null);
    assert.deepEqual(poll(kq).map((e) => e.data), [0], 'at EOF: still readable, data 0');
    appendFileSync(path, 'abc');
    assert.equal(poll(kq)[0]!.data, 3, 'not stopped at the first EOF');
    const w = openSync(path, 'a');
    change(kq, rd(fd, EV_DELETE));
    assert.deepEqual(kevent(kq, [wr(w, EV_ADD)], 4, ZERO).map((e) => [e.filter, e.data]), [[EVFILT_WRITE, 0]], 'a file is always writable');
    close(kq); close(fd); close(w);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('regular file past 4 GiB: data counts the high word of the size (statx read as two 32-bit halves)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-file-'));
  try {
    const path = join(dir, 'f');
    appendFileSync(path, '');
    truncateSync(path, 2 ** 32 + 5); // sparse: no blocks
    const fd = openSync(path, 'r');
    const kq = kqueue();
    assert.equal(kevent(kq, [rd(fd, EV_ADD)], 4, ZERO)[0]!.data, 2 ** 32 + 5, 'at registration');
    readSync(fd, Buffer.alloc(8), 0, 8, null);
    assert.equal(poll(kq)[0]!.data, 2 ** 32 - 3, 'at a scan, from the offset');
    close(kq); close(fd);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('errno: EBADF for a descriptor not open (add and delete), EINVAL for EVFILT_WRITE on a kernel descriptor', () => {
  const [r, w] = pipe_high(); // numbers nobody else takes once closed
  closeSync(r); closeSync(w);
  const kq = kqueue();
  assert.deepEqual(errOf(kq, rd(r, EV_ADD)), { ident: r, filter: EVFILT_READ, flags: EV_ERROR, fflags: 0, data: E.EBADF, udata: 0 });
  assert.equal(errOf(kq, wr(w, EV_ADD)).data, E.EBADF);
  assert.equal(errOf(kq, rd(r, EV_DELETE)).data, E.EBADF);
  assert.throws(() => kevent(kq, [rd(r, EV_ADD)], 0, ZERO), (e: unknown) => e instanceof sys.SysError && e.code === 'EBADF');
  assert.equal(errOf(kq, wr(kq, EV_ADD)).data, E.EINVAL, 'a kqueue is not writable');
  const [a, b] = pipe();
  assert.equal(errOf(kq, rd(a, EV_DELETE)).data, E.ENOENT, 'open, no knote: ENOENT');
  close(kq); close(a); close(b);
});

test('close(fd) of an OS descriptor drops its knotes in every kqueue, then closes it; EBADF when not open', () => {
  const [r, w] = pipe_high();
  const kq1 = kqueue(), kq2 = kqueue();
  change(kq1, rd(r, EV_ADD), wr(w, EV_ADD));
  change(kq2, rd(r, EV_ADD | EV_CLEAR));
  const before = sys.kstat('kqueue')['kqueue.knotes_in_use']!;
  close(r);
  assert.equal(sys.kstat('kqueue')['kqueue.knotes_in_use'], before - 2, 'both read knotes dropped');
  assert.throws(() => readSync(r, Buffer.alloc(1)), /EBADF/, 'the descriptor is closed');
  assert.equal(errOf(kq1, rd(r, EV_DELETE)).data, E.EBADF, 'EV_DELETE after close: EBADF');
  assert.throws(() => close(r), (e: unknown) => e instanceof sys.SysError && e.code === 'EBADF');
  assert.throws(() => close(-1), (e: unknown) => e instanceof sys.SysError && e.code === 'EBADF');
  assert.throws(() => close('3' as unknown as number), (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  const ev = poll(kq1);
  assert.deepEqual(ev.map((e) => [e.filter, e.flags & EV_EOF]), [[EVFILT_WRITE, EV_EOF]], 'the write end sees its reader gone');
  close(kq1); close(kq2); close(w);
});

test('closed behind the kernel\'s back and the number reused: never an event for the new file', () => {
  const [r, w] = pipe_high();
  const kq = kqueue();
  change(kq, rd(r, EV_ADD, 0, 0, 1), rd(w, EV_ADD | EV_CLEAR, 0, 0, 2));
  // The write end first: the read end's close would be an event of the
  // write end (POLLERR) if it came first, and a knote whose descriptor went
  // behind the kernel's back goes at its next event (kevent-os-gone), taking
  // its source with it: the write end's knote must still hold its source
  // for the stale count below.
  closeSync(w); closeSync(r);
  // A new pipe takes both numbers (read end to read end), as the host's
  // lowest-free rule would give them; dup3 makes sure no other thread
  // takes them first.
  const [a, b] = pipe();
  const r2 = reuse_as(r, a), w2 = reuse_as(w, b);
  put(w2, 'new file data');
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 100e6 }), [], 'no event from the new pipe');
  // Another kqueue registering the old write end's number meets the old
  // source (still held by kq's knote): it is marked stale, a new one made.
  const stale0 = sys.kstat('intr')['intr.stale_sources']!;
  const kq2 = kqueue();
  change(kq2, rd(w2, EV_ADD | EV_CLEAR));
  assert.equal(sys.kstat('intr')['intr.stale_sources'], stale0 + 1);
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }), [], 'the old knotes stay silent');
  // A change naming the number finds the old knote gone.
  assert.equal(errOf(kq, rd(r2, EV_DELETE)).data, E.ENOENT);
  // A new registration watches the new file.
  const ev = kevent(kq, [rd(r2, EV_ADD, 0, 0, 9)], 4, ZERO);
  assert.deepEqual(ev.map((e) => e.udata), [9]);
  close(kq2);
  close(kq); close(r2); close(w2);
});
