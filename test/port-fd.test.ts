/**
 * PORT_SOURCE_FD on real host descriptors (pipes, Unix socket pairs,
 * loopback TCP, regular files, a TTY when there is one), the cases of the
 * illumos port_associate(3C) page in our own code: one-shot delivery and
 * re-association to re-arm, re-association replacing events and user and
 * withdrawing a queued event, POLLHUP/POLLERR/POLLNVAL reported unasked,
 * empty masks, every errno path, close(fd) through the kernel, the
 * closed-and-reused descriptor, the port closed with events pending, the
 * same descriptor on several ports and under a kqueue knote at once. An event
 * that needs the intr thread is waited for in port_get with a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, tmpdir } from 'node:os';
import { writeSync, readSync, closeSync, openSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe, pipe_high, reuse_as, socketpair, tcp_listen, tcp_connect, shutdown } from './fixtures/osfd.js';

const {
  port_create, port_associate, port_dissociate, port_get, port_getn, port_send, close,
  PORT_SOURCE_FD, PORT_SOURCE_USER, POLLIN, POLLPRI, POLLOUT, POLLRDNORM, POLLRDBAND, POLLWRBAND, POLLWRNORM,
  POLLERR, POLLHUP, POLLNVAL,
} = sys;
const E = constants.errno;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };
const put = (fd: number, s: string) => writeSync(fd, s);
const drain = (fd: number) => { const b = Buffer.alloc(1 << 20); try { return readSync(fd, b); } catch { return 0; } };
const ev = (fd: number, events: number, user: number) => ({ portev_events: events, portev_source: PORT_SOURCE_FD, portev_object: fd, portev_user: user });
/** Nothing queued now. */
function none(port: number): void {
  assert.throws(() => port_get(port, ZERO), (e: NodeJS.ErrnoException) => e.code === 'ETIME');
}
function errno(fn: () => void, code: string): void {
  assert.throws(fn, (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, code);
    if (code in E) assert.equal(Math.abs(e.errno!), (E as Record<string, number>)[code]);
    return true;
  });
}

test('the poll values are illumos\'s (the contract)', () => {
  assert.deepEqual([POLLIN, POLLPRI, POLLOUT, POLLRDNORM, POLLRDBAND, POLLWRBAND, POLLWRNORM, POLLERR, POLLHUP, POLLNVAL],
    [0x1, 0x2, 0x4, 0x40, 0x80, 0x100, 0x4, 0x8, 0x10, 0x20]);
});

test('pipe: not ready, no event; a write reports POLLIN once; retrieved, the association is gone (one-shot)', () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 7);
  none(port);
  put(w, 'x');
  assert.deepEqual(port_get(port, SOON), ev(r, POLLIN, 7));
  put(w, 'y');
  none(port);
  errno(() => port_dissociate(port, PORT_SOURCE_FD, r), 'ENOENT');
  // Re-associate to re-arm: still readable, so at once.
  port_associate(port, PORT_SOURCE_FD, r, POLLIN | POLLRDNORM, 8);
  assert.deepEqual(port_get(port, ZERO), ev(r, POLLIN | POLLRDNORM, 8));
  close(port); close(r); close(w);
});

test('a descriptor ready when associated reports at once, before any OS event', () => {
  const [r, w] = pipe();
  put(w, 'hello');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  port_associate(port, PORT_SOURCE_FD, w, POLLOUT, 2);
  const got = port_getn(port, 4, 2, ZERO);
  assert.deepEqual(got.map((e) => [e.portev_object, e.portev_events, e.portev_user]).sort(), [[r, POLLIN, 1], [w, POLLOUT, 2]].sort());
  close(port); close(r); close(w);
});

test('re-association replaces events and user and withdraws the queued event', () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  put(w, 'x');
  // Wait until it is queued (the intr thread), without taking it.
  const end = Date.now() + 5000;
  while (port_count(port) === 0) {
    if (Date.now() > end) assert.fail('no event queued within 5 s');
  }
  drain(r);
  // Re-associated: the queued POLLIN event is withdrawn; nothing is readable now.
  port_associate(port, PORT_SOURCE_FD, r, POLLIN | POLLPRI, 2);
  none(port);
  put(w, 'z');
  assert.deepEqual(port_get(port, SOON), ev(r, POLLIN, 2), 'the new user, the requested bits only');
  none(port);
  close(port); close(r); close(w);
});

/** Events queued on a port, without taking them (port_getn with max 0 reports the count). */
function port_count(port: number): number { return port_getn(port, 0, 0, ZERO).nget; }

