/**
 * A getter woken for an event that its source withdraws while the getter
 * delivers it (timer_delete, port_remove_done_event racing the take) took
 * nothing: it waits on for the rest of its timeout, as illumos's port_getn
 * loops when it retrieved nothing; a port_get without a timeout never
 * fails with ETIME, a port_getn never returns fewer than nget before its
 * timeout for that.
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js'; // every subsystem, so that all threads lay kernel memory out alike
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { close } from '../src/kern/sys.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import {
  port_source_register, port_alloc_event, port_init_event, port_send_event, port_remove_done_event, port_free_event,
} from '../src/ports/source.js';
import { within } from './helpers.js';

const SELF = new URL(import.meta.url);
const waiters = (): number => kstat_snapshot('port')['port.waiters']!;

/**
 * LWP: once the getter sleeps, queues the source's slot; once the getter's
 * delivery has withdrawn it (w[0] = 1), sends a user event (user 42).
 */
export function sender(a: { port: number; slot: number; sab: SharedArrayBuffer; w0: number }): void {
  const w = new Int32Array(a.sab);
  const end = Date.now() + 30_000;
  while (waiters() < a.w0 + 1) { if (Date.now() > end) throw new Error('the getter never slept'); Atomics.wait(w, 1, 0, 1); }
  port_send_event(a.slot);
  if (Atomics.wait(w, 0, 0, 30_000) === 'timed-out') throw new Error('the delivery never ran');
  ports.port_send(a.port, 1, 42);
}

// A source whose delivery withdraws its own slot once (as a timer_delete in
// another thread would, between the getter's detach and its settle).
// Registered in the main thread, the one that takes.
let withdrawFlag: Int32Array | undefined;
if (isMainThread) {
  port_source_register(ports.PORT_SOURCE_MQ, {
    name: 'test-withdraw',
    deliver(d): boolean {
      if (withdrawFlag !== undefined) {
        assert.equal(port_remove_done_event(d.slot), true, 'withdrawn while in delivery');
        Atomics.store(withdrawFlag, 0, 1);
        Atomics.notify(withdrawFlag, 0);
        withdrawFlag = undefined;
      }
      return true;
    },
  });

  for (const form of ['port_get_async, no timeout', 'port_getn, 20 s timeout'] as const) {
    test(`${form}: woken for an event withdrawn in its delivery, it waits on and returns the next event`, async () => {
      const p = ports.port_create();
      const s = port_alloc_event(p, ports.PORT_ALLOC_SCACHED, ports.PORT_SOURCE_MQ);
      port_init_event(s, 5, 5, 0, true);
      const sab = new SharedArrayBuffer(8);
      withdrawFlag = new Int32Array(sab);
      const t = lwp.lwp_create({ module: SELF, export: 'sender', arg: { port: p, slot: s, sab, w0: waiters() } });
      try {
        let users: number[];
        if (form === 'port_get_async, no timeout') {
          users = [(await within(ports.port_get_async(p), 30_000, 'port_get_async')).portev_user];
        } else {
          const t0 = performance.now();
          users = ports.port_getn(p, 4, 1, { tv_sec: 20, tv_nsec: 0 }).map((e) => e.portev_user);
          assert.ok(users.length > 0 || performance.now() - t0 >= 19_999, 'fewer than nget only at the timeout');
        }
        assert.deepEqual(users, [42], 'the withdrawn event is not delivered; the next one is');
      } finally {
        await within(lwp.lwp_wait_async(t), 60_000, 'the sender');
        withdrawFlag = undefined;
        port_free_event(s);
        close(p);
      }
    });
  }
}
