/**
 * The adaptive spin's retry (kern/spin.ts): an object whose score says
 * spinning does not pay sleeps at once, and tries spinning again in the
 * next retry epoch, the first spin of that retry long enough to outlast its
 * peer's wake-up (the budget plus RETRY_WAKE_NS). Before, a low score only
 * probed with a plain-budget spin once in 32 waits: a pair of LWPs whose
 * spins had run dry once (a fresh pair's first round trips, in V8's
 * interpreter) each waited for the other's wake-up from sleep, over the
 * budget, so no probe ever hit and the pair slept at every hop for good.
 *
 * A spin domain of this test's own, polled by this thread alone: its
 * target becomes ready 40 us after the spin's first look (over the plain
 * 20 us budget, under a retry's). A spin that a preemption interrupted
 * (a gap of over 10 us before its first look, between two, or after its
 * last) proves nothing either way and is made again in a later epoch; one that was not is decided by the policy
 * alone, so the case cannot pass without the retry (no spin, or one of 20
 * us that ends before the target is ready) and cannot fail with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import { boot, tunables } from '../src/kern/boot.js';
import { I32, kregion_create } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';
import { mono_now } from '../src/kern/time.js';
import { kstat_counter, kstat_snapshot } from '../src/kern/kstat.js';
import { SpinDomain, spin_region, spin_retry_epoch, SPIN_LWP } from '../src/kern/spin.js';
import { until } from './helpers.js';

// Laid out by the boot below, as every region (made before it).
const region = spin_region('test_spin');
const objects = kregion_create('test_spin_obj', () => 2);
const SCORE = 0, TICK = 1;
const domain = new SpinDomain(region, SCORE, TICK, kstat_counter('test_spin', 'hits'), kstat_counter('test_spin', 'misses'), 2);

const BUDGET_NS = 20_000, READY_NS = 40_000, GAP_NS = 10_000, TRY_MS = 10_000;

/** A target ready READY_NS after the spin's first look, noting a gap between looks (a preemption). */
const target = {
  first: 0, last: 0, gap: false,
  ready(): boolean {
    const t = mono_now();
    if (this.first === 0) this.first = t;
    else if (t - this.last > GAP_NS) this.gap = true;
    this.last = t;
    return t - this.first >= READY_NS;
  },
  unlock(): void { /* no object lock here */ },
  relock(): void { /* no object lock here */ },
};

test('an object whose spins ran dry spins again in the next retry epoch, long enough for a waking peer; in the same epoch it does not', async () => {
  boot();
  domain.setLimits(BUDGET_NS, 4);
  const obj = objects.base;
  // A peer the policy takes as active: another LWP, marked spinning in the domain.
  const peer = cur.lid === 2 ? 3 : 2;
  I32[region.base + SPIN_LWP + ((peer - 1) % tunables().maxlwp!)] = peer;
  const hits = (): number => kstat_snapshot('test_spin')['test_spin.hits']!;
  let decided = false, attempts = 0;
  for (const end = Date.now() + TRY_MS; !decided && Date.now() < end; attempts++) {
    // Spinning has not paid on this object, as of this epoch: no spin now
    // (unless the epoch ended meanwhile, which this skips).
    const epoch = spin_retry_epoch();
    I32[obj + SCORE] = -16;
    I32[obj + TICK] = epoch;
    target.first = 0; target.gap = false;
    const now = domain.poll(obj, peer, Infinity, target);
    if (spin_retry_epoch() === epoch) {
      assert.equal(now, false, 'a spin in the epoch the score went low in');
      assert.equal(target.first, 0, 'the target was looked at: a spin in the epoch the score went low in');
    }
    // The next epoch: one spin, of the budget and a wake-up.
    await until(() => spin_retry_epoch() !== epoch, 5_000, 'the next retry epoch');
    I32[obj + SCORE] = -16; I32[obj + TICK] = epoch; // (as they were, whatever the skipped check above did)
    target.first = 0; target.gap = false;
    const h0 = hits();
    const t0 = mono_now();
    const ok = domain.poll(obj, peer, Infinity, target);
    const t1 = mono_now();
    // Preempted while it spun (between two looks, or before the first, or
    // after the last: each eats the budget unseen): made again.
    if (target.gap || target.first === 0 || target.first - t0 > GAP_NS || t1 - target.last > GAP_NS) continue;
    assert.equal(ok, true, `the retry's spin saw its target ready ${READY_NS / 1000} us after it began (looked for ${((target.last - target.first) / 1000).toFixed(1)} us)`);
    assert.equal(hits(), h0 + 1, 'counted as a hit');
    assert.ok(I32[obj + SCORE]! > 0, `the score after the hit: ${I32[obj + SCORE]}`);
    decided = true;
  }
  assert.ok(decided, `a retry spin not preempted, in ${attempts} attempts (${TRY_MS} ms)`);
});
