/**
 * EVFILT_READ on a kqueue registered while another LWP queues the watched
 * kqueue's first event: the watcher must hear of it, at registration or
 * through the watched kqueue's notify, never only at a later event. The
 * enqueuer stores the count and looks for watchers, the watcher joins the
 * list and reads the count: both must not miss each other (kqueue/kern.ts
 * kq_unlock says why the enqueuer now looks after its lock's release).
 * Seeded rounds with random spins on both sides before the two meet; each
 * round's watcher must report within 5 s (a lost event would wait for ever:
 * there is no later one). The window is a few nanoseconds wide, so this is
 * a guard of the invariant more than a reproduction: it passed on the code
 * before the change too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { seed as pick_seed, rng } from './helpers.js';

const F = new URL('./fixtures/kq-watch-race.js', import.meta.url);
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const ROUNDS = 1500;

test('a kqueue watcher added while the watched kqueue queues its first event hears of it (seeded rounds)', async () => {
  const seed = pick_seed();
  const inner = sys.kqueue(), outer = sys.kqueue();
  sys.kevent(inner, [sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
  const sab = new SharedArrayBuffer(8);
  const w = new Int32Array(sab);
  const lid = sys.lwp_create({ module: F, export: 'trigger', arg: { sab, inner, rounds: ROUNDS, seed } });
  const rand = rng(seed ^ 0x9e3779b9);
  let x = 0;
  let atAdd = 0;
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      Atomics.store(w, 0, r); Atomics.notify(w, 0);
      for (let s = Math.floor(rand() * 2000), k = 0; k < s; k++) x += k;
      const evs = sys.kevent(outer, [sys.EV_SET(inner, sys.EVFILT_READ, sys.EV_ADD | sys.EV_ONESHOT, 0, 0, r)], 1, { tv_sec: 5, tv_nsec: 0 });
      assert.equal(evs.length, 1, `round ${r} (seed ${seed}): the watcher never heard of the inner kqueue's event`);
      assert.equal(evs[0]!.udata, r);
      // Had the trigger's call returned by then? (Both should occur: the two calls overlap.)
      if (Atomics.load(w, 1) === r) atAdd++;
      const end = Date.now() + 5000;
      while (Atomics.load(w, 1) < r) { assert.ok(Date.now() < end, `round ${r}: the trigger LWP stalled`); Atomics.wait(w, 1, r - 1, 50); }
      assert.equal(sys.kevent(inner, null, 4, ZERO).length, 1, 'the inner event, taken for the next round');
    }
  } finally {
    Atomics.store(w, 0, ROUNDS + 1); Atomics.notify(w, 0);
    await sys.lwp_wait_async(lid);
    sys.close(outer); sys.close(inner);
  }
  assert.ok(atAdd > 0 && atAdd < ROUNDS, `the calls overlapped both ways (${atAdd} of ${ROUNDS} rounds with the trigger's returned first; seed ${seed})`);
  void x;
});
