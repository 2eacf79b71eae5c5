/**
 * lwp_wait's process-wide deadlock check (lwp/wait.ts, kern_lwp.c's
 * lwp_wait1): EDEADLK when p_nrlwps + p_nzlwps - p_ndlwps <= p_nlwpwait,
 * "every other LWP is waiting too" (docs/sys.md). The test is sound only
 * if p_nlwpwait counts each waiting LWP once, and only while it is counted
 * in p_nrlwps, as every NetBSD waiter is (one wait per LWP, asleep in
 * cv_wait_sig). Here neither held, and a wait failed with EDEADLK at once
 * while a target that waits for nobody could still exit:
 *
 *  - one LWP with several lwp_wait_async pending counted once per call;
 *  - an LWP suspended in its lwp_wait (halted in place: SLEEP ->
 *    SUSPENDED, out of p_nrlwps) stayed counted as a waiter.
 *
 * Found by reading wait.ts's check against the counters' writers (LWP
 * review). Deterministic: each case reads the outcome of a wait that must
 * sleep (EDEADLK at once was the bug); a wait found asleep is ended by
 * lwp_wakeup (EINTR) or its deadline (ETIMEDOUT).
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until, within, letLwpsGo } from './helpers.js';

// C parks with no deadline and B sleeps in lwp_wait(C) until the test lets
// them go; a test that failed first left them there, and the file ended at
// the runner's deadline, not at the failure. Each test releases B's start
// word (it waits for it outside the kernel) in finally; what is left in the
// kernel once each test is done is let go (nothing, after a test that passed).
afterEach(() => letLwpsGo(sys));

const sysUrl = import.meta.resolve('ukern/sys'); // (the LWPs' kernel is this thread's module instance)
const body = `import * as sys from ${JSON.stringify(sysUrl)};
export function parked() { try { sys.lwp_park(null, 9); } catch {} return 0; }
export function waitsFor(arg) {
  const a = new Int32Array(arg.sab);
  while (Atomics.load(a, 1) === 0) Atomics.wait(a, 1, 0);
  try { sys.lwp_wait(arg.t); a[0] = 1; } catch (e) { a[0] = e.code === 'EDEADLK' ? 2 : e.code === 'EINTR' ? 3 : e.code === 'ESRCH' ? 4 : 5; }
  Atomics.notify(a, 0);
  return 0;
}
`;
const mod = 'data:text/javascript,' + encodeURIComponent(body);
const OUTCOME = ['none', 'returned', 'EDEADLK', 'EINTR', 'ESRCH', 'other'];

const info = (lid: number): sys.LwpInfo | undefined => sys.lwp_snapshot().lwps.find((x) => x.lid === lid);
const inWait = (lid: number): boolean => { const l = info(lid); return l?.state === 'SLEEP' && l.wmesg === 'lwpwait'; };
const release = (a: Int32Array): void => { Atomics.store(a, 1, 1); Atomics.notify(a, 1); };

test('an LWP with two lwp_wait_async pending counts as one waiter: B\'s lwp_wait(C) of a parked C sleeps', async () => {
  const sab = new SharedArrayBuffer(8), a = new Int32Array(sab);
  const c = sys.lwp_create({ module: mod, export: 'parked' });
  const b = sys.lwp_create({ module: mod, export: 'waitsFor', arg: { sab, t: c } });
  try {
    // LWP 1 waits for both (its thread goes on running): three LWPs, two of them waiting once B waits.
    const waits = [sys.lwp_wait_async(b), sys.lwp_wait_async(c)];
    release(a);
    await until(() => Atomics.load(a, 0) !== 0 || inWait(b), 10_000, 'B to fail or sleep in lwp_wait');
    const got = OUTCOME[Atomics.load(a, 0)]!;
    if (got === 'none') {
      sys.lwp_wakeup(b);
      await until(() => Atomics.load(a, 0) !== 0, 10_000, 'B woken');
    }
    sys.lwp_unpark(c, 9);
    assert.deepEqual((await within(Promise.all(waits), 10_000, 'LWP 1\'s waits')).sort(), [b, c].sort());
    assert.equal(got, 'none', `B's lwp_wait(C) ended with ${got} while C, parked, could still exit`);
    assert.equal(sys.lwp_snapshot().proc.nlwpwait, 0);
    assert.deepEqual(sys.lwp_check(), []);
  } finally {
    release(a);
  }
});

test('an LWP suspended in its lwp_wait no longer counts as a waiter: lwp_wait of a parked LWP sleeps', async () => {
  const sab = new SharedArrayBuffer(8), a = new Int32Array(sab);
  const c = sys.lwp_create({ module: mod, export: 'parked' });
  const b = sys.lwp_create({ module: mod, export: 'waitsFor', arg: { sab, t: c } });
  try {
    release(a);
    await until(() => inWait(b), 10_000, 'B asleep in lwp_wait(C)');
    sys.lwp_suspend(b);
    await until(() => info(b)?.state === 'SUSPENDED', 10_000, 'B suspended in its wait');
    // LWP 1 and C run (C parked, waiting for nobody): this wait must sleep, to its deadline.
    let got: number | string;
    try { got = sys.lwp_wait_timed(c, { tv_sec: 0, tv_nsec: 100_000_000 }); } catch (e) { got = e instanceof sys.SysError ? e.code : String(e); }
    // Continued, B's wait goes on (counted again): LWP 1's wait of C still sleeps.
    sys.lwp_continue(b);
    await until(() => inWait(b), 10_000, 'B asleep in lwp_wait(C) again');
    let got2: number | string;
    try { got2 = sys.lwp_wait_timed(c, { tv_sec: 0, tv_nsec: 50_000_000 }); } catch (e) { got2 = e instanceof sys.SysError ? e.code : String(e); }
    sys.lwp_unpark(c, 9);
    await until(() => Atomics.load(a, 0) !== 0, 10_000, 'B to collect C');
    assert.equal(OUTCOME[Atomics.load(a, 0)], 'returned', 'B collects C');
    assert.equal(sys.lwp_wait(b), b);
    assert.equal(got, 'ETIMEDOUT', `LWP 1's lwp_wait(C) ended with ${got} while C, parked, could still exit`);
    assert.equal(got2, 'ETIMEDOUT');
    assert.equal(sys.lwp_snapshot().proc.nlwpwait, 0);
    assert.deepEqual(sys.lwp_check(), []);
  } finally {
    release(a);
  }
});
