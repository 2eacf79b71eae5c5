/**
 * kern/mutex.ts on its own, as libuv tests its primitives: exclusion under
 * contention from real LWPs (a plain, non-atomic counter incremented under
 * the mutex equals the sum, and no two threads are ever inside at once),
 * the M_WAITERS hand-off (sleepers on a held mutex are woken by the exit,
 * one after the other, well before the 1 s panic backstop of their wait,
 * and the word ends free), tryenter (never blocks, never panics on a lock
 * the caller holds, records nothing when it fails), notify_after_unlock
 * (the wake-up goes out after the lock word is free, not before), and each
 * thread's held-lock count back at 0. Recursion is lwp-fail.test.ts's
 * (scenarios/lwp-recurse.ts). The lock words are park-table bucket locks
 * (class parktab) on buckets no LWP parks on, so LOCKDEBUG (npm test sets
 * UKERN_LOCKDEBUG=1) checks every acquisition here too. Every wait has a
 * deadline; the seed is printed on failure (UKERN_SEED replays it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';
import { mutex_enter, mutex_exit, mutex_tryenter, notify_after_unlock, M_WAITERS } from '../src/kern/mutex.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { mono_now } from '../src/kern/time.js';
import { curproc, P } from '../src/kern/proc.js';
import { park_bucket_lock } from '../src/lwp/park.js';
import { MC_OVERLAP, MC_NLOCKS, MC_TRYWINS, MC_DONE, MC_STRIDE } from './fixtures/kern-prims.js';
import { seed, rng, until, within } from './helpers.js';

const prims = new URL('./fixtures/kern-prims.js', import.meta.url);
const slept = (): number => kstat_snapshot('kern')['kern.mutex_slept'] ?? 0;
const nlocks = (): number => I32[cur.nlocksw]!;

async function reap(lids: number[]): Promise<void> {
  await within(Promise.all(lids.map((l) => sys.lwp_wait_async(l))), 30000, 'LWPs to exit');
}

test('exclusion: three LWPs increment a plain counter under one mutex (enter and tryenter): no increment lost, never two inside, nothing left held', async (t) => {
  sys.lwp_self(); // boot
  const s = seed(), r = rng(s);
  const N = 3, ITERS = 30000, bucket = 77;
  const ctl = new SharedArrayBuffer(16), res = new SharedArrayBuffer(4 * MC_STRIDE * N);
  const c = new Int32Array(ctl), out = new Int32Array(res);
  const before = kstat_snapshot('kern');
  const lids = Array.from({ length: N }, (_, id) => sys.lwp_create({
    module: prims, export: 'mutexCounter', arg: { ctl, res, id: id + 1, n: N, iters: ITERS, seed: Math.floor(r() * 0x7fffffff) + 1, bucket },
  }));
  await reap(lids);
  for (let i = 0; i < N; i++) assert.equal(out[i * MC_STRIDE + MC_DONE], 1, `LWP ${i + 1} finished its loop (seed ${s})`);
  const after = kstat_snapshot('kern');
  const contended = (after['kern.mutex_spun']! - before['kern.mutex_spun']!) + (after['kern.mutex_slept']! - before['kern.mutex_slept']!);
  t.diagnostic(`seed ${s}: ${contended} contended enters`);
  for (let i = 0; i < N; i++) {
    assert.equal(out[i * MC_STRIDE + MC_OVERLAP], 0, `LWP ${i + 1} found another thread inside the mutex (seed ${s})`);
    assert.equal(out[i * MC_STRIDE + MC_NLOCKS], 0, `LWP ${i + 1} ends with its lock count at 0 (seed ${s})`);
    assert.ok(out[i * MC_STRIDE + MC_TRYWINS]! > 0, `LWP ${i + 1} took it by tryenter sometimes (seed ${s})`);
  }
  assert.ok(contended > 0, 'the LWPs contended for the mutex (else nothing was tested)');
  assert.equal(c[0], N * ITERS, `counter is the sum of the increments (seed ${s}; ${contended} contended enters)`);
  assert.equal(Atomics.load(I32, park_bucket_lock(bucket)), 0, 'the mutex word ends free');
  assert.equal(nlocks(), 0);
});

test('M_WAITERS hand-off: three LWPs asleep on a held mutex are each woken by an exit (not by the 1 s backstop), and the word ends free', async () => {
  sys.lwp_self();
  const K = 3, bucket = 78, w = park_bucket_lock(bucket);
  const ctl = new SharedArrayBuffer(4 * 16), res = new SharedArrayBuffer(8 * 4 * (K + 1));
  const c = new Int32Array(ctl), out = new Float64Array(res);
  const lids = Array.from({ length: K }, (_, i) => sys.lwp_create({ module: prims, export: 'mutexSleeper', arg: { ctl, res, slot: i + 1, bucket } }));
  await until(() => lids.every((_, i) => Atomics.load(c, i + 1) === 1), 30000, 'sleepers ready');
  const s0 = slept();
  // Held by this thread, synchronously: no await (and so no other kernel
  // work of this thread) between the enter and the exit.
  mutex_enter(w);
  assert.equal(nlocks(), 1);
  Atomics.store(c, 0, 1); Atomics.notify(c, 0);
  const end = Date.now() + 20000;
  const scratch = new Int32Array(new SharedArrayBuffer(4));
  while ((slept() - s0 < K || (Atomics.load(I32, w) & M_WAITERS) === 0) && Date.now() < end) Atomics.wait(scratch, 0, 0, 1);
  const asleep = slept() - s0, word = Atomics.load(I32, w);
  const tExit = mono_now();
  mutex_exit(w);
  assert.equal(nlocks(), 0);
  assert.ok(asleep >= K, `all ${K} contenders went to sleep on the mutex (saw ${asleep})`);
  assert.equal(word, cur.lid | M_WAITERS, 'the held word carries the owner and M_WAITERS');
  await until(() => lids.every((_, i) => Atomics.load(c, 8 + i + 1) === 1), 20000, 'every sleeper to get the mutex');
  await reap(lids);
  for (let i = 1; i <= K; i++) {
    assert.equal(out[i * 4 + 1], 1, `sleeper ${i} held one lock inside`);
    assert.equal(out[i * 4 + 2], 0, `sleeper ${i} ends holding none`);
  }
  // Each got it within a chain of hand-offs of the exit: a mutex_exit that
  // did not notify would leave them to the 1000 ms backstop of their wait.
  const lag = Math.max(...Array.from({ length: K }, (_, i) => out[(i + 1) * 4]! - tExit / 1e6));
  assert.ok(lag >= 0 && lag < 500, `the last sleeper got the mutex ${lag.toFixed(1)} ms after the exit`);
  assert.equal(Atomics.load(I32, w), 0, 'no owner and no stale M_WAITERS left on the word');
});

test('tryenter: takes a free mutex, fails (never blocks, never panics) on one held by another thread or by the caller, and a failure records nothing', async () => {
  sys.lwp_self();
  const bucket = 79, w = park_bucket_lock(bucket);
  // Free: taken, owned by this thread.
  assert.equal(mutex_tryenter(w), true);
  assert.equal(Atomics.load(I32, w), cur.lid);
  assert.equal(nlocks(), 1);
  // Held by the caller: a plain failure (mutex_enter would panic), the lock still held once.
  assert.equal(mutex_tryenter(w), false);
  assert.equal(Atomics.load(I32, w), cur.lid);
  assert.equal(nlocks(), 1);
  mutex_exit(w);
  assert.equal(Atomics.load(I32, w), 0);
  assert.equal(nlocks(), 0);
  // Held by another LWP: fails at once, the word unchanged.
  const ctl = new SharedArrayBuffer(16), c = new Int32Array(ctl);
  const lid = sys.lwp_create({ module: prims, export: 'mutexHolder', arg: { ctl, bucket } });
  await until(() => Atomics.load(c, 1) === 1, 30000, 'the holder to take the mutex');
  const t0 = Date.now();
  assert.equal(mutex_tryenter(w), false);
  assert.ok(Date.now() - t0 < 1000, 'tryenter does not wait');
  assert.equal(Atomics.load(I32, w), c[3], 'the word still names the holder');
  assert.equal(nlocks(), 0, 'a failed tryenter counts no lock');
  // Nothing was recorded as held: with LOCKDEBUG on, taking the proc lock
  // (ordered before parktab) now is legal; it would panic had the failed
  // tryenter left the parktab lock on this thread's held list.
  const proc = curproc() + P.lock;
  mutex_enter(proc); mutex_exit(proc);
  Atomics.store(c, 0, 1); Atomics.notify(c, 0);
  await until(() => Atomics.load(c, 2) !== 0, 20000, 'the holder to let go');
  assert.equal(c[2], 1, 'holder released it on the go');
  assert.equal(mutex_tryenter(w), true, 'free again: taken');
  mutex_exit(w);
  await reap([lid]);
  assert.equal(Atomics.load(I32, w), 0);
  assert.equal(nlocks(), 0);
});

test('notify_after_unlock: the wake-up is held back while the mutex is held and goes out after the word is free', async () => {
  sys.lwp_self();
  const bucket = 80, lock = park_bucket_lock(bucket), word = lock + 3; // the bucket's pad word: no kernel code uses it
  const scratch = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    Atomics.store(I32, word, 0);
    const ctl = new SharedArrayBuffer(16), c = new Int32Array(ctl);
    const lid = sys.lwp_create({ module: prims, export: 'kernWordWaiter', arg: { ctl, word, lockw: lock } });
    await until(() => Atomics.load(c, 0) === 1, 30000, 'the waiter to start waiting');
    // Give its Atomics.wait the time to begin (a wait that starts after the
    // store below returns 'not-equal', which only costs another attempt).
    await new Promise((r) => setTimeout(r, 20));
    mutex_enter(lock);
    Atomics.store(I32, word, 1);
    notify_after_unlock(word);
    // Still held: the waiter must not wake. 150 ms is ample for a delivered
    // notify to be seen (a wake-up takes microseconds to milliseconds).
    const end = Date.now() + 150;
    while (Atomics.load(c, 1) === 0 && Date.now() < end) Atomics.wait(scratch, 0, 0, 1);
    const early = Atomics.load(c, 1);
    mutex_exit(lock);
    if (early === 3 && attempt < 5) { await reap([lid]); continue; } // its wait began too late: again
    assert.equal(early, 0, 'no wake-up while the mutex was held');
    await until(() => Atomics.load(c, 1) !== 0, 20000, 'the waiter to be notified after the exit');
    await reap([lid]);
    Atomics.store(I32, word, 0);
    assert.equal(c[1], 1, 'the waiter was woken by the deferred notify (2: it timed out)');
    assert.equal(c[2], 0, 'when the waiter woke, the lock word was already free');
    break;
  }
  assert.equal(nlocks(), 0);
});

test('a panic wakes a thread asleep on a contended kernel mutex at once: EIO long before its wait\'s 1 s backstop, and the wake-up costs the panicking thread no scan of kernel memory', () => {
  const file = fileURLToPath(new URL('./scenarios/mutex-panic-wake.js', import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 70, `a panicked process exits 70\n${out}`);
  const m = /^panic wake-up ([\d.]+) ms; sleeper's outcome (\d) after ([\d.]+) ms$/m.exec(r.stdout);
  assert.ok(m !== null, out);
  assert.equal(m[2], '1', `the sleeper's mutex_enter ended EIO\n${out}`);
  assert.ok(Number(m[3]) < 500, `woken by the panic, not by its backstop\n${out}`);
  // Scanning the 48 MiB of a default kernel for contended words took 156-164 ms
  // on a quiet machine; the walk of the slots, 2.3-2.5 ms (the bound leaves room for a loaded one).
  assert.ok(Number(m[1]) < 100, `the panic's wake-up is a walk of the sleepers' slots\n${out}`);
});
