/**
 * A message's block key (msg-arena.ts: generation * 2^32 + handle, the
 * generation 20 bits) repeats after 2^20 allocations, so a stale key could
 * name a live block again. It never reaches the kernel stale: the kernel
 * turns a key into a block (msg_block) only for the holder that owns the
 * block until it frees it (the message's event, taken off its port or
 * discarded by a close under the port lock, never both; the poster's own
 * keys; its LWP's in-flight record, zeroed before the block can go back),
 * and a program cannot hand a key back to the kernel: a message event's
 * portev_object is only looked up in the taking thread's inbox (a list in
 * JavaScript), and PORT_SOURCE_MSG takes no association. These cases hold
 * each such path: a key given back is refused or found in no inbox, and
 * every way a message event leaves its port (taken from a lane or a slot,
 * discarded from either by a close, a batch's) frees its block once, with
 * no stale key met (msg_deliver's warning) and the arena drained.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { stats } from '../src/index.js';
import { port_post_value, port_post_many, msg_inbox_pick, PORT_SOURCE_MSG } from '../src/ports/msg-sys.js';
import { msg_encode_many } from '../src/ports/msg-codec.js';
import { gauges, assertArenaEmpty } from './msg-helpers.js';
import { I32 } from '../src/kern/kmem.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { P } from '../src/ports/mem.js';

const ZERO = { tv_sec: 0, tv_nsec: 0 };
const discarded = (): number => stats('msg')['msg.discarded']!;

/** Collects the 'stale block key' warnings (msg-sys.ts msg_deliver) of fn. */
async function staleWarnings(fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const on = (w: Error): void => { if (/stale block key/.test(w.message)) seen.push(w.message); };
  process.on('warning', on);
  try {
    fn();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', on);
  }
  return seen;
}

/** Takes up to n events of port p and picks their messages; the values. */
function take(p: number, n: number): unknown[] {
  return sys.port_getn(p, n, 1, ZERO).map((e) => {
    assert.equal(e.portev_source, PORT_SOURCE_MSG);
    const ev: { message?: unknown } = {};
    assert.ok(msg_inbox_pick(e.portev_object as number, ev), 'in the inbox');
    return ev.message;
  });
}

test('a message key a program holds is never taken back by the kernel: PORT_SOURCE_MSG has no association, a picked key is in no inbox', () => {
  assertArenaEmpty('before');
  const p = sys.port_create();
  port_post_value(p, 'one');
  const [ev] = sys.port_getn(p, 1, 1, ZERO);
  const key = ev!.portev_object as number;
  assert.throws(() => sys.port_associate(p, PORT_SOURCE_MSG, key, 1, 0), { code: 'EINVAL' });
  assert.throws(() => sys.port_dissociate(p, PORT_SOURCE_MSG, key), { code: 'EINVAL' });
  const got: { message?: unknown } = {};
  assert.ok(msg_inbox_pick(key, got));
  assert.equal(got.message, 'one');
  assert.equal(msg_inbox_pick(key, {}), false, 'picked once');
  assertArenaEmpty('after');
  sys.close(p);
});

test('every way a message event leaves its port frees its block once: taken or discarded, lane or slot, single or batch', async () => {
  assertArenaEmpty('before');
  const d0 = discarded();
  const warnings = await staleWarnings(() => {
    for (let round = 0; round < 50; round++) {
      const a = sys.port_create(), b = sys.port_create();
      // a: this thread's lane (its first post claims it); b: slots (a thread owns one lane at a time).
      for (let i = 0; i < 20; i++) port_post_value(a, i);
      for (let i = 0; i < 20; i++) port_post_value(b, { i });
      const { bytes, ends } = msg_encode_many(['x', 'y', 'z']);
      assert.equal(port_post_many(b, bytes, ends), 3);
      assert.notEqual(I32[fd_get(a, DTYPE_PORT, 'test', 'EBADFD') + P.lane], 0, 'a has a lane');
      assert.equal(I32[fd_get(b, DTYPE_PORT, 'test', 'EBADFD') + P.lane], 0, 'b has none: its messages are in slots');
      assert.deepEqual(take(a, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(take(b, 10).length, 10);
      assert.ok(gauges().bytes > 0);
      sys.close(a); // 10 on the lane
      sys.close(b); // 13 in slots
    }
  });
  assert.deepEqual(warnings, [], 'no stale block key met');
  assert.equal(discarded() - d0, 50 * 23, 'every queued message discarded by its close');
  assertArenaEmpty('after');
});
