/**
 * The hand-off of a lane push's event to a getter asleep in port_get
 * (queue.ts wake_first_locked): the waker takes the event off the lane for
 * it, and the getter returns without coming back to the port. Checked: the
 * handed events arrive once, in order, bit for bit (portev_user is an f64
 * carried through the sleeper); the getter's hold on the port is dropped
 * exactly once (the struct goes back to its cache at close, also when the
 * close follows the hand-off at once); the getter returns the handed event
 * even when the port is closed before it runs. The LWP start functions are
 * exported from this module; tests run only in the main thread.
 */
import { isMainThread } from 'node:worker_threads';
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
// The package's one entry under the names of the subsystems this file calls (the same module).
import * as ports from 'ukern/sys';
import * as lwp from 'ukern/sys';
import { close, kmem_snapshot, kstat as kstat_snapshot } from 'ukern/sys';
import { until, within, letLwpsGo } from './helpers.js';

const SELF = new URL(import.meta.url);

/** Event i's portev_user: fractions, large negatives, beyond 2^32: what an f64 hand-off must carry exactly. */
const userOf = (i: number): number => (i % 3 === 0 ? i + 0.25 : i % 3 === 1 ? -i * 1e9 - 0.5 : 2 ** 53 - i);

// ---- LWP start functions

/**
 * Takes n events with port_get, storing [events, user, source] of each in
 * `out`; ctl[0] counts them. An error code (EBADFD...) goes to ctl[1] as 1.
 */
export function getter(a: { port: number; n: number; out: SharedArrayBuffer; ctl: SharedArrayBuffer }): void {
  const f = new Float64Array(a.out), c = new Int32Array(a.ctl);
  for (let i = 0; i < a.n; i++) {
    let ev: ports.port_event_t;
    try { ev = ports.port_get(a.port); } catch { Atomics.store(c, 1, 1); return; }
    f[3 * i] = ev.portev_events; f[3 * i + 1] = ev.portev_user; f[3 * i + 2] = ev.portev_source;
    Atomics.store(c, 0, i + 1);
  }
}

// ---- tests (main thread)

const portStat = (k: string): number => kstat_snapshot('port')[`port.${k}`] ?? 0;
const portsInUse = (): number => kmem_snapshot().caches.find((c) => c.cache === 'port')!.inUse;

if (isMainThread) {
  // The getters block in port_get with no timeout; a test that failed first
  // left one there, and the file ended at the runner's deadline, not at the
  // failure: what a test left is woken (EINTR) and collected after it.
  afterEach(() => letLwpsGo(lwp));

  test('a port_get asleep is handed each lane push: once, in order, bit for bit; the port goes back at close', async () => {
    const old = ports.port_spin_tune({});
    ports.port_spin_tune({ budgetNs: 0 }); // the getter sleeps at once
    try {
      const N = 120;
      const base = portsInUse();
      const p = ports.port_create();
      const out = new SharedArrayBuffer(24 * N), ctl = new SharedArrayBuffer(8);
      const c = new Int32Array(ctl);
      const h0 = portStat('handoffs'), d0 = portStat('events_delivered');
      const g = await lwp.lwp_create({ module: SELF, export: 'getter', arg: { port: p, n: N, out, ctl } });
      for (let i = 0; i < N; i++) {
        // Send only once the getter sleeps for event i (it counts in waiters before it sleeps, under the port lock).
        await until(() => Atomics.load(c, 0) === i && portStat('waiters') > 0, 10_000, `getter asleep for event ${i}`);
        ports.port_send(p, i + 1, userOf(i));
      }
      await within(lwp.lwp_wait_async(g), 10_000, 'getter done');
      assert.equal(Atomics.load(c, 1), 0, 'no get failed');
      const f = new Float64Array(out);
      for (let i = 0; i < N; i++) {
        assert.equal(f[3 * i], i + 1, `events of ${i}`);
        assert.ok(Object.is(f[3 * i + 1], userOf(i)), `user of ${i}: ${f[3 * i + 1]} vs ${userOf(i)}`);
        assert.equal(f[3 * i + 2], ports.PORT_SOURCE_USER);
      }
      // Every send found the getter asleep and handed it the event.
      assert.equal(portStat('handoffs') - h0, N);
      assert.equal(portStat('events_delivered') - d0, N);
      assert.equal(ports.port_getn(p, 8, 0).length, 0);
      close(p);
      // The getter's hold (thrcnt) was dropped once per hand-off: the struct is freed at close.
      assert.equal(portsInUse(), base);
    } finally {
      ports.port_spin_tune({ budgetNs: old.budgetNs });
    }
  });

  test('a close right after the hand-off: the getter still returns its event, and the port goes back', async () => {
    const old = ports.port_spin_tune({});
    ports.port_spin_tune({ budgetNs: 0 });
    try {
      const base = portsInUse();
      const h0 = portStat('handoffs');
      const R = 20;
      for (let r = 0; r < R; r++) {
        const p = ports.port_create();
        const out = new SharedArrayBuffer(24), ctl = new SharedArrayBuffer(8);
        const c = new Int32Array(ctl);
        const w0 = portStat('waits');
        const g = await lwp.lwp_create({ module: SELF, export: 'getter', arg: { port: p, n: 1, out, ctl } });
        await until(() => portStat('waits') > w0 && portStat('waiters') > 0, 10_000, 'getter asleep');
        ports.port_send(p, 7, userOf(r));
        close(p); // before the getter has run again, most times
        await within(lwp.lwp_wait_async(g), 10_000, 'getter done');
        assert.equal(Atomics.load(c, 1), 0, `run ${r}: the handed event is returned, not EBADFD`);
        assert.equal(Atomics.load(c, 0), 1);
        const f = new Float64Array(out);
        assert.equal(f[0], 7);
        assert.ok(Object.is(f[1], userOf(r)));
      }
      assert.equal(portStat('handoffs') - h0, R);
      await until(() => portsInUse() === base, 5_000, 'every port struct back in its cache');
    } finally {
      ports.port_spin_tune({ budgetNs: old.budgetNs });
    }
  });
}