test('re-association of a queued ready descriptor: one event, with the new events and user', () => {
  const [r, w] = pipe();
  put(w, 'x');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  assert.equal(port_count(port), 1);
  port_associate(port, PORT_SOURCE_FD, r, POLLRDNORM, 2);
  assert.equal(port_count(port), 1, 'the old event withdrawn, the new one queued');
  assert.deepEqual(port_get(port, ZERO), ev(r, POLLRDNORM, 2));
  none(port);
  close(port); close(r); close(w);
});

test('port_dissociate: 0 and the queued event withdrawn; ENOENT when not associated; EBADFD for a closed descriptor', () => {
  const [r, w] = pipe_high(); // numbers nobody else takes once closed
  put(w, 'x');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  assert.equal(port_count(port), 1);
  port_dissociate(port, PORT_SOURCE_FD, r);
  none(port);
  errno(() => port_dissociate(port, PORT_SOURCE_FD, r), 'ENOENT');
  errno(() => port_dissociate(port, PORT_SOURCE_FD, w), 'ENOENT');
  // Armed, not ready: dissociated, no event ever comes.
  port_associate(port, PORT_SOURCE_FD, w, 0, 3);
  port_dissociate(port, PORT_SOURCE_FD, w);
  close(w);
  none(port);
  errno(() => port_dissociate(port, PORT_SOURCE_FD, w), 'EBADFD');
  errno(() => port_dissociate(port, PORT_SOURCE_FD, -1), 'EBADFD');
  errno(() => port_dissociate(port, PORT_SOURCE_FD, 1.5), 'EBADFD');
  close(port); close(r);
});

test('errno paths of port_associate', () => {
  const [r, w] = pipe();
  const port = port_create();
  errno(() => port_associate(port, PORT_SOURCE_FD, 1 << 30, POLLIN, 0), 'EBADFD');
  errno(() => port_associate(port, PORT_SOURCE_FD, -1, POLLIN, 0), 'EBADFD');
  errno(() => port_associate(port, PORT_SOURCE_FD, 2.5, POLLIN, 0), 'EBADFD');
  errno(() => port_associate(port, PORT_SOURCE_FD, r, 0x4000, 0), 'EINVAL');
  errno(() => port_associate(port, PORT_SOURCE_USER, r, POLLIN, 0), 'EINVAL');
  errno(() => port_associate(99, PORT_SOURCE_FD, r, POLLIN, 0), 'EBADF');
  errno(() => port_dissociate(99, PORT_SOURCE_FD, r), 'EBADF');
  // A kernel descriptor is not a host descriptor.
  errno(() => port_associate(port, PORT_SOURCE_FD, port, POLLIN, 0), 'EBADFD');
  assert.throws(() => port_associate(port, PORT_SOURCE_FD, r, 'x' as unknown as number, 0), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => port_associate(port, PORT_SOURCE_FD, r, POLLIN, {} as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
  // Nothing was left behind by the failures.
  assert.equal(sys.kstat('portfd')['portfd.records'], 0);
  close(port); close(r); close(w);
});

test('POLLHUP on a closed writer, reported unasked (empty mask) and beside POLLIN', () => {
  const [r, w] = pipe();
  const [r2, w2] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, 0, 1);
  port_associate(port, PORT_SOURCE_FD, r2, POLLIN, 2);
  none(port);
  put(w, 'data'); // asked for nothing: data is no event
  assert.throws(() => port_get(port, { tv_sec: 0, tv_nsec: 50e6 }), { code: 'ETIME' });
  close(w);
  assert.deepEqual(port_get(port, SOON), ev(r, POLLHUP, 1));
  close(w2);
  assert.deepEqual(port_get(port, SOON), ev(r2, POLLHUP, 2), 'hang-up, nothing to read');
  close(port); close(r); close(r2);
});

test('POLLERR unasked: a pipe whose reader is gone, associated for POLLOUT', () => {
  const [r, w] = pipe();
  const port = port_create();
  close(r);
  port_associate(port, PORT_SOURCE_FD, w, POLLOUT, 4);
  const e = port_get(port, ZERO);
  assert.equal(e.portev_events & POLLERR, POLLERR);
  close(port); close(w);
});

test('POLLOUT: a full pipe reports when the reader makes room', () => {
  const [r, w] = pipe();
  const chunk = Buffer.alloc(4096, 1);
  try { for (;;) writeSync(w, chunk); } catch (e) { assert.equal((e as NodeJS.ErrnoException).code, 'EAGAIN'); }
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, w, POLLOUT | POLLWRBAND, 9);
  none(port);
  while (drain(r) > 0) { /* empty it */ }
  const e = port_get(port, SOON);
  assert.equal(e.portev_object, w);
  assert.equal(e.portev_events & POLLOUT, POLLOUT);
  assert.equal(e.portev_events & ~(POLLOUT | POLLWRBAND), 0);
  close(port); close(r); close(w);
});

