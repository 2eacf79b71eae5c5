/**
 * ParkMutex as a robust mutex (pthread_mutex_* with PTHREAD_MUTEX_ROBUST):
 * the owner's death is noticed by the next locker and by waiters already
 * parked, EOWNERDEAD / consistent() / ENOTRECOVERABLE, and lwp_wakeup
 * interrupting a waiting lock(). Every locker is an LWP so that a
 * regression (a locker parked for ever) fails the deadline instead of
 * hanging the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { ParkMutex } from 'ukern';
import { lockOutcome } from './fixtures/lwps-pkg.js';
import { pkgFixtures as fixtures, within, until } from './helpers.js';

const st = (lid: number) => sys.lwp_snapshot().lwps.find((l) => l.lid === lid);

async function holderReady(a: Int32Array): Promise<void> {
  await until(() => Atomics.load(a, 0) === 1, 10000, 'the holder to lock');
}
/**
 * Lets a holdsAndLeaves holder go (word 1), in each test's finally: it
 * waits for that word outside the kernel with no deadline, and the lockers
 * parked behind it wait for its end; a failed assertion before the test let
 * it go left them all there, and the file ended at the runner's deadline,
 * not at the failure. Setting it twice is harmless.
 */
function letHolderGo(a: Int32Array): void {
  Atomics.store(a, 1, 1);
  Atomics.notify(a, 1);
}
async function collect(lid: number): Promise<void> {
  assert.equal(await within(sys.lwp_wait_async(lid), 15000, `LWP ${lid} to finish`), lid);
}

for (const how of ['return', 'throw', 'exit', 'die']) {
  test(`owner leaves holding it (${how}): a parked waiter gets it with EOWNERDEAD; consistent() makes it usable again`, async () => {
    const m = new ParkMutex(8);
    const sab = new SharedArrayBuffer(16);
    const a = new Int32Array(sab);
    const holder = sys.lwp_create({ module: fixtures, export: 'holdsAndLeaves', arg: { mutex: m.sab, sab, how, wait: true } });
    try {
      await holderReady(a);
      const waiter = sys.lwp_create({ module: fixtures, export: 'locksRobust', arg: { mutex: m.sab, sab, slot: 3, repair: true } });
      await until(() => st(waiter)?.wmesg === 'parked', 10000, 'the waiter to park');
      Atomics.store(a, 1, 1);
      Atomics.notify(a, 1);
      await collect(holder);
      await collect(waiter);
      assert.equal(a[3], lockOutcome.EOWNERDEAD);
      // Made consistent and unlocked: an ordinary mutex again.
      m.lock();
      m.unlock();
      assert.equal(m.notRecoverable, false);
    } finally {
      letHolderGo(a);
    }
  });
}

test('a locker that comes after the owner exited gets EOWNERDEAD at once', async () => {
  const m = new ParkMutex(8);
  const sab = new SharedArrayBuffer(16);
  const holder = sys.lwp_create({ module: fixtures, export: 'holdsAndLeaves', arg: { mutex: m.sab, sab, how: 'return', wait: false } });
  await collect(holder);
  assert.throws(() => m.lock(), (e: unknown) => e instanceof sys.SysError && e.code === 'EOWNERDEAD');
  // Held now, by LWP 1.
  assert.throws(() => m.lock(), (e: unknown) => e instanceof sys.SysError && e.code === 'EDEADLK');
  m.consistent();
  m.unlock();
  assert.equal(m.tryLock(), true);
  m.unlock();
});

