/**
 * Leaving `for await` early loses no event (issue 12, "Must reach"): 10^5
 * events stream through a Port from a producer LWP while this thread breaks
 * out of its iterator at seeded random points and starts a new one; every
 * event must be yielded exactly once, in order, or still be queued at the
 * end. The same for a KQueue's iterator over EVFILT_USER knotes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, KQueue, Lwp, EVFILT_USER, EV_ONESHOT } from 'ukern';
import { seed, rng, within } from './helpers.js';

const N = 100_000;

test('Port: breaking out of for await at random points over 10^5 events loses and doubles nothing', async () => {
  const s = seed();
  const r = rng(s);
  const port = new Port();
  const prod = Lwp.create({ module: new URL('./fixtures/backpressure.js', import.meta.url), export: 'produce', arg: { fd: port.fd, n: N } });
  let next = 0, breaks = 0;
  await within((async () => {
    while (next < N) {
      const stopAt = 1 + Math.floor(r() * 200);
      let k = 0;
      for await (const ev of port) {
        assert.equal(ev.portev_user, next, `seed ${s}: event ${ev.portev_user} where ${next} was due`);
        next++;
        if (++k === stopAt || next === N) break;
      }
      breaks++;
    }
  })(), 60_000, `seed ${s}: stream`);
  await prod.wait();
  assert.equal(port.getnSync(64, 1, { timeout: 0 }).length, 0, 'nothing left over');
  assert.ok(breaks > 100, `only ${breaks} breaks`);
  port.close();
});

test('KQueue: breaking out of its iterator at random points leaves the untaken events queued', async () => {
  const s = seed();
  const r = rng(s);
  using kq = new KQueue();
  const M = 2000;
  for (let i = 1; i <= M; i++) { kq.register(i, EVFILT_USER, { flags: EV_ONESHOT }); kq.trigger(i); }
  const seen = new Set<number>();
  while (seen.size < M) {
    const stopAt = 1 + Math.floor(r() * 50);
    let k = 0;
    for await (const ev of kq) {
      assert.ok(!seen.has(ev.ident), `seed ${s}: ident ${ev.ident} twice`);
      seen.add(ev.ident);
      if (++k === stopAt || seen.size === M) break;
    }
  }
  assert.deepEqual(kq.waitSync({ timeout: 0 }), [], 'nothing left over');
});