test('socket pair: POLLIN on data, POLLIN at the peer\'s shutdown; POLLHUP when it is gone', () => {
  const [a, b] = socketpair();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, a, POLLIN | POLLOUT, 1);
  assert.deepEqual(port_get(port, ZERO), ev(a, POLLOUT, 1), 'writable at once');
  port_associate(port, PORT_SOURCE_FD, a, POLLIN, 2);
  none(port);
  put(b, 'q');
  assert.deepEqual(port_get(port, SOON), ev(a, POLLIN, 2));
  drain(a);
  port_associate(port, PORT_SOURCE_FD, a, POLLIN, 3);
  shutdown(b, 1);
  assert.deepEqual(port_get(port, SOON), ev(a, POLLIN, 3), 'end of file reads as readable');
  port_associate(port, PORT_SOURCE_FD, a, 0, 4);
  close(b);
  assert.equal(port_get(port, SOON).portev_events & POLLHUP, POLLHUP);
  close(port); close(a);
});

test('loopback TCP: a listening socket reports POLLIN for a connection; the connection POLLOUT once connected', () => {
  const l = tcp_listen();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, l.fd, POLLIN, 1);
  const c = tcp_connect(l.port);
  assert.deepEqual(port_get(port, SOON), ev(l.fd, POLLIN, 1));
  port_associate(port, PORT_SOURCE_FD, c, POLLOUT, 2);
  assert.deepEqual(port_get(port, SOON), ev(c, POLLOUT, 2));
  close(port); close(c); close(l.fd);
});

test('a regular file is always ready (as poll says): POLLIN | POLLOUT at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portfd-'));
  const f = openSync(join(dir, 'f'), 'w+');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, f, POLLIN | POLLOUT, 5);
  assert.deepEqual(port_get(port, ZERO), ev(f, POLLIN | POLLOUT, 5));
  close(port); close(f);
  rmSync(dir, { recursive: true });
});

test('a TTY: POLLOUT at once', (t) => {
  let fd = -1;
  try { fd = openSync('/dev/ptmx', 'r+'); } catch { t.skip('no /dev/ptmx here'); return; }
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, fd, POLLOUT, 1);
  const e = port_get(port, SOON);
  assert.equal(e.portev_object, fd);
  assert.equal(e.portev_events & POLLOUT, POLLOUT);
  close(port); close(fd);
});

test('close(fd) through the kernel dissociates it and withdraws its queued event', () => {
  const [r, w] = pipe();
  put(w, 'x');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  port_associate(port, PORT_SOURCE_FD, w, POLLIN, 2);
  assert.equal(port_count(port), 1);
  close(r);
  // r's event is withdrawn; w's reader is gone: POLLERR, unasked.
  assert.deepEqual(port_get(port, SOON), ev(w, POLLERR, 2));
  none(port);
  port_associate(port, PORT_SOURCE_FD, w, POLLIN, 3);
  port_get(port, ZERO);
  port_associate(port, PORT_SOURCE_FD, w, POLLIN, 4);
  close(w); // its queued event and association go too
  none(port);
  assert.equal(sys.kstat('portfd')['portfd.records'], 0);
  close(port);
});

test('closed behind the kernel\'s back and the number reused: never an event for the new file', () => {
  const [r, w] = pipe_high();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  closeSync(r);
  // A new pipe's read end takes r's number, as the host's lowest-free rule
  // would give it; dup3 makes sure no other thread takes it first.
  const [a, w2] = pipe();
  const r2 = reuse_as(r, a);
  put(w2, 'new file');
  assert.throws(() => port_get(port, { tv_sec: 0, tv_nsec: 100e6 }), { code: 'ETIME' });
  errno(() => port_dissociate(port, PORT_SOURCE_FD, r), 'ENOENT');
  // Associating the number now is the new file's association.
  port_associate(port, PORT_SOURCE_FD, r2, POLLIN, 2);
  assert.deepEqual(port_get(port, SOON), ev(r2, POLLIN, 2));
  close(port); close(w); close(r2); close(w2);
});

