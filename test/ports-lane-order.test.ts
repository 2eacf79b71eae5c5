/**
 * Send lanes against the seed's port semantics (review): FIFO of one
 * sender's events across a lane that spills onto the locked list and comes
 * back, getn(max) merging lane and list with no loss, reordering or
 * duplicate, port_max_events exact for the owner (EAGAIN at the limit, never
 * above, never below), and an owner that exits with entries unread and
 * credits unused, its successor continuing in order. Seeded models: a
 * failure names its seed (UKERN_SEED to replay).
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import { boot } from '../src/kern/boot.js';
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { close } from '../src/kern/sys.js';
import { SysError } from '../src/kern/errno.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { lane_owner } from '../src/ports/lane-locked.js';
import { within, seed, rng } from './helpers.js';

const SELF = new URL(import.meta.url);
const MAXEV = 48, ENTRIES = 16;
if (isMainThread) boot({ port_max_events: MAXEV, port_lane_entries: ENTRIES });

const ZERO = { tv_sec: 0, tv_nsec: 0 };
const users = (evs: readonly ports.port_event_t[]) => evs.map((e) => e.portev_user);
const handle = (fd: number) => fd_get(fd, DTYPE_PORT, 'test', 'EBADFD');
const isEagain = (e: unknown) => e instanceof SysError && e.code === 'EAGAIN';

/** LWP: sends users base..base+n-1 (stopping at the first EAGAIN), reports how many in out[0], and exits. */
export function sendUpTo(a: { port: number; base: number; n: number; out: SharedArrayBuffer }): void {
  const o = new Int32Array(a.out);
  for (let i = 0; i < a.n; i++) {
    try { ports.port_send(a.port, 1, a.base + i); } catch (e) { if (!isEagain(e)) throw e; break; }
    o[0] = i + 1;
  }
}

if (isMainThread) {
  test('one sender, lane spilling to the list and back, random getn(max): FIFO, once each, EAGAIN exactly at port_max_events', () => {
    const s0 = seed();
    for (let round = 0; round < 20; round++) {
      const r = rng((s0 + round * 7919) >>> 0);
      const p = ports.port_create();
      const model: number[] = [];
      let next = 0;
      for (let op = 0; op < 600; op++) {
        const x = r();
        if (x < 0.6) {
          const burst = 1 + Math.floor(r() * 24);
          for (let b = 0; b < burst; b++) {
            const full = model.length >= MAXEV;
            try {
              ports.port_send(p, 1, next);
              assert.ok(!full, `seed ${s0} round ${round} op ${op}: a send beyond port_max_events (${model.length} queued)`);
              model.push(next++);
            } catch (e) {
              if (!isEagain(e)) throw e;
              assert.ok(full, `seed ${s0} round ${round} op ${op}: EAGAIN with ${model.length} of ${MAXEV} queued`);
            }
          }
        } else {
          const max = 1 + Math.floor(r() * 40);
          const got = users(ports.port_getn(p, max, 1, ZERO));
          const want = model.splice(0, Math.min(max, model.length));
          assert.deepEqual(got, want, `seed ${s0} round ${round} op ${op}: getn(${max})`);
        }
        assert.equal(ports.port_getn(p, 0, 0).nget, model.length, `seed ${s0} round ${round} op ${op}: count`);
      }
      assert.deepEqual(users(ports.port_getn(p, 1000, 1, ZERO)), model);
      close(p);
    }
  });

  test('an owner that exits with entries unread and credits unused: every event stays, in order, and the limit holds for the next owner', async () => {
    const p = ports.port_create();
    const out = new SharedArrayBuffer(4), o = new Int32Array(out);
    // The LWP fills the lane, spills onto the list, and exits holding credits it may not have used.
    const a = lwp.lwp_create({ module: SELF, export: 'sendUpTo', arg: { port: p, base: 0, n: ENTRIES + 5, out } });
    await within(lwp.lwp_wait_async(a), 10_000, 'first owner');
    assert.equal(o[0], ENTRIES + 5);
    assert.equal(lane_owner(handle(p)), 0, 'let go at exit');
    const head = users(ports.port_getn(p, 3, 3));
    assert.deepEqual(head, [0, 1, 2]);
    // This thread takes the lane over and sends up to the limit exactly.
    let sent = 0;
    for (;;) {
      try { ports.port_send(p, 1, 1000 + sent); sent++; } catch (e) { if (!isEagain(e)) throw e; break; }
    }
    const queued = ENTRIES + 5 - 3;
    assert.equal(sent, MAXEV - queued, 'EAGAIN exactly at port_max_events: the exited owner\'s credits came back');
    assert.ok(lane_owner(handle(p)) > 0);
    const rest = users(ports.port_getn(p, 1000, 1, ZERO));
    assert.deepEqual(rest, [...Array.from({ length: queued }, (_, i) => i + 3), ...Array.from({ length: sent }, (_, i) => 1000 + i)]);
    close(p);
  });
}
