/**
 * Huge timeouts, one rule (ukern/waitopts.ts: a positive number waits that
 * long): a timeout no clock of the kernel can reach (past ~292 years) waits
 * for ever in every class (review of src/ukern). Before the fix,
 * Number.MAX_VALUE ms was a RangeError with no code ("Infinity cannot be
 * converted to a BigInt") in Port, KQueue, Lwp.waitSync and Lwp.park, and
 * Lwp.park / parkSync failed with EINVAL from ~1e13 ms on (its absolute
 * deadline past the kernel's clocks), where Port and KQueue waited.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, KQueue, Lwp, EVFILT_USER } from 'ukern';
import * as sys from 'ukern/sys';
import { within } from './helpers.js';

const F = new URL('./fixtures/outcomes.js', import.meta.url);
const HUGE = [1e13, Number.MAX_SAFE_INTEGER, 1e300, Number.MAX_VALUE];
const aborted = (reason: string) => (e: unknown): boolean => (e as { code?: string }).code === 'ABORT_ERR' && (e as Error).cause === reason;

test('Port: a huge timeout waits (an event queued is taken; none: the wait stays until aborted)', async () => {
  using p = new Port();
  for (const timeout of HUGE) {
    p.sendSync(1);
    assert.equal(p.getSync({ timeout }).portev_events, 1, `getSync ${timeout}`);
    p.sendSync(2);
    assert.equal((await within(p.get({ timeout }), 10_000, `get ${timeout}`)).portev_events, 2);
    p.sendSync(3);
    assert.equal((await within(p.getn(4, 1, { timeout }), 10_000, `getn ${timeout}`))[0]!.portev_events, 3);
    assert.deepEqual(p.getnSync(4, 0, { timeout }).length, 0, `getnSync ${timeout}`);
    const ac = new AbortController();
    const w = p.get({ timeout, signal: ac.signal });
    setImmediate(() => ac.abort('huge'));
    await assert.rejects(within(w, 10_000, `pending get ${timeout}`), aborted('huge'));
  }
});

test('KQueue: a huge timeout waits', async () => {
  using kq = new KQueue();
  kq.register(1, EVFILT_USER, { flags: sys.EV_CLEAR });
  for (const timeout of HUGE) {
    kq.trigger(1);
    assert.equal(kq.waitSync({ timeout }).length, 1, `waitSync ${timeout}`);
    kq.trigger(1);
    assert.equal((await within(kq.wait({ timeout }), 10_000, `wait ${timeout}`)).length, 1);
    const ac = new AbortController();
    const w = kq.wait({ timeout, signal: ac.signal });
    setImmediate(() => ac.abort('huge'));
    await assert.rejects(within(w, 10_000, `pending wait ${timeout}`), aborted('huge'));
  }
});

test('Lwp.park / parkSync: a huge timeout parks (a pending unpark returns true; none: aborted)', async () => {
  for (const timeout of HUGE) {
    sys.lwp_unpark(sys.lwp_self());
    assert.equal(Lwp.parkSync({ timeout }), true, `parkSync ${timeout}`);
    sys.lwp_unpark(sys.lwp_self());
    assert.equal(await within(Lwp.park({ timeout }), 10_000, `park ${timeout}`), true);
    const ac = new AbortController();
    const w = Lwp.park({ timeout, signal: ac.signal });
    setImmediate(() => ac.abort('huge'));
    await assert.rejects(within(w, 10_000, `pending park ${timeout}`), aborted('huge'));
  }
});

test('Lwp.waitSync / wait: a huge timeout waits for the LWP', async () => {
  for (const timeout of HUGE) {
    const l = Lwp.create<{ doubled: number }>({ module: F, export: 'give', arg: { n: 2 } });
    assert.equal(l.waitSync({ timeout }).doubled, 4, `waitSync ${timeout}`);
    const m = Lwp.create<{ doubled: number }>({ module: F, export: 'give', arg: { n: 3 } });
    assert.equal((await within(m.wait({ timeout }), 20_000, `wait ${timeout}`)).doubled, 6);
  }
});