test('closed behind the kernel\'s back with its event queued: retrieved as POLLNVAL', () => {
  const [r, w] = pipe();
  put(w, 'x');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  closeSync(r);
  const [r2, w2] = pipe();
  put(w2, 'y');
  assert.deepEqual(port_get(port, ZERO), ev(r, POLLNVAL, 1));
  close(port); close(w); close(r2); close(w2);
});

test('the port closed with events pending: its associations go; the descriptors stay usable', () => {
  const [r, w] = pipe();
  put(w, 'x');
  const p1 = port_create(), p2 = port_create();
  port_associate(p1, PORT_SOURCE_FD, r, POLLIN, 1);
  port_associate(p1, PORT_SOURCE_FD, w, POLLOUT, 2);
  port_associate(p2, PORT_SOURCE_FD, r, POLLIN, 3);
  close(p1);
  errno(() => port_get(p1, ZERO), 'EBADF');
  assert.deepEqual(port_get(p2, ZERO), ev(r, POLLIN, 3), 'the other port\'s association lives');
  assert.equal(sys.kstat('portfd')['portfd.records'], 1);
  close(p2);
  assert.equal(sys.kstat('portfd')['portfd.records'], 0);
  close(r); close(w);
});

test('one descriptor on two ports and under a kqueue knote at once', () => {
  const [r, w] = pipe();
  const p1 = port_create(), p2 = port_create(), kq = sys.kqueue();
  port_associate(p1, PORT_SOURCE_FD, r, POLLIN, 1);
  port_associate(p2, PORT_SOURCE_FD, r, POLLIN, 2);
  sys.kevent(kq, [sys.EV_SET(r, sys.EVFILT_READ, sys.EV_ADD, 0, 0, 3)], 0, ZERO);
  put(w, 'ab');
  assert.deepEqual(port_get(p1, SOON), ev(r, POLLIN, 1));
  assert.deepEqual(port_get(p2, SOON), ev(r, POLLIN, 2));
  assert.equal(sys.kevent(kq, null, 4, SOON)[0]!.data, 2);
  port_associate(p1, PORT_SOURCE_FD, r, POLLIN, 4);
  assert.deepEqual(port_get(p1, ZERO), ev(r, POLLIN, 4), 'still readable: re-armed, at once');
  port_associate(p1, PORT_SOURCE_FD, r, 0, 5);
  close(r); // all three go
  assert.equal(sys.kstat('portfd')['portfd.records'], 0);
  close(p1); close(p2); close(kq); close(w);
});

test('user events and fd events share the port', () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 1);
  port_send(port, 5, 6);
  put(w, 'x');
  const got = [port_get(port, SOON), port_get(port, SOON)];
  assert.deepEqual(got.map((e) => e.portev_source).sort(), [PORT_SOURCE_USER, PORT_SOURCE_FD].sort());
  close(port); close(r); close(w);
});

test('re-association changes direction: POLLIN to POLLOUT and back on one socket', () => {
  const [a, b] = socketpair();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, a, POLLIN, 1);
  none(port);
  port_associate(port, PORT_SOURCE_FD, a, POLLOUT, 2);
  assert.deepEqual(port_get(port, ZERO), ev(a, POLLOUT, 2), 'writable: reported at the change');
  port_associate(port, PORT_SOURCE_FD, a, POLLIN, 3);
  none(port);
  put(b, 'r');
  assert.deepEqual(port_get(port, SOON), ev(a, POLLIN, 3));
  assert.equal(sys.kstat('intr')['intr.sources'], 1, 'one source, its interests following the events');
  close(port);
  assert.equal(sys.kstat('intr')['intr.sources'], 0, 'released with the port');
  close(a); close(b);
});

test('1000 idle associations: the intr thread does not wake while nothing happens', () => {
  const pipes = Array.from({ length: 1000 }, () => pipe());
  const port = port_create();
  for (const [r] of pipes) port_associate(port, PORT_SOURCE_FD, r, POLLIN, r);
  const wake0 = sys.kstat('intr')['intr.wakeups']!;
  assert.throws(() => port_get(port, { tv_sec: 0, tv_nsec: 300e6 }), { code: 'ETIME' });
  assert.equal(sys.kstat('intr')['intr.wakeups']! - wake0, 0);
  put(pipes[700]![1], 'x');
  assert.equal(port_get(port, SOON).portev_user, pipes[700]![0]);
  close(port);
  for (const [r, w] of pipes) { close(r); close(w); }
  assert.equal(sys.kstat('portfd')['portfd.records'], 0);
});
