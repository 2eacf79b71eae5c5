/**
 * port_getn's nget is a C uint_t: a getter may ask for 2^31 events or more
 * (it then waits for its timeout). Its place among the port's waiters and
 * its wake-up test must treat that as more than any other getter wants, not
 * as a negative number: a getter wanting one event that sleeps beside it is
 * woken by the first event, and the huge one is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import '../src/sys/index.js'; // every subsystem, so that all threads lay kernel memory out alike
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { close } from '../src/kern/sys.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { until, within } from './helpers.js';

const SELF = new URL(import.meta.url);
const HUGE_MS = 3000;

/** LWP: waits for 2^31 events (at most 2^32 - 1) for HUGE_MS; reports how many it got in out[0], then 1 in out[1]. */
export function hugeGetter(a: { port: number; out: SharedArrayBuffer; nget: number }): void {
  const out = new Int32Array(a.out);
  const evs = ports.port_getn(a.port, 0xffffffff, a.nget, { tv_sec: HUGE_MS / 1000, tv_nsec: 0 });
  out[0] = evs.length;
  Atomics.store(out, 1, 1);
}

const waiters = (): number => kstat_snapshot('port')['port.waiters']!;

if (isMainThread) {
  for (const nget of [0x80000000, 0xffffffff]) {
    test(`a getter wanting ${nget} events does not take the wake-up of one wanting one`, async () => {
      const p = ports.port_create();
      const out = new Int32Array(new SharedArrayBuffer(8));
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
      await within(lwp.lwp_wait_async(a), 30_000, 'the huge getter');
      assert.equal(out[0], 0, 'the huge getter timed out with nothing');
      close(p);
    });
  }
}