test('unlocked after EOWNERDEAD without consistent(): ENOTRECOVERABLE for waiters and later lockers', async () => {
  const m = new ParkMutex(8);
  const sab = new SharedArrayBuffer(32);
  const a = new Int32Array(sab);
  const holder = sys.lwp_create({ module: fixtures, export: 'holdsAndLeaves', arg: { mutex: m.sab, sab, how: 'return', wait: true } });
  try {
    await holderReady(a);
    const w1 = sys.lwp_create({ module: fixtures, export: 'locksRobust', arg: { mutex: m.sab, sab, slot: 3, repair: false } });
    const w2 = sys.lwp_create({ module: fixtures, export: 'locksRobust', arg: { mutex: m.sab, sab, slot: 4, repair: false } });
    await until(() => st(w1)?.wmesg === 'parked' && st(w2)?.wmesg === 'parked', 10000, 'both waiters to park');
    Atomics.store(a, 1, 1);
    Atomics.notify(a, 1);
    await collect(holder);
    await collect(w1);
    await collect(w2);
    // One took it over (EOWNERDEAD) and gave it up; the other learns it is unusable.
    assert.deepEqual([a[3], a[4]].sort(), [lockOutcome.EOWNERDEAD, lockOutcome.ENOTRECOVERABLE].sort());
    assert.equal(m.notRecoverable, true);
    assert.throws(() => m.lock(), (e: unknown) => e instanceof sys.SysError && e.code === 'ENOTRECOVERABLE');
    assert.throws(() => m.tryLock(), (e: unknown) => e instanceof sys.SysError && e.code === 'ENOTRECOVERABLE');
  } finally {
    letHolderGo(a);
  }
});

test('lwp_wakeup interrupts a waiting lock(): EINTR, not held; unlock by a non-owner is EPERM', async () => {
  const m = new ParkMutex(8);
  const sab = new SharedArrayBuffer(32);
  const a = new Int32Array(sab);
  m.lock();
  try {
    const w = sys.lwp_create({ module: fixtures, export: 'locksRobust', arg: { mutex: m.sab, sab, slot: 3, repair: false } });
    await until(() => st(w)?.wmesg === 'parked', 10000, 'the waiter to park');
    // Its park is bounded (it looks at the owner now and then): aim again if it was between two.
    await until(() => {
      try { sys.lwp_wakeup(w); return true; } catch (e) { if ((e as sys.SysError).code === 'ENODEV') return false; throw e; }
    }, 10000, 'the wakeup to land');
    await collect(w);
    assert.equal(a[3], lockOutcome.EINTR);
  } finally {
    m.unlock();
  }
  assert.throws(() => m.unlock(), (e: unknown) => e instanceof sys.SysError && e.code === 'EPERM');
  assert.equal(m.tryLock(), true);
  m.unlock();
});

test('lock({ timeout }): ETIMEDOUT while a live LWP holds it (0 tries once), after no less than the timeout; the owner\'s death still ends it with EOWNERDEAD; the options are checked', async () => {
  const m = new ParkMutex(8);
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const holder = sys.lwp_create({ module: fixtures, export: 'holdsAndLeaves', arg: { mutex: m.sab, sab, how: 'return', wait: true } });
  try {
    await holderReady(a);
    const timedOut = (e: unknown): boolean => e instanceof sys.SysError && e.code === 'ETIMEDOUT';
    assert.throws(() => m.lock({ timeout: 0 }), timedOut);
    const t0 = performance.now();
    assert.throws(() => m.lock({ timeout: 120 }), timedOut);
    const took = performance.now() - t0;
    assert.ok(took >= 120 && took < 5000, `timed out after ${took.toFixed(1)} ms`);
    assert.throws(() => m.lock({ timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => m.lock({ timeout: NaN }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => m.lock({ timeout: '5' as unknown as number }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => m.lock({ signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(m.tryLock(), false, 'none of them took it');
    // The holder returns holding it: a timed lock notices the death as lock() does.
    Atomics.store(a, 1, 1);
    Atomics.notify(a, 1);
    await collect(holder);
    assert.throws(() => m.lock({ timeout: 5000 }), (e: unknown) => e instanceof sys.SysError && e.code === 'EOWNERDEAD');
    m.consistent();
    m.unlock();
    m.lock({ timeout: 0 });
    m.unlock();
  } finally {
    letHolderGo(a);
  }
});
