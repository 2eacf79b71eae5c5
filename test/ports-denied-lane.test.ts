/**
 * A getter whose take its sources denied waits for an event queued after
 * that take (getn.ts needNew), also on a port fed through a send lane: it
 * sleeps until its timeout, rather than looping on the queue it was denied
 * (with the port lock held, past its timeout, until a new event came).
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js'; // every subsystem, so that all threads lay kernel memory out alike
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { close } from '../src/kern/sys.js';
import { port_source_register, port_alloc_event, port_init_event, port_send_event, port_free_event } from '../src/ports/source.js';
import { until, within } from './helpers.js';

const SELF = new URL(import.meta.url);

/**
 * LWP: sends one event to the port (its first send binds the port's send
 * lane and makes this LWP its owner), says so in w[0], then waits for the
 * main thread's verdict in w[1]. Should that not come within RESCUE_MS (the
 * getter is stuck), it sends a second event through its lane, which ends
 * the stuck getter's loop: the test then fails instead of hanging.
 */
export function laneOwner(a: { port: number; sab: SharedArrayBuffer }): void {
  const w = new Int32Array(a.sab);
  ports.port_send(a.port, 1, 1);
  Atomics.store(w, 0, 1);
  if (Atomics.wait(w, 1, 0, RESCUE_MS) === 'timed-out') ports.port_send(a.port, 1, 2);
}
const RESCUE_MS = 5000;

// A source that denies every delivery while `deny` is set (PORT_SOURCE_MQ:
// nobody else provides it). Registered in the main thread, the one that takes.
let deny = false;
if (isMainThread) {
  port_source_register(ports.PORT_SOURCE_MQ, {
    name: 'test-deny',
    deliver: () => !deny,
  });

  test('a take all denied on a lane-fed port: the getter sleeps to its timeout and returns nothing', async () => {
    const p = ports.port_create();
    const sab = new SharedArrayBuffer(8);
    const w = new Int32Array(sab);
    const owner = lwp.lwp_create({ module: SELF, export: 'laneOwner', arg: { port: p, sab } });
    await until(() => Atomics.load(w, 0) === 1, 30_000, 'the lane owner\'s first send');
    assert.equal(ports.port_get(p).portev_user, 1, 'the lane owner\'s event');
    const s = port_alloc_event(p, ports.PORT_ALLOC_SCACHED, ports.PORT_SOURCE_MQ);
    port_init_event(s, 5, 5, 0, true);
    assert.equal(port_send_event(s), true);
    deny = true;
    const t0 = performance.now();
    let got: ports.port_event_list;
    try {
      got = ports.port_getn(p, 8, 1, { tv_sec: 0, tv_nsec: 200e6 });
    } finally {
      Atomics.store(w, 1, 1);
      Atomics.notify(w, 1);
      deny = false;
    }
    const took = performance.now() - t0;
    await within(lwp.lwp_wait_async(owner), 30_000, 'the lane owner exits');
    assert.deepEqual(got.map((e) => e.portev_user), [], 'nothing delivered: the one event was denied');
    assert.ok(took >= 199, `waited its timeout (${took.toFixed(1)} ms)`);
    assert.ok(took < RESCUE_MS, `returned at its timeout, not when a new event came (${took.toFixed(1)} ms)`);
    assert.equal(ports.port_get(p).portev_user, 5, 'the denied event stayed queued');
    port_free_event(s);
    close(p);
  });
}
