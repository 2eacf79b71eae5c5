/**
 * The SIGEV_THREAD mailbox (kern/mailbox.ts): one per thread whatever its
 * consumers (timers, aio); the generation rule (a post of a binding taken
 * before the mailbox was given back wakes nobody, not even the slot's next
 * owner); exhaustion is EAGAIN with kernel memory intact; an LWP's exit
 * gives its mailbox back; the keepalive ends when nothing is live. Every
 * wait has a deadline; the process-level cases run in child processes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from '../src/sys/index.js';
import { boot, kernel_image } from '../src/kern/boot.js';
import { all_caches, I32 } from '../src/kern/kmem.js';
import { mbox_held, mbox_mine, mbox_post, mbox_lwp_exited } from '../src/kern/mailbox.js';
import { scenario, until, within } from './helpers.js';

boot({ lwp_pool: 2 });
const fixture = new URL('./fixtures/mbox.js', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'ukern-mbox-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const inuse = (): number => sys.kmem_snapshot().caches.find((c) => c.cache === 'mbox')!.inUse;
const SLOT = (b: number): number => b & 0x1ffff;
function file(name: string): number { const p = join(dir, name); writeFileSync(p, Buffer.alloc(64, 7)); return openSync(p, 'r'); }
const thread = (fn: (v: number) => void, value = 0): sys.aio_sigevent =>
  ({ sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: fn, sigev_value: value });

// First, while this thread has no mailbox yet.
test('exhaustion: timer_create and aio_read with SIGEV_THREAD are EAGAIN, and leave kernel memory as they found it', () => {
  assert.equal(mbox_held(), 0);
  const cache = all_caches().find((c) => c.name === 'mbox')!;
  const taken: number[] = [];
  for (let h = cache.alloc(); h !== 0; h = cache.alloc()) taken.push(h);
  try {
    assert.ok(taken.length >= 8, `${taken.length} free mailboxes`);
    const before = JSON.stringify(sys.kmem_snapshot().caches.map((c) => [c.cache, c.inUse]));
    const timers = sys.kstat('timer')['timer.created'];
    assert.equal(mbox_mine(), 0);
    assert.throws(() => sys.timer_create(sys.CLOCK_MONOTONIC, thread(() => {}) as sys.sigevent), { code: 'EAGAIN', syscall: 'timer_create' });
    const fd = file('x');
    assert.throws(() => sys.aio_read({ aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 8, aio_sigevent: thread(() => {}) }), { code: 'EAGAIN', syscall: 'aio_read' });
    closeSync(fd);
    assert.equal(JSON.stringify(sys.kmem_snapshot().caches.map((c) => [c.cache, c.inUse])), before, 'every cache as it was');
    assert.equal(sys.kstat('timer')['timer.created'], timers);
    assert.equal(mbox_held(), 0);
  } finally {
    for (const h of taken) cache.free(h);
  }
});

test('one mailbox per thread: a SIGEV_THREAD timer and a SIGEV_THREAD aio request of this thread share it', async () => {
  const base = inuse();
  const fd = file('a');
  const got: string[] = [];
  let fired!: () => void, read!: () => void;
  const p1 = new Promise<void>((r) => { fired = r; }), p2 = new Promise<void>((r) => { read = r; });
  const tid = sys.timer_create(sys.CLOCK_MONOTONIC, thread((v) => { got.push(`timer ${v}`); fired(); }, 3) as sys.sigevent);
  const b = mbox_held();
  assert.notEqual(b, 0);
  assert.equal(inuse(), base + 1);
  sys.timer_settime(tid, 0, { it_value: { tv_sec: 0, tv_nsec: 5e6 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
  sys.aio_read({ aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 8, aio_sigevent: thread((v) => { got.push(`aio ${v}`); read(); }, 4) });
  assert.equal(mbox_held(), b, 'the aio request bound the same mailbox');
  assert.equal(inuse(), base + 1, 'one mailbox for both consumers');
  assert.equal(sys.kstat('mbox')['mbox.in_use'], base + 1);
  await within(Promise.all([p1, p2]), 10000, 'both SIGEV_THREAD functions');
  assert.deepEqual(got.sort(), ['aio 4', 'timer 3']);
  sys.timer_delete(tid);
  closeSync(fd);
});

test('generation: a post of a binding taken before the mailbox was given back does not wake the slot\'s next owner', async () => {
  const base = inuse();
  const sab = new SharedArrayBuffer(32), a = new Int32Array(sab);
  const A = sys.lwp_create({ module: fixture, export: 'takeAndLeave', arg: { sab } });
  await within(sys.lwp_wait_async(A), 10000, 'LWP A');
  const stale = a[0]!;
  assert.notEqual(stale, 0);
  await until(() => inuse() === base, 5000, "A's mailbox given back");
  const B = sys.lwp_create({ module: fixture, export: 'takeAndWatch', arg: { sab } });
  try {
    await until(() => Atomics.load(a, 2) >= 1, 10000, "B's pump running");
    const fresh = a[1]!;
    assert.equal(SLOT(fresh), SLOT(stale), 'B took the slot A gave back');
    assert.notEqual(fresh, stale, 'under a new generation');
    const rounds = Atomics.load(a, 2);
    const dropped = sys.kstat('mbox')['mbox.stale_posts']!;
    // B's pump sleeps on its slot's word: only a write of that word or a
    // notify of it can wake it. The stale post must do neither, checked as
    // it happens (each Atomics.notify on kernel memory it makes is seen), not
    // by watching B's rounds for a while: they count every wake-up, whatever
    // its cause, and a quiet window proves nothing either way.
    const word = kernel_image().layout.regions['mbox.word']![0] + SLOT(fresh) - 1;
    const watched = (b: number): { posted: boolean; notified: number[] } => {
      const notify = Atomics.notify, notified: number[] = [];
      Atomics.notify = ((ta: Int32Array, i: number, n?: number): number => {
        if (ta.buffer === I32.buffer) notified.push(i);
        return notify(ta, i, n);
      }) as typeof Atomics.notify;
      try { return { posted: mbox_post(b), notified }; } finally { Atomics.notify = notify; }
    };
    const before = Atomics.load(I32, word);
    assert.equal(before & 1, 0, "B's word not posted before");
    const s = watched(stale);
    assert.equal(s.posted, false, 'the stale post is refused');
    assert.equal(sys.kstat('mbox')['mbox.stale_posts'], dropped + 1);
    assert.equal(Atomics.load(I32, word), before, "B's word as it was: the stale post did not set its POSTED bit");
    assert.deepEqual(s.notified, [], 'the stale post notified nothing (B\'s pump not woken)');
    // The watch sees what a post that reaches the word does: one notify of it.
    const f = watched(fresh);
    assert.equal(f.posted, true);
    assert.deepEqual(f.notified, [word], "the fresh post notified B's word");
    await until(() => Atomics.load(a, 2) === rounds + 1, 10000, 'B woken by its own binding');
  } finally {
    // B ends whatever failed above: left watching, it held the file until the runner's 120 s timeout.
    Atomics.store(a, 3, 1); Atomics.notify(a, 3);
  }
  await within(sys.lwp_wait_async(B), 10000, 'LWP B');
  await until(() => inuse() === base, 5000, "B's mailbox given back");
});

test('generation, end to end: an aio completion bound to a mailbox given back does not move the next owner\'s word', () => {
  const r = scenario('mbox-stale', [], 60000);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { moved: boolean; stale: number; aCalled: number };
  assert.deepEqual(out, { moved: false, stale: 1, aCalled: 0 });
});

test('an LWP that used both consumers gives its one mailbox back when it exits', async () => {
  const base = inuse();
  const sab = new SharedArrayBuffer(16), a = new Int32Array(sab);
  const fd = file('b');
  const lid = sys.lwp_create({ module: fixture, export: 'bothAndLeave', arg: { sab, fd } });
  await within(sys.lwp_wait_async(lid), 10000, 'the LWP');
  assert.equal(a[0], 1);
  assert.notEqual(a[1], 0);
  await until(() => inuse() === base, 5000, 'the mailbox given back');
  // Its timer is the process's: still there, disconnected (nothing to run it).
  assert.deepEqual(sys.timer_gettime(a[2]!).it_value.tv_sec > 0, true);
  sys.timer_delete(a[2]!);
  closeSync(fd);
});

test('a dead worker\'s LWP: lwp0 finds its mailbox by owner, gives it back, and its bindings go stale', () => {
  const base = inuse();
  const cache = all_caches().find((c) => c.name === 'mbox')!;
  const h = cache.alloc(), i = cache.index(h);
  const DEAD = 0x3eadbeef; // no LWP of this process: the hook runs as lwp0 runs it, for another thread's LWP
  Atomics.store(I32, h + 1, DEAD); // the owner field
  const word = kernel_image().layout.regions['mbox.word']![0] + i;
  const b = (((Atomics.load(I32, word) >>> 1) & 0x3fff) << 17) | (i + 1);
  assert.equal(inuse(), base + 1);
  assert.equal(mbox_post(b), true, 'a live binding posts');
  mbox_lwp_exited(DEAD);
  assert.equal(inuse(), base, 'given back');
  assert.equal(mbox_post(b), false, 'and stale from then on');
});

test('keepalive: a thread is kept alive while a SIGEV_THREAD timer or request may deliver, and not after', () => {
  const t0 = Date.now();
  const r = scenario('mbox-alive', [], 20000);
  assert.equal(r.signal, null, `did not exit by itself: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['timer 1', 'aio 2', 'done']);
  assert.ok(Date.now() - t0 < 20000);
});
