/**
 * Park/unpark stress under seeded random interleavings: ParkMutex users on
 * several LWPs, checking that no wake-up is lost, nobody is left parked
 * and mutual exclusion holds (a shared counter equals the sum).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { ParkMutex } from 'ukern';
import { pkgFixtures as fixtures, within, seed, rng } from './helpers.js';

// N LWPs increment a shared counter under a mutex built on park/unpark while
// random unparks, unpark_alls, zero-timeout parks and (from main) lwp_wakeups
// fly. A lost wake-up leaves an LWP parked forever and the deadline fails;
// a broken exclusion loses increments.
test('park/unpark stress: no lost wake-up, nobody left parked, exclusion holds', async () => {
  const s = seed();
  const random = rng(s);
  const N = 4, ITERS = 3000;
  const mutex = new ParkMutex(16);
  const counter = new SharedArrayBuffer(8);
  try {
    const lids: number[] = [];
    for (let i = 0; i < N; i++) {
      lids.push(sys.lwp_create({ module: fixtures, export: 'mutexWorker', arg: { mutex: mutex.sab, counter, iters: ITERS, seed: s + i, peers: [] } }, sys.LWP_SUSPENDED));
    }
    // Give each its peers only now that all lids are known: recreate args through a shared list is
    // not possible, so peers are poked from main instead.
    for (const l of lids) sys.lwp_continue(l);
    const done = new Set<number>();
    const waits = lids.map((l) => sys.lwp_wait_async(l).then((x) => { done.add(x); }));
    const poke = (async () => {
      while (done.size < N) {
        const t = lids[Math.floor(random() * N)]!;
        const r = random();
        try {
          if (r < 0.4) sys.lwp_unpark(t);
          else if (r < 0.6) sys.lwp_unpark_all(lids);
          else sys.lwp_wakeup(t);
        } catch (e) {
          if (!(e instanceof sys.SysError) || !['ESRCH', 'ENODEV', 'EBUSY'].includes(e.code)) throw e;
        }
        await new Promise((res) => setImmediate(res));
      }
    })();
    await within(Promise.all([...waits, poke]), 30000, 'all LWPs to finish');
    assert.equal(new Int32Array(counter)[0], N * ITERS, 'every increment happened under the mutex');
    const snap = sys.lwp_snapshot();
    assert.equal(snap.proc.nlwps, 1, 'all collected');
    assert.equal(snap.proc.nlwpwait, 0);
  } catch (e) {
    console.error(`park/unpark stress failed with UKERN_SEED=${s}`, sys.lwp_snapshot());
    throw e;
  }
});
