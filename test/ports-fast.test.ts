/**
 * The fast paths of port_send / port_getn (src/ports/queue.ts, take.ts,
 * getn.ts): per-port free slots and their lock-free return stack, the
 * per-thread descriptor memo, the no-generator retrieval, events_sent folded
 * per port. Each keeps the contract: these tests check the places where a
 * shortcut could show (stale descriptors, mixed sources in one batch,
 * denied events, slot accounting, kstat, FIFO across LWPs).
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js'; // every subsystem, so that all threads lay kernel memory out alike
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { close } from '../src/kern/sys.js';
import { SysError } from '../src/kern/errno.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { kmem_snapshot } from '../src/kern/sys.js';
import {
  port_source_register, port_alloc_event, port_init_event, port_send_event, port_free_event, type PortDelivery,
} from '../src/ports/source.js';
import { PORT_FREE_MAX } from '../src/ports/queue.js';
import { within } from './helpers.js';

const SELF = new URL(import.meta.url);
const code = (c: string) => (e: unknown) => e instanceof SysError && e.code === c;
const slotsInUse = (): number => kmem_snapshot().caches.find((c) => c.cache === 'port_kevent')!.inUse;

/** LWP: sends n events with user = i, retrying on EAGAIN. */
export function sendN(a: { port: number; n: number }): void {
  for (let i = 0; i < a.n; i++) {
    for (;;) {
      try { ports.port_send(a.port, 2, i); break; } catch (e) {
        if ((e as SysError).code !== 'EAGAIN') throw e;
      }
    }
  }
}
/** LWP: takes n events in batches of up to 64; records order violations and the count in out[0..1]. */
export function takeN(a: { port: number; n: number; out: SharedArrayBuffer }): void {
  const out = new Int32Array(a.out);
  let next = 0, bad = 0;
  while (next < a.n) {
    for (const ev of ports.port_getn(a.port, 64, 1)) {
      if (ev.portev_user !== next || ev.portev_events !== 2 || ev.portev_source !== ports.PORT_SOURCE_USER) bad++;
      next++;
    }
  }
  out[0] = bad; out[1] = next;
}

// A source that denies delivery while `deny` > 0 (PORT_SOURCE_FILE: nobody else provides it here).
let deny = 0;
if (isMainThread) {
  port_source_register(ports.PORT_SOURCE_FILE, {
    name: 'test-file',
    deliver(d: PortDelivery): boolean {
      if (deny > 0) { deny--; return false; }
      d.events = 99;
      return true;
    },
  });
}

if (isMainThread) {
  test('the descriptor memo never outlives its port: EBADF after close, other ports unaffected', () => {
    const a = ports.port_create();
    ports.port_send(a, 1, 1);          // a is now this thread's memo
    close(a);
    assert.throws(() => ports.port_send(a, 1, 1), code('EBADF'));
    assert.throws(() => ports.port_getn(a, 4, 1), code('EBADF'));
    const b = ports.port_create();     // may reuse a's struct, never its descriptor
    assert.notEqual(b, a);
    ports.port_send(b, 3, 4);
    assert.throws(() => ports.port_send(a, 1, 1), code('EBADF'));
    assert.deepEqual({ ...ports.port_get(b) }, { portev_events: 3, portev_source: ports.PORT_SOURCE_USER, portev_object: 0, portev_user: 4 });
    assert.throws(() => ports.port_send(1234, 1, 1), code('EBADF'));
    close(b);
  });

  test('user events around a denied source event in one batch: order kept, each delivered once', () => {
    const p = ports.port_create();
    const s = port_alloc_event(p, ports.PORT_ALLOC_SCACHED, ports.PORT_SOURCE_FILE);
    port_init_event(s, 17, 1.5, 0, true);
    ports.port_send(p, 1, 10);
    assert.equal(port_send_event(s), true);
    ports.port_send(p, 1, 11);
    ports.port_send(p, 1, 12);
    deny = 1;
    const first = ports.port_getn(p, 8, 1);
    assert.deepEqual(first.map((e) => e.portev_user), [10, 11, 12], 'the denied event stays queued, the others go');
    assert.equal(ports.port_getn(p, 0, 0).nget, 1);
    ports.port_send(p, 1, 13);
    const second = ports.port_getn(p, 8, 2);
    assert.deepEqual(second.map((e) => [e.portev_source, e.portev_user, e.portev_events]),
      [[ports.PORT_SOURCE_FILE, 1.5, 99], [ports.PORT_SOURCE_USER, 13, 1]], 'back at the head, in order');
    // Denied at once by the fast path: the general path then waits for a new event (poll: none).
    assert.equal(port_send_event(s), true);
    deny = 1;
    assert.equal(ports.port_getn(p, 4, 1, { tv_sec: 0, tv_nsec: 0 }).length, 0);
    assert.equal(ports.port_get(p).portev_events, 99);
    port_free_event(s);
    close(p);
  });

  test('slots: a port keeps bounded free slots, and close gives them all back', () => {
    const base = slotsInUse();
    const p = ports.port_create();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3 * PORT_FREE_MAX; i++) ports.port_send(p, 1, i);
      let n = 0;
      while (n < 3 * PORT_FREE_MAX) n += ports.port_getn(p, 64, 1).length;
    }
    // The locked path reclaims what the getter gave back (a send through the
    // port's lane takes no lock; its next credit grant would reclaim).
    ports.port_sendn([p], 1, 1);
    assert.ok(slotsInUse() - base <= PORT_FREE_MAX + 1, `a port keeps at most PORT_FREE_MAX free slots (${slotsInUse() - base})`);
    close(p);
    assert.equal(slotsInUse(), base, 'all back in the kernel-wide cache');
  });

  test('kstat events_sent / events_delivered stay exact across the folding', () => {
    const k0 = kstat_snapshot('port');
    const p = ports.port_create();
    for (let i = 0; i < 1000; i++) ports.port_send(p, 1, i);
    let n = 0;
    while (n < 1000) n += ports.port_getn(p, 37, 1).length;
    const k1 = kstat_snapshot('port');
    assert.equal(k1['port.events_sent']! - k0['port.events_sent']!, 1000);
    assert.equal(k1['port.events_delivered']! - k0['port.events_delivered']!, 1000);
    for (let i = 0; i < 5; i++) ports.port_send(p, 1, i);
    close(p); // discards them, and folds their count
    const k2 = kstat_snapshot('port');
    assert.equal(k2['port.events_sent']! - k0['port.events_sent']!, 1005);
    assert.equal(k2['port.events_discarded']! - k1['port.events_discarded']!, 5);
  });

  test('1 producer LWP -> 1 consumer LWP: 200 000 events, FIFO, exactly once', async () => {
    const p = ports.port_create();
    const out = new SharedArrayBuffer(8);
    const N = 200_000;
    const c = lwp.lwp_create({ module: SELF, export: 'takeN', arg: { port: p, n: N, out } });
    const s = lwp.lwp_create({ module: SELF, export: 'sendN', arg: { port: p, n: N } });
    await within(Promise.all([lwp.lwp_wait_async(s), lwp.lwp_wait_async(c)]), 60_000, 'producer and consumer');
    const r = new Int32Array(out);
    assert.equal(r[1], N);
    assert.equal(r[0], 0, 'every event in order, with its fields');
    assert.equal(ports.port_getn(p, 0, 0).nget, 0);
    close(p);
  });
}
