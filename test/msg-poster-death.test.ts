/**
 * A poster whose worker dies between allocating its message's arena block
 * and queueing the message's event (msg-sys.ts: msg_block_get, then
 * msg_queue) left the block allocated for ever: nothing names it but the
 * dead thread's locals, so the arena's bytes in use never came back (a
 * program that loses workers ends with EAGAIN on every post). Each LWP now
 * records the keys of its blocks in flight in kernel memory, set under the
 * arena lock and cleared where the event is published (under the port lock,
 * or by the lane's publishing store), and its reaping frees what is left.
 *
 * The death is placed as in ports-lane-owner-death: the test holds the port
 * lock the poster needs after its allocation; the poster's thread (its
 * kernel mutex sleep hook replaced) ends as it goes to sleep on that lock;
 * as a killed worker's, its LWP is reaped by the pool's owner (here the
 * main thread). The last case checks the other side: a poster that dies
 * after its lane published the message (waking the getter under the port
 * lock) must not have its block freed by the reaping: the getter gets it.
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { I32 } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';
import { mutex_set_sleep_hook } from '../src/kern/mutex.js';
import { hold_until_sleeper } from './fixtures/dies-on-lock.js';
import { boot } from '../src/kern/boot.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { close } from '../src/kern/sys.js';
import { P, port_lock } from '../src/ports/mem.js';
import { LN_CTL, LN_WANT } from '../src/ports/lane-locked.js';
import { port_post_value, port_post_many, msg_inbox_pick, PORT_SOURCE_MSG } from '../src/ports/msg-sys.js';
import { msg_encode_many } from '../src/ports/msg-codec.js';
import { stats } from '../src/index.js';
import { until, within, within_or_release } from './helpers.js';
import { gauges, assertArenaEmpty } from './msg-helpers.js';

const SELF = new URL(import.meta.url);
// No adaptive spin: a getter that has published what it wants is asleep.
if (isMainThread) boot({ port_spin_ns: 0 });
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const reaped = (): number => stats('msg')['msg.reaped']!;
/** How the poster posts: one value, a batch of three, a batch of 100 (more keys than an LWP's record holds: msg-arena.ts). */
type How = 'one' | 'many' | 'big';
function batch(how: How): unknown[] {
  return how === 'many' ? [10, 'eleven', { twelve: 12 }] : Array.from({ length: 100 }, (_, i) => ({ i, s: 'x'.repeat(i) }));
}

/**
 * LWP: (with `first`) posts one message (taking p's lane) and says so (s[1]);
 * waits for s[0]; then posts (`how`: one value, or a batch of three) with its
 * mutex sleep hook ending its thread: it dies when it first has to sleep on
 * a kernel mutex in that post.
 */
export function posterDies(a: { p: number; sab: SharedArrayBuffer; first: boolean; how: How }): void {
  const s = new Int32Array(a.sab);
  if (a.first) port_post_value(a.p, 1);
  Atomics.store(s, 1, 1); Atomics.notify(s, 1);
  while (Atomics.load(s, 0) === 0) Atomics.wait(s, 0, 0, 1000);
  // An abrupt death (a worker killed): nothing more runs in this thread,
  // not even the in-thread reap process.exit would run (it skips a thread
  // with no LWP), so the pool's owner reaps it.
  mutex_set_sleep_hook(() => { Atomics.store(s, 3, 1); cur.lwp = 0; process.exit(9); });
  if (a.how === 'one') port_post_value(a.p, 4242);
  else { const { bytes, ends } = msg_encode_many(batch(a.how)); port_post_many(a.p, bytes, ends); }
  Atomics.store(s, 2, 1); // not reached when it died as planned
}

