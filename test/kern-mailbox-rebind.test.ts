/**
 * The mailbox pump (kern/mailbox.ts) stopped when its round found nothing
 * bound, even if a function the round itself called had just bound
 * something to a consumer asked earlier in that round: that consumer had
 * already answered "nothing bound", the later one answered the same, and
 * the pump ended with a live binding nobody watched (mbox_watch, called
 * by the new binding, saw the pump still running and started none). With
 * the timer consumer asked before the aio one, a SIGEV_THREAD aio
 * completion function that armed a SIGEV_THREAD timer never saw the
 * timer's function run, and the armed timer kept the thread alive for
 * ever. Every wait here has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from '../src/sys/index.js';
import { mbox_consumer_register, mbox_mine, mbox_post, mbox_watch } from '../src/kern/mailbox.js';
import { within, until } from './helpers.js';

const thread = (fn: (v: number) => void, value = 0): sys.aio_sigevent =>
  ({ sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: fn, sigev_value: value });
const once = { it_value: { tv_sec: 0, tv_nsec: 2e6 }, it_interval: { tv_sec: 0, tv_nsec: 0 } };

// Two consumers of this thread's mailbox, A asked before B in every round.
// B's round binds something of A (as an aio function arming a timer would).
const A = { bound: false, delivered: 0 };
const B = { bindA: false };
mbox_consumer_register('test-rebind-a', {
  deliver(): boolean { if (A.bound) A.delivered++; return A.bound; },
  live: () => false,
  released(): void { A.bound = false; },
});
mbox_consumer_register('test-rebind-b', {
  deliver(): boolean {
    if (B.bindA) { B.bindA = false; A.bound = true; mbox_watch(); }
    return false;
  },
  live: () => false,
  released(): void { B.bindA = false; },
});

/** Runs `body` with a 64-byte file open for reading and the timer it made deleted after. */
async function with_file(body: (fd: number, made: (tid: number) => void) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-mbox-rebind-'));
  const p = join(dir, 'f');
  writeFileSync(p, Buffer.alloc(64, 7));
  const fd = openSync(p, 'r');
  let tid = -1;
  try {
    await body(fd, (t) => { tid = t; });
  } finally {
    if (tid !== -1) sys.timer_delete(tid);
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a SIGEV_THREAD aio function that arms a SIGEV_THREAD timer sees the timer\'s function run', () => with_file(async (fd, made) => {
  const fired = new Promise<number>((resolve) => {
    sys.aio_read({
      aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 8,
      aio_sigevent: thread(() => {
        const tid = sys.timer_create(sys.CLOCK_MONOTONIC, thread((v) => resolve(v), 7) as sys.sigevent);
        made(tid);
        sys.timer_settime(tid, 0, once);
      }),
    });
  });
  assert.equal(await within(fired, 5000, "the timer's SIGEV_THREAD function"), 7);
}));

test('and the other way: a SIGEV_THREAD timer function that submits a SIGEV_THREAD aio request sees its function run', () => with_file(async (fd, made) => {
  const read = new Promise<number>((resolve) => {
    const tid = sys.timer_create(sys.CLOCK_MONOTONIC, thread(() => {
      sys.aio_read({ aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 8, aio_sigevent: thread((v) => resolve(v), 9) });
    }) as sys.sigevent);
    made(tid);
    sys.timer_settime(tid, 0, once);
  });
  assert.equal(await within(read, 5000, "the aio request's SIGEV_THREAD function"), 9);
}));

// Last: its consumers stay registered (they bind nothing once it is over).
test('a binding made during a pump round, for a consumer already asked in it, keeps the pump watching', async () => {
  sys.lwp_self(); // (boots the kernel)
  const b = mbox_mine();
  assert.notEqual(b, 0);
  try {
    B.bindA = true;
    mbox_watch();
    mbox_post(b); // a round now, whether a pump runs already (waiting for a post) or starts here
    await until(() => !B.bindA, 5000, "B's round");
    const seen = A.delivered;
    // The post of A's event must reach a pump.
    assert.equal(mbox_post(b), true);
    await until(() => A.delivered > seen, 5000, 'a round for the post after the rebinding');
  } finally {
    A.bound = false;
    mbox_post(b); // one more round, in which nothing is bound: the pump ends
  }
});
