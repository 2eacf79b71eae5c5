/**
 * port_getn's nget is a C uint_t: a getter may ask for 2^31 events or more
 * (it then waits for its timeout). Its place among the port's waiters and
 * its wake-up test must treat that as more than any other getter wants, not
 * as a negative number: a getter wanting one event that sleeps beside it is
 * woken by the first event, and the huge one is not (it is still asleep
 * then; an alert ends its wait, and it returns the alert alone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import '../src/sys/index.js'; // every subsystem, so that all threads lay kernel memory out alike
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { close } from '../src/kern/sys.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { PORT_ALERT_SET, PORT_SOURCE_ALERT } from '../src/ports/consts.js';
import { until, within } from './helpers.js';

const SELF = new URL(import.meta.url);
/** The huge getter's timeout: far beyond the test (its wait ends by the alert), so that "woken by the event" cannot be its timeout on a slow machine. */
const HUGE_MS = 120_000;

/** LWP: waits for 2^31 events (at most 2^32 - 1) for HUGE_MS; reports how many it got in out[0], the first one's source in out[2], then 1 in out[1]. */
export function hugeGetter(a: { port: number; out: SharedArrayBuffer; nget: number }): void {
  const out = new Int32Array(a.out);
  const evs = ports.port_getn(a.port, 0xffffffff, a.nget, { tv_sec: HUGE_MS / 1000, tv_nsec: 0 });
  out[0] = evs.length;
  out[2] = evs.length > 0 ? evs[0]!.portev_source : -1;
  Atomics.store(out, 1, 1);
}

const waiters = (): number => kstat_snapshot('port')['port.waiters']!;

if (isMainThread) {
  for (const nget of [0x80000000, 0xffffffff]) {
    test(`a getter wanting ${nget} events does not take the wake-up of one wanting one`, async () => {
      const p = ports.port_create();
      const out = new Int32Array(new SharedArrayBuffer(12));
      const w0 = waiters();
      const a = lwp.lwp_create({ module: SELF, export: 'hugeGetter', arg: { port: p, out: out.buffer, nget } });
      await until(() => waiters() >= w0 + 1, 30_000, 'the huge getter asleep');
      const t0 = performance.now();
      const small = ports.port_get_async(p, { tv_sec: 6, tv_nsec: 0 });
      await until(() => waiters() >= w0 + 2, 30_000, 'the small getter asleep');
      ports.port_send(p, 1, 7);
      const ev = await within(small, 20_000, 'the small getter');
      const took = performance.now() - t0;
      assert.equal(ev.portev_user, 7);
      assert.ok(took < HUGE_MS, `woken by the event, not when the huge getter timed out and left it (${took.toFixed(0)} ms)`);
      // The huge getter neither took the event nor left: still asleep.
      assert.equal(Atomics.load(out, 1), 0, 'the huge getter still waits');
      assert.equal(waiters(), w0 + 1, 'the huge getter still waits');
      ports.port_alert(p, PORT_ALERT_SET, 1, 0);
      await within(lwp.lwp_wait_async(a), 30_000, 'the huge getter');
      assert.deepEqual([out[0], out[2]], [1, PORT_SOURCE_ALERT], 'the alert ended its wait, and it had taken nothing before');
      close(p);
    });
  }
}