/** LWP: one port_get on p; the message it carried in out[0] (-1: ETIME, -2: not a message, -3: not in the inbox). */
export function getOne(a: { p: number; out: SharedArrayBuffer }): void {
  const out = new Int32Array(a.out);
  try {
    const ev = ports.port_get(a.p, { tv_sec: 30, tv_nsec: 0 });
    if (ev.portev_source !== PORT_SOURCE_MSG) { out[0] = -2; return; }
    const got: { message?: unknown } = {};
    out[0] = msg_inbox_pick(ev.portev_object as number, got) ? got.message as number : -3;
  } catch { out[0] = -1; }
}

/**
 * Starts a poster on port p, runs `ready` until it holds, then holds p's
 * lock while the poster posts, until it is about to sleep on that lock (its
 * thread then ends); returns once it has been reaped.
 */
async function posterDiesOn(p: number, first: boolean, how: How, ready: () => boolean): Promise<void> {
  const h = fd_get(p, DTYPE_PORT, 'test', 'EBADFD');
  const sab = new SharedArrayBuffer(16), s = new Int32Array(sab);
  const w = lwp.lwp_create({ module: SELF, export: 'posterDies', arg: { p, sab, first, how } });
  try {
    await until(() => Atomics.load(s, 1) === 1, 10_000, 'the poster started');
    await until(ready, 10_000, 'the test\'s getter in place');
    assert.ok(hold_until_sleeper(port_lock(h), s), 'the poster went to sleep on the port lock in its post');
  } finally {
    Atomics.store(s, 0, 1); Atomics.notify(s, 0); // never left waiting
    await within(lwp.lwp_wait_async(w).catch(() => 0), 10_000, 'the poster reaped');
  }
  assert.equal(Atomics.load(s, 2), 0, 'the poster died in its post');
}

if (isMainThread) {
  for (const how of ['one', 'many', 'big'] as const) {
    test(`a poster that dies between its block's allocation and its event's queueing (${how === 'one' ? 'port_post' : `port_post_many of ${batch(how).length}`}): the blocks come back`, async () => {
      assertArenaEmpty('before');
      const reaped0 = reaped();
      const p = ports.port_create();
      // This thread takes the port's lane: the poster's event goes under the port lock.
      ports.port_send(p, 1, 7);
      await posterDiesOn(p, false, how, () => true);
      assert.deepEqual(ports.port_getn(p, 8, 1, ZERO).map((e) => e.portev_user), [7], 'no message was queued');
      await until(() => gauges().bytes === 0, 2000, () => `the dead poster's block(s) freed (${gauges().bytes} bytes in use)`);
      assertArenaEmpty('after');
      assert.equal(reaped() - reaped0, how === 'one' ? 1 : batch(how).length, 'kstat msg.reaped');
      close(p);
    });
  }

  test('a poster that dies after its lane published the message: the getter gets it, the block is not freed under it', async () => {
    assertArenaEmpty('before');
    const reaped0 = reaped();
    const p = ports.port_create();
    const h = fd_get(p, DTYPE_PORT, 'test', 'EBADFD');
    const out = new SharedArrayBuffer(4), o = new Int32Array(out);
    o[0] = -4;
    let g = 0;
    await posterDiesOn(p, true, 'one', () => {
      if (g === 0) {
        // The poster's first message, which took the lane, out of the way first.
        const evs = ports.port_getn(p, 1, 1, ZERO);
        for (const e of evs) msg_inbox_pick(e.portev_object as number, {});
        g = lwp.lwp_create({ module: SELF, export: 'getOne', arg: { p, out } });
      }
      const ln = I32[h + P.lane]!;
      return ln !== 0 && (Atomics.load(I32, ln + LN_CTL) & LN_WANT) !== 0;
    });
    await within_or_release(lwp.lwp_wait_async(g), 5000, 'the getter woken for the published message', () => {
      ports.port_send(p, 1, 99); // let it go
      return lwp.lwp_wait_async(g);
    });
    assert.equal(o[0], 4242, 'the getter got the dead poster\'s message');
    assertArenaEmpty('after');
    assert.equal(reaped() - reaped0, 0, 'kstat msg.reaped: nothing was in flight');
    close(p);
  });
}
