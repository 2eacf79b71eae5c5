/**
 * Many OS descriptors at once (issue 15's 10 000-descriptor figure, as a
 * correctness test): 10 000 registered socket knotes, rounds of 100 made
 * ready from this thread while the intr thread activates them, each read
 * as soon as it is reported. Every
 * readied descriptor is reported exactly once per round (none lost, none
 * doubled, none that was not written), for EV_CLEAR knotes (activated by the
 * intr thread without a host call, evaluated by the scan), level-triggered
 * ones drained by a read, and EV_ONESHOT / NOTE_LOWAT ones (evaluated at
 * activation). And the identity rule on that path: an event of a file
 * closed behind the kernel's back but kept open by a dup, whose number a
 * new file took, activates the knote, and the scan's identity check drops
 * it. Waits are kevent deadlines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { socketpair, pipe, pipe_high, reuse_as, dup } from './fixtures/osfd.js';
import { until } from './helpers.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EV_ADD, EV_CLEAR, EV_ONESHOT, NOTE_LOWAT } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const N = 10_000, K = 100, ROUNDS = 20;

/** N descriptors: fds[i] and fds[i ^ 1] are the two ends of one socket pair. */
function streams(): number[] {
  const fds: number[] = [];
  for (let i = 0; i < N / 2; i++) fds.push(...socketpair());
  return fds;
}

/** K distinct indices below N (xorshift, seeded). */
function picker(seed: number): () => number[] {
  let x = seed;
  return () => {
    const got = new Set<number>();
    while (got.size < K) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; got.add((x >>> 0) % N); }
    return [...got];
  };
}

/** Collects events until `want` were seen (5 s deadline), reading each reported descriptor at once; their udata in order. */
function collect(kq: number, fds: number[], want: number, bytes: number): number[] {
  const seen: number[] = [], buf = Buffer.alloc(64);
  const end = Date.now() + 5000;
  while (seen.length < want) {
    const evs = kevent(kq, null, 256, { tv_sec: 0, tv_nsec: 100e6 });
    for (const e of evs) {
      seen.push(e.udata as number);
      assert.equal(readSync(fds[e.udata as number]!, buf), bytes, `descriptor ${e.udata}: the bytes written`);
    }
    if (Date.now() > end) assert.fail(`${want - seen.length} of ${want} events missing after 5 s`);
  }
  return seen;
}

function rounds(fds: number[], flags: number, fflags: number, data: number, bytes: number, rearm: boolean): void {
  const kq = kqueue();
  const add = (ix: number[]) => kevent(kq, ix.map((i) => EV_SET(fds[i]!, EVFILT_READ, EV_ADD | flags, fflags, data, i)), 0, ZERO);
  add(fds.map((_, i) => i));
  assert.deepEqual(kevent(kq, null, 8, ZERO), [], 'nothing ready yet');
  const pick = picker(0x9e3779b9), msg = Buffer.alloc(bytes, 120);
  for (let r = 0; r < ROUNDS; r++) {
    const want = pick();
    for (const i of want) writeSync(fds[i ^ 1]!, msg);
    const seen = collect(kq, fds, K, bytes);
    assert.deepEqual([...seen].sort((a, b) => a - b), [...want].sort((a, b) => a - b), `round ${r}: each readied descriptor once`);
    assert.deepEqual(kevent(kq, null, 8, ZERO), [], `round ${r}: nothing more once read`);
    if (rearm) add(want);
  }
  close(kq);
}

test('10 000 registered EV_CLEAR socket knotes, 100 ready per round: each reported once', () => {
  const fds = streams();
  rounds(fds, EV_CLEAR, 0, 0, 1, false);
  for (const fd of fds) close(fd);
});

test('10 000 level-triggered, EV_ONESHOT and NOTE_LOWAT knotes: each reported once per round', () => {
  const fds = streams();
  rounds(fds, 0, 0, 0, 1, false);
  rounds(fds, EV_ONESHOT, 0, 0, 1, true);
  rounds(fds, EV_CLEAR, NOTE_LOWAT, 2, 2, false);
  for (const fd of fds) close(fd);
});

test('an event of a file closed behind the kernel\'s back but still open elsewhere (dup) never reports for the number\'s new file', async () => {
  const [r, w] = pipe_high();
  const kept = dup(r); // the old file stays open: its epoll registration, and its events, live on
  const kq = kqueue();
  kevent(kq, [EV_SET(r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 1)], 0, ZERO);
  closeSync(r);
  // The new pipe's read end takes the number (dup3: no other thread can take it first).
  const [a, w2] = pipe();
  const r2 = reuse_as(r, a);
  const events0 = sys.kstat('intr')['intr.os_events']!;
  writeSync(w, 'old file data');
  await until(() => sys.kstat('intr')['intr.os_events']! > events0, 5000, 'the intr thread to take the old file\'s event');
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }), [], 'the knote names the number, which is another file now');
  writeSync(w2, 'x');
  assert.deepEqual(kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 50e6 }), [], 'nor is the new file watched');
  close(kq); closeSync(kept); close(w); close(r2); close(w2);
});
