/**
 * EV_CLEAR READ and WRITE knotes on one OS descriptor each fire from their
 * own direction's wake-ups only, as BSD's socket filters do (the read knote
 * from the receive buffer's, the write knote from the send buffer's): bytes
 * arriving do not report the write knote again, and space freed by the peer's
 * read does not report the read knote again while no new bytes came.
 *
 * Each case settles first (the registrations' own reports, and the one
 * epoll event an ADD of a ready descriptor queues: intr.ts "One known
 * double"), then runs rounds of one wake-up each, waiting with a deadline
 * for the event the round must bring, and counts the reports of the other
 * direction, which must be none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { socketpair, tcp_pair } from './fixtures/osfd.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EVFILT_WRITE, EV_ADD, EV_CLEAR } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const ROUNDS = 20;

/** Waits (blocking, 5 s deadline in all) until an event of `filter` comes; returns every event seen meanwhile. */
function wait_for(kq: number, filter: number): sys.kevent_t[] {
  const end = Date.now() + 5000, seen: sys.kevent_t[] = [];
  for (;;) {
    const ev = kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 });
    seen.push(...ev);
    if (ev.some((e) => e.filter === filter)) return seen.concat(kevent(kq, null, 8, ZERO));
    if (Date.now() > end) assert.fail(`no event of filter ${filter} within 5 s`);
  }
}
const count = (evs: sys.kevent_t[], filter: number): number => evs.filter((e) => e.filter === filter).length;
const take = (fd: number, n: number): number => { const b = Buffer.alloc(n); return readSync(fd, b); };

for (const [kind, make] of [['unix stream', () => socketpair()], ['tcp', () => tcp_pair()]] as const) {
  test(`${kind}: bytes arriving do not report an EV_CLEAR write knote again`, () => {
    const [a, b] = make();
    const kq = kqueue();
    try {
      kevent(kq, [EV_SET(a, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0), EV_SET(a, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
      wait_for(kq, EVFILT_WRITE); // a is writable: reported at registration
      // Settle: one round trip, whatever it reports (the ADD's own epoll event).
      writeSync(b, 'x');
      wait_for(kq, EVFILT_READ);
      assert.equal(take(a, 16), 1);
      kevent(kq, null, 8, ZERO);
      let writes = 0;
      for (let i = 0; i < ROUNDS; i++) {
        writeSync(b, 'y');
        const evs = wait_for(kq, EVFILT_READ);
        writes += count(evs, EVFILT_WRITE);
        assert.equal(take(a, 16), 1);
      }
      assert.equal(writes, 0, `the write knote fired ${writes} times in ${ROUNDS} rounds of bytes arriving (its buffer unchanged)`);
    } finally {
      close(kq); close(a); close(b);
    }
  });

  // TCP frees send space on ACKs, and Linux wakes a writer then only if it
  // found the queue full (tcp_check_space): no write-side wake-up per round.
  if (kind === 'tcp') continue;
  test(`${kind}: space freed does not report an EV_CLEAR read knote again without new bytes`, () => {
    const [a, b] = make();
    const kq = kqueue();
    try {
      writeSync(b, 'u'); // a stays readable: this byte is never read
      kevent(kq, [EV_SET(a, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0), EV_SET(a, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, 0)], 0, ZERO);
      wait_for(kq, EVFILT_READ);
      // Settle: one round of space freed, whatever it reports.
      writeSync(a, 'x');
      waitbytes(b, 1);
      wait_for(kq, EVFILT_WRITE);
      let reads = 0;
      for (let i = 0; i < ROUNDS; i++) {
        writeSync(a, 'y');
        waitbytes(b, 1); // the peer's read frees a's send space: a write-side wake-up of a
        const evs = wait_for(kq, EVFILT_WRITE);
        reads += count(evs, EVFILT_READ);
      }
      assert.equal(reads, 0, `the read knote fired ${reads} times in ${ROUNDS} rounds of space freed (no new bytes)`);
    } finally {
      close(kq); close(a); close(b);
    }
  });
}

/** Reads n bytes from non-blocking fd, waiting (deadline 5 s) for them to arrive (TCP delivers through loopback's softirq). */
function waitbytes(fd: number, n: number): void {
  const end = Date.now() + 5000, nap = new Int32Array(new SharedArrayBuffer(4));
  let got = 0;
  while (got < n) {
    try { got += take(fd, n - got); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      if (Date.now() > end) assert.fail(`${n} bytes did not arrive within 5 s`);
      Atomics.wait(nap, 0, 0, 1);
    }
  }
}
