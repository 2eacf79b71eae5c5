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
import { closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { tcp_pair, udp_refused, linger0, recv_errno } from './fixtures/osfd.js';

const ECONNREFUSED = 111, ECONNRESET = 104;
const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_CLEAR, EV_EOF } = sys;

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
    const fd = udp_refused(), kq = kqueue();
    try {
      kevent(kq, [EV_SET(fd, filter, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
      const e = wait_for(kq, filter);
      assert.equal(e.flags & EV_EOF, 0, 'no hang-up: no EV_EOF');
      assert.equal(recv_errno(fd), -ECONNREFUSED, 'recv fails with the socket error, still pending after the knote was evaluated');
    } finally {
      close(kq); closeSync(fd);
    }
  });
}

test('a TCP reset: the READ and the WRITE knote of the socket both report EV_EOF with the error', () => {
  const [a, b] = tcp_pair(), kq = kqueue();
  try {
    kevent(kq, [EV_SET(a, EVFILT_READ, EV_ADD, 0, 0, 0), EV_SET(a, EVFILT_WRITE, EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    linger0(b);
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
