/**
 * lwp_* through ukern/sys (public behaviour): LWP 1, the private word,
 * create/wait/detach/exit and their errno paths, NetBSD's EDEADLK and
 * first-waiter rules, start functions that throw or do not exist, worker
 * deaths, the warm pool, lwp_kill's existence check, and the kstat counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { pkgFixtures as fixtures, within, until, cleanup } from './helpers.js';

const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;
const st = (lid: number) => sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.state;
const inWait = (lid: number) => { const l = sys.lwp_snapshot().lwps.find((x) => x.lid === lid); return l?.state === 'SLEEP' && l.wmesg === 'lwpwait'; };

/**
 * lwp_wakeup until it lands: right after a failed lwp_wait of ours broadcast
 * the wait condition, the target is briefly running between two sleeps, and
 * lwp_wakeup then rightly answers ENODEV.
 */
async function wakeupWhenAsleep(lid: number): Promise<void> {
  for (;;) {
    await until(() => inWait(lid), 10000, `${lid} asleep in lwp_wait`);
    try { sys.lwp_wakeup(lid); return; } catch (e) { if (!(e instanceof sys.SysError) || e.code !== 'ENODEV') throw e; }
  }
}

/*
 * The LWPs of these tests park (lwp_park with no deadline) or wait in
 * lwp_wait for an LWP that never exits (LWP 1) until the test lets them go;
 * a failed assertion before that left them asleep, and the file ended at the
 * runner's deadline, not at the failure. Each test lets them go in finally
 * after a failure: unparkLeft() unparks an LWP (its park ends, or finds the unpark
 * pending) and releaseWaiter() interrupts an lwp_wait (EINTR).
 */
const quietly = (f: () => void): void => { try { f(); } catch { /* gone already */ } };
const unparkLeft = (lid: number): void => quietly(() => sys.lwp_unpark(lid));
async function releaseWaiter(lid: number): Promise<void> {
  const end = Date.now() + 10000;
  while (Date.now() < end && st(lid) !== undefined && st(lid) !== 'ZOMB') {
    if (inWait(lid)) quietly(() => sys.lwp_wakeup(lid));
    await new Promise((r) => setTimeout(r, 1));
  }
  await cleanup(within(sys.lwp_wait_async(lid), 10000, `collect ${lid}`), false);
}

test('the booting thread is LWP 1 and ONPROC', () => {
  assert.equal(sys.lwp_self(), 1);
  assert.equal(st(1), 'ONPROC');
});

test('private word is kept bit-exact', () => {
  for (const v of [0, -0, 1.5, -(2 ** 60), Number.MAX_VALUE, Number.MIN_VALUE, Infinity, 2 ** 53 + 2]) {
    sys.lwp_setprivate(v);
    assert.ok(Object.is(sys.lwp_getprivate(), v), `private ${v}`);
  }
  sys.lwp_setprivate(NaN);
  assert.ok(Number.isNaN(sys.lwp_getprivate()));
  assert.throws(() => sys.lwp_setprivate('x' as unknown as number), TypeError);
});

test('lwp_create runs the start function with a cloned argument and lwp_wait collects it', async () => {
  const sab = new SharedArrayBuffer(16);
  const lid = sys.lwp_create({ module: fixtures, export: 'selfAndPrivate', arg: { sab, value: 42.5 } });
  assert.ok(lid > 1);
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'lwp_wait'), lid);
  const a = new Float64Array(sab);
  assert.equal(a[0], lid, 'lwp_self inside the LWP');
  assert.equal(a[1], 42.5, 'its own private word');
  assert.throws(() => sys.lwp_wait(lid), code('ESRCH'), 'collected once');
});

test('lwp_wait(0) collects any LWP; with nothing to wait for it is ESRCH', async () => {
  const a = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
  const b = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
  const got = [await within(sys.lwp_wait_async(0), 10000, 'wait any'), await within(sys.lwp_wait_async(0), 10000, 'wait any')];
  assert.deepEqual(got.sort(), [a, b].sort());
  assert.throws(() => sys.lwp_wait(0), code('ESRCH'));
});

