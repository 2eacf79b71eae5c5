/**
 * An unpark that meets a park already ended by something else is left
 * pending, as NetBSD's _lwp_unpark does for any target not parked ("why
 * doesn't really matter"): the next park returns EALREADY. The window:
 * lwp_wakeup has ended the park (EINTR) and the sleeper, woken, has not yet
 * taken its bucket lock to leave the bucket, where the unparker finds it.
 * The main thread interrupts an LWP's park and unparks it at once, round
 * after round (a random spin of 0-20 us between the two calls moves the
 * unpark across the window); the LWP's next park must find the unpark
 * pending (it parks for at most 300 ms: a lost unpark is ETIMEDOUT).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { pkgFixtures as fixtures, seed, rng } from './helpers.js';

const ROUNDS = 300;
const OUT = ['', 'returned', 'EINTR', 'EALREADY', 'ETIMEDOUT'];

/** lwp_wakeup(lid) as soon as it sleeps interruptibly (ENODEV/EBUSY until then); false past the deadline. */
function wakeupWhenAsleep(lid: number, deadline: number): boolean {
  while (Date.now() < deadline) {
    try { sys.lwp_wakeup(lid); return true; } catch (e) {
      if (!(e instanceof sys.SysError) || (e.code !== 'ENODEV' && e.code !== 'EBUSY')) throw e;
    }
  }
  return false;
}

test('an unpark that meets a park already ended by lwp_wakeup is left pending: the next park returns EALREADY', async () => {
  const s = seed(), random = rng(s);
  const sab = new SharedArrayBuffer(4 * (2 * ROUNDS + 2));
  const a = new Int32Array(sab);
  const t = sys.lwp_create({ module: fixtures, export: 'parkWokenThenUnparked', arg: { sab, rounds: ROUNDS } });
  const done = sys.lwp_wait_async(t);
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      const deadline = Date.now() + 10_000;
      while (Atomics.load(a, 0) < r) {
        assert.ok(Date.now() < deadline, `round ${r}: the LWP did not come to its park`);
        Atomics.wait(a, 0, r - 1, 100);
      }
      assert.ok(wakeupWhenAsleep(t, deadline), `round ${r}: the LWP never slept in its park`);
      const spin = Math.floor(random() * 20_000), t0 = process.hrtime.bigint();
      while (Number(process.hrtime.bigint() - t0) < spin) { /* the unpark a little later in the window */ }
      sys.lwp_unpark(t);
      Atomics.store(a, 1, r); Atomics.notify(a, 1);
      const end = Date.now() + 10_000;
      while (Atomics.load(a, 2 * r + 1) === 0) {
        assert.ok(Date.now() < end, `round ${r}: the LWP's second park did not return`);
        Atomics.wait(a, 2 * r + 1, 0, 100);
      }
      assert.deepEqual([OUT[a[2 * r]!], OUT[a[2 * r + 1]!]], ['EINTR', 'EALREADY'], `round ${r} (UKERN_SEED=${s}): the interrupted park, then the next`);
    }
  } finally {
    Atomics.store(a, 1, ROUNDS + 1); Atomics.notify(a, 1); // an LWP still waiting for a round: let it end
    try { sys.lwp_unpark(t); } catch { /* gone already */ }
    await done;
  }
});
