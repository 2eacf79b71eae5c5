/**
 * Timers of one deadline reach their ports in the order they were armed,
 * however many threads are ready to fire them: the clock thread, two LWPs
 * and the main thread each blocked in port_get on a port of their own
 * (their deadline-aware waits spin at the expiry and run the due callouts
 * themselves), with the timers of the round dealt to the ports in a seeded
 * random order. One thread at a time runs a time line's callouts
 * (timers/callout.ts, the run word); two runs side by side each took the
 * next due callout and fired it beside the other, and ports got them out of
 * order. Also: each timer's event exactly once, none early.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { seed, rng, until, within } from './helpers.js';

const F = new URL('./fixtures/timers-order-lwp.js', import.meta.url);
const monoNs = (): number => { const t = sys.clock_gettime(sys.CLOCK_MONOTONIC); return t.tv_sec * 1e9 + t.tv_nsec; };
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('timers of one deadline, fired by whichever of four threads comes first: each port gets its timers once, in the order armed (seeded)', async () => {
  const s = seed(), rand = rng(s);
  const ROUNDS = 12, K = 24, PORTS = 3; // ports 0 and 1: an LWP's each; port 2: the main thread's
  for (let round = 0; round < ROUNDS; round++) {
    const ports = Array.from({ length: PORTS }, () => sys.port_create());
    // Deal K timers to the ports at random; user = the timer's arm index.
    const owner = Array.from({ length: K }, () => Math.floor(rand() * PORTS));
    const counts = ports.map((_, p) => owner.filter((o) => o === p).length);
    const tids = owner.map((p, i) => sys.timer_create(sys.CLOCK_MONOTONIC, {
      sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: ports[p]!, portnfy_user: i },
    }));
    const n = Math.max(...counts);
    const out = new SharedArrayBuffer(4 * (2 * n + 1)), o = new Int32Array(out);
    o.fill(-1, 0, 2 * n); o[2 * n] = 0;
    const lids = [0, 1].map((slot) => sys.lwp_create({ module: F, export: 'collect', arg: { port: ports[slot]!, n: counts[slot]!, base: slot * n, out } }));
    // One absolute deadline far enough ahead for both LWPs to be asleep in port_get by then.
    const at = monoNs() + 40e6 + Math.floor(rand() * 5e6);
    const spec = { it_value: { tv_sec: Math.floor(at / 1e9), tv_nsec: at % 1e9 }, it_interval: ZERO };
    for (const t of tids) sys.timer_settime(t, sys.TIMER_ABSTIME, spec);
    const mine: number[] = [];
    const end = Date.now() + 10_000;
    while (mine.length < counts[2]! && Date.now() < end) {
      for (const ev of sys.port_getn(ports[2]!, K, 1, { tv_sec: 1, tv_nsec: 0 })) mine.push(ev.portev_user as number);
    }
    assert.ok(monoNs() >= at || counts[2] === 0, `seed ${s} round ${round}: not early`);
    await until(() => Atomics.load(o, 2 * n) === 2, 10_000, `seed ${s} round ${round}: the LWPs to collect their events`);
    for (const lid of lids) await within(sys.lwp_wait_async(lid), 10_000, `seed ${s}: LWP ${lid}`);
    const got = [[...o.slice(0, counts[0])], [...o.slice(n, n + counts[1]!)], mine];
    for (let p = 0; p < PORTS; p++) {
      const want = owner.flatMap((q, i) => (q === p ? [i] : []));
      assert.deepEqual(got[p], want, `seed ${s} round ${round}: port ${p}'s events, in the order armed`);
      assert.equal(sys.port_getn(ports[p]!, K, 1, ZERO).length, 0, `seed ${s} round ${round}: nothing more on port ${p}`);
    }
    for (const t of tids) sys.timer_delete(t);
    for (const p of ports) sys.close(p);
  }
});