test('lwp_wait errno paths: self EDEADLK, unknown ESRCH, detached ESRCH, bad ids', async () => {
  assert.throws(() => sys.lwp_wait(1), code('EDEADLK'));
  assert.throws(() => sys.lwp_wait(999999), code('ESRCH'));
  assert.throws(() => sys.lwp_wait(-1), code('ESRCH'));
  assert.throws(() => sys.lwp_wait(NaN), code('ESRCH'));
  assert.throws(() => sys.lwp_wait(2 ** 40), code('ESRCH'));
  assert.throws(() => sys.lwp_wait('2' as unknown as number), TypeError);
  const sab = new SharedArrayBuffer(16);
  const lid = sys.lwp_create({ module: fixtures, export: 'parkOnce', arg: { sab, slot: 0 } }, sys.LWP_DETACHED);
  let passed = false;
  try {
    assert.throws(() => sys.lwp_wait(lid), code('ESRCH'), 'a detached LWP cannot be waited for');
    await until(() => st(lid) === 'SLEEP', 10000, 'the detached LWP to park');
    sys.lwp_unpark(lid);
    await until(() => st(lid) === undefined, 10000, 'the detached LWP to be freed on exit');
    passed = true;
  } finally {
    if (!passed) unparkLeft(lid); // (detached: nothing to collect)
  }
});

test('EDEADLK: two LWPs waiting for each other', async () => {
  const sab = new SharedArrayBuffer(64);
  const a = new Int32Array(sab);
  // LWP x waits for main (lid 1): main is never a zombie, so x sleeps with waitingfor = 1.
  const x = sys.lwp_create({ module: fixtures, export: 'waitsFor', arg: { sab, lid: 1, slot: 0 } });
  let passed = false;
  try {
    await until(() => inWait(x), 10000, 'x to sleep in lwp_wait');
    assert.throws(() => sys.lwp_wait(x), code('EDEADLK'));
    await wakeupWhenAsleep(x); // interrupt its wait: EINTR
    await until(() => st(x) === 'ZOMB', 10000, 'x to exit'); // until then x still waits for us: EDEADLK
    assert.equal(await within(sys.lwp_wait_async(x), 10000, 'collect x'), x);
    passed = true;
  } finally {
    if (!passed) await releaseWaiter(x); // (x waits for LWP 1, which never exits)
  }
  assert.equal(a[0], -3, 'x saw EINTR');
});

test('EDEADLK when every LWP would wait: the last one to wait for any fails', async () => {
  const sab = new SharedArrayBuffer(64);
  const a = new Int32Array(sab);
  const x = sys.lwp_create({ module: fixtures, export: 'waitsFor', arg: { sab, lid: 0, slot: 0 } });
  let passed = false;
  try {
    // x waits for "any": the only other LWP is main, which is running, so x sleeps.
    await until(() => inWait(x), 10000, 'x to sleep in lwp_wait(0)');
    // Now main also waits for any: x is a candidate but x itself waits, and nobody else can exit.
    // x is not a zombie and will not become one: running count 2 (main+x) <= waiters 2 -> EDEADLK.
    assert.throws(() => sys.lwp_wait(0), code('EDEADLK'));
    await wakeupWhenAsleep(x);
    await until(() => st(x) === 'ZOMB', 10000, 'x to exit');
    assert.equal(await within(sys.lwp_wait_async(x), 10000, 'collect x'), x);
    passed = true;
  } finally {
    if (!passed) await releaseWaiter(x); // (x waits for any, and no other LWP exits)
  }
  assert.equal(a[0], -3);
});

test('the first waiter rule: a specific waiter gets the LWP, a wait-for-any does not take it', async () => {
  const sab = new SharedArrayBuffer(64);
  const a = new Int32Array(sab);
  const target = sys.lwp_create({ module: fixtures, export: 'parkOnce', arg: { sab, slot: 4 } });
  const waiter = sys.lwp_create({ module: fixtures, export: 'waitsFor', arg: { sab, lid: target, slot: 0 } });
  let passed = false;
  try {
    await until(() => inWait(waiter) && st(target) === 'SLEEP', 10000, 'both asleep');
    const any = sys.lwp_wait_async(0);
    sys.lwp_unpark(target);
    // main must not collect target (it has a first waiter); it gets the waiter when that exits.
    assert.equal(await within(any, 10000, 'wait any'), waiter);
    passed = true;
  } finally {
    // (the target's exit ends the waiter's lwp_wait; the waiter collects it)
    if (!passed) { unparkLeft(target); await cleanup(within(sys.lwp_wait_async(waiter), 10000, 'collect the waiter'), false); }
  }
  assert.equal(a[0], target, 'the specific waiter collected the target');
});

