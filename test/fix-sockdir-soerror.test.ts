/**
 * A socket's pending error without a hang-up (a connected UDP socket's
 * ICMP port unreachable: BSD's "temporary udp error") is the program's to
 * take: the knote fires (an error makes a read or write not block) without
 * EV_EOF, and the kernel's evaluation leaves the error where it is, so the
 * program's recv fails with it. getsockopt(SO_ERROR), the only way Linux
 * tells the error, clears it (BSD only reads it): the filters take it only
 * for EV_EOF's fflags at a hang-up (os.ts sock_error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { tcp_pair } from './fixtures/osfd.js';

type Fn = (...a: unknown[]) => unknown;
const koffi = createRequire(import.meta.url)('koffi') as { load(n: string): { func(s: string): Fn }; errno(): number };
const lib = koffi.load('libc.so.6');
const socket_ = lib.func('int socket(int, int, int)');
const bind_ = lib.func('int bind(int, void *, unsigned int)');
const connect_ = lib.func('int connect(int, void *, unsigned int)');
const getsockname_ = lib.func('int getsockname(int, void *, void *)');
const send_ = lib.func('long send(int, const void *, unsigned long, int)');
const recv_ = lib.func('long recv(int, void *, unsigned long, int)');
const poll_ = lib.func('int poll(void *, unsigned long, int)');
const setsockopt_ = lib.func('int setsockopt(int, int, int, void *, unsigned int)');

const AF_INET = 2, SOCK_DGRAM = 2, O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000, ECONNREFUSED = 111, ECONNRESET = 104, POLLERR = 8;
const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_CLEAR, EV_EOF } = sys;

function ok(r: unknown, what: string): number {
  if ((r as number) < 0) throw new Error(`${what} failed: errno ${koffi.errno()}`);
  return r as number;
}
const sin = (port: number): Uint8Array => {
  const sa = new Uint8Array(16);
  sa[0] = AF_INET; sa[2] = port >> 8; sa[3] = port & 255; sa[4] = 127; sa[7] = 1;
  return sa;
};
/** A port on 127.0.0.1 nobody listens on (bound, then closed). */
function closed_port(): number {
  const fd = ok(socket_(AF_INET, SOCK_DGRAM | O_CLOEXEC, 0), 'socket');
  ok(bind_(fd, sin(0), 16), 'bind');
  const sa = new Uint8Array(16), len = new Uint32Array([16]);
  ok(getsockname_(fd, sa, len), 'getsockname');
  closeSync(fd);
  return (sa[2]! << 8) | sa[3]!;
}
/** A non-blocking UDP socket connected to a closed port, one datagram sent: ECONNREFUSED comes back as an ICMP error. */
function refused_udp(): number {
  const fd = ok(socket_(AF_INET, SOCK_DGRAM | O_NONBLOCK | O_CLOEXEC, 0), 'socket');
  ok(connect_(fd, sin(closed_port()), 16), 'connect');
  ok(send_(fd, new Uint8Array([1]), 1, 0), 'send');
  // poll(2) says POLLERR once the error is pending, and does not take it.
  const pfd = new Int16Array(4);
  new Int32Array(pfd.buffer)[0] = fd;
  const n = ok(poll_(pfd, 1, 5000), 'poll');
  assert.ok(n === 1 && (pfd[3]! & POLLERR) !== 0, 'the ICMP error came within 5 s');
  return fd;
}
/** Waits (deadline 5 s in all) for an event of `filter` on kq. */
function wait_for(kq: number, filter: number): sys.kevent_t {
  const end = Date.now() + 5000;
  for (;;) {
    const e = kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }).find((x) => x.filter === filter);
    if (e !== undefined) return e;
    if (Date.now() > end) assert.fail(`no event of filter ${filter} within 5 s`);
  }
}

for (const [name, filter] of [['EVFILT_READ', EVFILT_READ], ['EVFILT_WRITE', EVFILT_WRITE]] as const) {
  test(`${name}: a UDP socket's pending error fires without EV_EOF and is left for the program's recv`, () => {
    const fd = refused_udp(), kq = kqueue();
    try {
      kevent(kq, [EV_SET(fd, filter, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
      const e = wait_for(kq, filter);
      assert.equal(e.flags & EV_EOF, 0, 'no hang-up: no EV_EOF');
      const r = recv_(fd, new Uint8Array(16), 16, 0) as number;
      assert.equal(r, -1, 'recv fails');
      assert.equal(koffi.errno(), ECONNREFUSED, 'with the socket error, still pending after the knote was evaluated');
    } finally {
      close(kq); closeSync(fd);
    }
  });
}

test('a TCP reset: the READ and the WRITE knote of the socket both report EV_EOF with the error', () => {
  const [a, b] = tcp_pair(), kq = kqueue();
  try {
    kevent(kq, [EV_SET(a, EVFILT_READ, EV_ADD, 0, 0, 0), EV_SET(a, EVFILT_WRITE, EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    ok(setsockopt_(b, 1 /* SOL_SOCKET */, 13 /* SO_LINGER */, new Int32Array([1, 0]), 8), 'setsockopt(SO_LINGER)');
    closeSync(b); // linger 0: the close sends a reset
    const end = Date.now() + 5000, eof = new Map<number, number>();
    while (eof.size < 2) {
      for (const e of kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 })) if ((e.flags & EV_EOF) !== 0) eof.set(e.filter, e.fflags);
      if (Date.now() > end) assert.fail(`EV_EOF within 5 s from ${[...eof.keys()].join(', ') || 'no knote'}`);
    }
    assert.deepEqual([eof.get(EVFILT_READ), eof.get(EVFILT_WRITE)], [ECONNRESET, ECONNRESET], 'both knotes carry the error');
  } finally {
    close(kq); closeSync(a);
  }
});
