/**
 * lwp_wait's deadlock check (lwp/wait.ts): a wait for LWP t fails with
 * EDEADLK when t itself waits for the caller. What t waits for was one
 * word, l_waitingfor, but an LWP may have several lwp_wait_async pending:
 * each call set the word to its own target, so only the latest was seen,
 * and one that ended cleared it while the others went on. A wait for an
 * LWP whose earlier async wait was for the caller slept instead of failing
 * (LWP review: "several async waits of one LWP share one l_waitingfor, so
 * the cycle check can miss a deadlock").
 *
 * Here LWP 1 (this thread) has lwp_wait_async pending for Y and then for Z;
 * Y then calls lwp_wait(1). Two more parked LWPs keep the process-wide
 * check (every LWP waiting) out of it, so only the cycle check can answer.
 * Y's outcome, or its sleep in lwp_wait, is observed; a Y found asleep is
 * woken (EINTR) to end the test.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until, within, letLwpsGo } from './helpers.js';

// Y, Z and W park (and Y sleeps in lwp_wait) with no deadline until cycle()
// lets them go; a failure first left them there, and the file ended at the
// runner's deadline, not at the failure: what a test left is woken and
// collected after it (nothing, after a test that passed). Y's start word
// (it waits for it outside the kernel) is set in cycle()'s finally.
afterEach(() => letLwpsGo(sys));

const sysUrl = import.meta.resolve('ukern/sys'); // (the LWPs' kernel is this thread's module instance)
const body = `import * as sys from ${JSON.stringify(sysUrl)};
export function parked() { try { sys.lwp_park(null, 5); } catch {} return 0; }
export function waitsForMain(arg) {
  const a = new Int32Array(arg.sab);
  Atomics.wait(a, 1, 0);
  try { sys.lwp_wait(arg.main); a[0] = 1; } catch (e) { a[0] = e.code === 'EDEADLK' ? 2 : e.code === 'EINTR' ? 3 : 4; }
  Atomics.notify(a, 0);
  try { sys.lwp_park(null, 5); } catch {}
  return 0;
}
`;
const mod = 'data:text/javascript,' + encodeURIComponent(body);
const OUTCOME = ['none', 'returned', 'EDEADLK', 'EINTR', 'other'];

/** LWP 1 starts lwp_wait_async for each of `before` (Y among them), then Y calls lwp_wait(1): Y's outcome. */
async function cycle(order: 'y-first' | 'y-only' | 'y-last'): Promise<string> {
  const main = sys.lwp_self();
  const sab = new SharedArrayBuffer(8), a = new Int32Array(sab);
  const y = sys.lwp_create({ module: mod, export: 'waitsForMain', arg: { sab, main } });
  const z = sys.lwp_create({ module: mod, export: 'parked' });
  const w = sys.lwp_create({ module: mod, export: 'parked' });
  try {
    const targets = order === 'y-first' ? [y, z] : order === 'y-only' ? [y] : [z, y];
    const waits = targets.map((t) => sys.lwp_wait_async(t));
    Atomics.store(a, 1, 1); Atomics.notify(a, 1);
    const ySleeps = (): boolean => { const l = sys.lwp_snapshot().lwps.find((x) => x.lid === y); return l?.state === 'SLEEP' && l.wmesg === 'lwpwait'; };
    await until(() => Atomics.load(a, 0) !== 0 || ySleeps(), 10_000, 'Y to fail or sleep in lwp_wait');
    if (Atomics.load(a, 0) === 0) {
      sys.lwp_wakeup(y);
      await until(() => Atomics.load(a, 0) !== 0, 10_000, 'Y woken');
    }
    const got = OUTCOME[Atomics.load(a, 0)]!;
    for (const t of [y, z, w]) sys.lwp_unpark(t, 5);
    assert.deepEqual((await within(Promise.all(waits), 10_000, 'the async waits')).sort(), targets.slice().sort());
    if (!targets.includes(z)) sys.lwp_wait(z);
    sys.lwp_wait(w);
    return got;
  } finally {
    Atomics.store(a, 1, 1); Atomics.notify(a, 1); // (set twice: harmless)
  }
}

test('control: LWP 1 has one lwp_wait_async pending, for Y; Y\'s lwp_wait(1) fails with EDEADLK', async () => {
  assert.equal(await cycle('y-only'), 'EDEADLK');
});

test('LWP 1 has lwp_wait_async pending for Y and then for Z; Y\'s lwp_wait(1) fails with EDEADLK', async () => {
  assert.equal(await cycle('y-first'), 'EDEADLK', 'Y slept: the cycle through LWP 1\'s earlier async wait was missed');
});

test('LWP 1 has lwp_wait_async pending for Z and then for Y; Y\'s lwp_wait(1) fails with EDEADLK', async () => {
  assert.equal(await cycle('y-last'), 'EDEADLK');
});
