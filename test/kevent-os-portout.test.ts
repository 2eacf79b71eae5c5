/**
 * An EV_CLEAR EVFILT_READ knote hears its descriptor's input wake-ups only,
 * also while a PORT_SOURCE_FD association asks POLLOUT of the same
 * descriptor (the contract: one descriptor may carry knotes and port
 * associations at once). The association's output interest was in the
 * source's one registration in the kernel's epoll set, beside the read
 * knote's input interest; epoll reports a registration's whole ready mask
 * at any wake-up whose bits meet it, so space freed on a readable socket
 * reported EPOLLIN too, and the EV_CLEAR read knote fired again with no new
 * bytes (intr.ts, Directions: the write knotes' registration of their own
 * exists for this very reason).
 *
 * Order, not time: kevent is only polled (ZERO timeout: no thread waits in
 * the host on the kernel's set), so the intr thread alone takes the set's
 * events, and dispatches them in the order they were queued. The marker is
 * a pipe's byte written after the wake-up: once its knote is reported, the
 * socket's event was dispatched before it, and an activation of the read
 * knote would have been queued ahead of the pipe's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { socketpair, pipe } from './fixtures/osfd.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EV_ADD, EV_CLEAR, port_create, port_associate, port_get, PORT_SOURCE_FD, POLLOUT } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const nap = new Int32Array(new SharedArrayBuffer(4));

/** Polls kq (1 ms apart, 5 s deadline) until an event of ident comes; returns every event seen meanwhile. */
function until_ident(kq: number, ident: number): sys.kevent_t[] {
  const end = Date.now() + 5000, seen: sys.kevent_t[] = [];
  for (;;) {
    const ev = kevent(kq, null, 8, ZERO);
    seen.push(...ev);
    if (ev.some((e) => e.ident === ident)) return seen;
    if (Date.now() > end) assert.fail(`no event of ${ident} within 5 s`);
    Atomics.wait(nap, 0, 0, 1);
  }
}

test('EV_CLEAR read knote: space freed is no news for it while a port association asks POLLOUT of the descriptor', () => {
  const [a, b] = socketpair();
  const [pr, pw] = pipe();
  const kq = kqueue(), port = port_create();
  try {
    kevent(kq, [EV_SET(a, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 1), EV_SET(pr, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 2)], 0, ZERO);
    writeSync(b, 'x'); // a readable: reported once; never read
    assert.deepEqual(until_ident(kq, a).map((e) => [e.ident, e.data]), [[a, 1]]);
    const ROUNDS = 10;
    let again = 0;
    for (let i = 0; i < ROUNDS; i++) {
      writeSync(a, 'y'); // a's send space in use
      port_associate(port, PORT_SOURCE_FD, a, POLLOUT, 3); // a writable: queued at once
      assert.equal(port_get(port, ZERO).portev_events, POLLOUT);
      port_associate(port, PORT_SOURCE_FD, a, POLLOUT, 3); // armed again, its output interest held
      assert.equal(readSync(b, Buffer.alloc(8)), 1); // a's space freed: an output wake-up of a
      writeSync(pw, 'm'); // the marker, after that wake-up
      const seen = until_ident(kq, pr);
      again += seen.filter((e) => e.ident === a).length;
      assert.equal(readSync(pr, Buffer.alloc(8)), 1);
      port_get(port, ZERO); // (the re-association's own event)
    }
    assert.equal(again, 0, `the read knote fired ${again} times in ${ROUNDS} rounds without a new byte`);
  } finally {
    close(kq); close(port); close(a); close(b); close(pr); close(pw);
  }
});