test('lwp_detach: zombie freed at once, EINVAL when detached twice, ESRCH unknown', async () => {
  const lid = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
  await until(() => st(lid) === 'ZOMB', 10000, 'zombie');
  sys.lwp_detach(lid);
  assert.equal(st(lid), undefined, 'freed');
  assert.throws(() => sys.lwp_detach(lid), code('ESRCH'));
  assert.throws(() => sys.lwp_detach(123456), code('ESRCH'));
  const sab = new SharedArrayBuffer(16);
  const l2 = sys.lwp_create({ module: fixtures, export: 'parkOnce', arg: { sab, slot: 0 } });
  let passed = false;
  try {
    sys.lwp_detach(l2);
    assert.throws(() => sys.lwp_detach(l2), code('EINVAL'));
    await until(() => st(l2) === 'SLEEP', 10000, 'park');
    sys.lwp_unpark(l2);
    await until(() => st(l2) === undefined, 10000, 'detached LWP freed at exit');
    passed = true;
  } finally {
    if (!passed) { unparkLeft(l2); quietly(() => sys.lwp_detach(l2)); } // (freed at its exit, or now)
  }
});

test('a start function that throws leaves a collectable zombie', async () => {
  const lid = sys.lwp_create({ module: fixtures, export: 'throws' });
  await until(() => st(lid) === 'ZOMB', 10000, 'zombie');
  assert.equal(sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.threw, true);
  assert.equal(await sys.lwp_wait_async(lid), lid);
});

test('a missing export or module: the LWP exits as if it threw', async () => {
  const a = sys.lwp_create({ module: fixtures, export: 'noSuchExport' });
  const b = sys.lwp_create({ module: new URL('./fixtures/does-not-exist.js', import.meta.url) });
  for (const lid of [a, b]) {
    await until(() => st(lid) === 'ZOMB', 10000, 'zombie');
    assert.equal(sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.threw, true);
    assert.equal(await sys.lwp_wait_async(lid), lid);
  }
});

test('lwp_exit in a worker ends the LWP there and then', async () => {
  const sab = new SharedArrayBuffer(16);
  const lid = sys.lwp_create({ module: fixtures, export: 'callsExit', arg: { sab } });
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'wait'), lid);
  assert.equal(new Int32Array(sab)[0], 1, 'code after lwp_exit did not run');
});

test('a worker that calls process.exit leaves a collectable zombie (reaped by lwp0)', async () => {
  const lid = sys.lwp_create({ module: fixtures, export: 'processExit' });
  await until(() => st(lid) === 'ZOMB', 10000, 'zombie');
  assert.equal(sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.died, true);
  assert.equal(await sys.lwp_wait_async(lid), lid);
});

test('lwp_create argument checks leave the kernel as it was', () => {
  const before = sys.lwp_snapshot().proc;
  assert.throws(() => sys.lwp_create(null as unknown as sys.LwpStart), TypeError);
  assert.throws(() => sys.lwp_create({ module: 42 as unknown as string }), TypeError);
  assert.throws(() => sys.lwp_create({ module: fixtures, export: 7 as unknown as string }), TypeError);
  assert.throws(() => sys.lwp_create({ module: fixtures }, 'x' as unknown as number), TypeError);
  assert.throws(() => sys.lwp_create({ module: fixtures }, 1.5), code('EINVAL'));
  assert.throws(() => sys.lwp_create({ module: fixtures, export: 'returnsAtOnce', arg: { f: () => 1 } }), TypeError);
  assert.deepEqual(sys.lwp_snapshot().proc, before);
});

test('LWPs are reused from the warm pool: 30 create/wait cycles', async () => {
  for (let i = 0; i < 30; i++) {
    const lid = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
    assert.equal(await within(sys.lwp_wait_async(lid), 10000, `cycle ${i}`), lid);
  }
  assert.equal(sys.lwp_snapshot().proc.nlwps, 1);
});

test('lwp_kill: signal 0 checks existence; EINVAL, ESRCH; real signals not yet', () => {
  sys.lwp_kill(1, 0);
  assert.throws(() => sys.lwp_kill(1, -1), code('EINVAL'));
  assert.throws(() => sys.lwp_kill(1, sys.NSIG), code('EINVAL'));
  assert.throws(() => sys.lwp_kill(77777, 0), code('ESRCH'));
  sys.sigaction(15, { sa_handler: sys.SIG_IGN });
  sys.lwp_kill(1, 15); // delivered, and ignored (signals.test.ts tests delivery)
  sys.sigaction(15, { sa_handler: sys.SIG_DFL });
  assert.throws(() => sys.lwp_kill(1, 'x' as unknown as number), TypeError);
});

test('kstat counters move with LWP life', async () => {
  const k0 = sys.kstat('lwp');
  const lid = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
  await sys.lwp_wait_async(lid);
  const k1 = sys.kstat('lwp');
  assert.equal(k1['lwp.created']! - k0['lwp.created']!, 1);
  assert.equal(k1['lwp.exited']! - k0['lwp.exited']!, 1);
  assert.equal(k1['lwp.collected']! - k0['lwp.collected']!, 1);
});
