/**
 * A getter whose thread dies in the middle of a take stranded the message
 * blocks it had taken: between the take, which detaches the message events
 * under the port lock, and the end of its delivery, which decodes each one
 * into the thread's inbox and puts the blocks back on the arena's free
 * stack (msg-sys.ts msg_deliver, msg-arena.ts msg_free_defer and
 * msg_free_flush), nothing but the getter's locals named them, nor the
 * chain of blocks it had already freed: the arena's bytes in use stayed up
 * after the reap and after the port's close, with nothing pending on the
 * port. A take now records the blocks it detaches in its LWP's in-flight
 * record (as a poster does: test/msg-poster-death), and the chain's head
 * too, and the LWP's reaping frees them (kstat msg.reaped). The messages
 * themselves are lost: they were taken, and nobody can take them again.
 *
 * The getter is an LWP that dies inside its delivery callback (the
 * deliver-hook fixture), before or after the real callback of its first
 * message: abruptly, as a killed worker (no in-thread reap: the pool's
 * owner, here the main thread, reaps it), or by process.exit in its thread
 * (it reaps itself in its 'exit' listener, in the middle of the take). The
 * messages ride a send lane (the main thread's) or, when the getter owns
 * the port's lane, slots under the port lock. A take of more than a
 * record's worth (MSG_INFLIGHT_MAX) takes them in passes: the last case
 * dies in the first pass, and the rest stay queued, in order; the first
 * case checks that passes deliver a big take whole and in order.
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { I32 } from '../src/kern/kmem.js';
import { boot } from '../src/kern/boot.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { close } from '../src/kern/sys.js';
import { P } from '../src/ports/mem.js';
import { port_post_value, msg_inbox_pick, PORT_SOURCE_MSG } from '../src/ports/msg-sys.js';
import { MSG_INFLIGHT_MAX } from '../src/ports/msg-arena.js';
import { PORT_SOURCE_USER } from '../src/ports/consts.js';
import { stats } from '../src/index.js';
import type { GetterDiesArg } from './fixtures/getter-dies.js';
import { until, within, cleanup } from './helpers.js';
import { gauges, assertArenaEmpty } from './msg-helpers.js';

const SELF = new URL(import.meta.url);
const GETTER = new URL('./fixtures/getter-dies.js', import.meta.url);
if (isMainThread) boot({ port_spin_ns: 0 });
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const reaped = (): number => stats('msg')['msg.reaped']!;

/** LWP: posts n values (0 .. n - 1) on p. */
export function postN(a: { p: number; n: number }): void {
  for (let i = 0; i < a.n; i++) port_post_value(a.p, i);
}

/** The values of the message events among evs, picked from this thread's inbox. */
function values(evs: readonly { portev_source: number; portev_object: unknown }[]): unknown[] {
  return evs.filter((e) => e.portev_source === PORT_SOURCE_MSG).map((e) => {
    const got: { message?: unknown } = {};
    assert.ok(msg_inbox_pick(e.portev_object as number, got), 'the message is in this thread\'s inbox');
    return got.message;
  });
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

if (isMainThread) {
  test('a take of more messages than a record holds takes them in passes: all of them, in order, in one call', async () => {
    assertArenaEmpty('before');
    const N = 3 * MSG_INFLIGHT_MAX + 5;
    // On this thread's lane: the lane-only take.
    const p = ports.port_create();
    for (let i = 0; i < N; i++) port_post_value(p, i);
    assert.deepEqual(values(ports.port_getn(p, 4 * MSG_INFLIGHT_MAX, 1, ZERO)), range(0, N), 'lane');
    assertArenaEmpty('after the lane take');
    close(p);
    // As slots (this thread owns the lane, another LWP posts), after a plain
    // event on the lane: the general take, merging the two.
    const q = ports.port_create();
    ports.port_send(q, 1, 5);
    const w = lwp.lwp_create({ module: SELF, export: 'postN', arg: { p: q, n: N } });
    await within(lwp.lwp_wait_async(w), 10_000, 'the poster');
    const h = fd_get(q, DTYPE_PORT, 'test', 'EBADFD');
    assert.equal(I32[h + P.nent], N, 'the messages are slots');
    const evs = ports.port_getn(q, 4 * MSG_INFLIGHT_MAX, 1, ZERO);
    assert.deepEqual([evs[0]!.portev_source, evs[0]!.portev_user], [PORT_SOURCE_USER, 5], 'the plain event first');
    assert.deepEqual(values(evs), range(0, N), 'slots');
    assertArenaEmpty('after the general take');
    close(q);
  });

  const cases: { n: number; slots: boolean; when: GetterDiesArg['when']; death: GetterDiesArg['death'] }[] = [
    { n: 2, slots: false, when: 'after', death: 'abrupt' },
    { n: 3, slots: true, when: 'after', death: 'exit' },
    { n: 2, slots: false, when: 'before', death: 'exit' },
    { n: 3, slots: true, when: 'before', death: 'abrupt' },
    { n: MSG_INFLIGHT_MAX + 36, slots: false, when: 'after', death: 'abrupt' },
  ];
  for (const c of cases) {
    const { n, slots, when, death } = c;
    test(`a getter that dies in its delivery (${death === 'abrupt' ? 'its worker gone' : 'process.exit'}, ${when} the first of ${n} messages, ${slots ? 'slots' : 'a lane'}): the blocks it took come back`, async () => {
      assertArenaEmpty('before');
      const reaped0 = reaped();
      const p = ports.port_create();
      const h = fd_get(p, DTYPE_PORT, 'test', 'EBADFD');
      const sab = new SharedArrayBuffer(16), s = new Int32Array(sab);
      const w = lwp.lwp_create({ module: GETTER, export: 'getterDies', arg: { p, sab, n, slots, when, queued: true, death } satisfies GetterDiesArg });
      let passed = false;
      try {
        await until(() => Atomics.load(s, 1) === 1, 10_000, 'the getter started');
        for (let i = 0; i < n; i++) port_post_value(p, i);
        assert.equal(I32[h + P.nent], slots ? n : 0, slots ? 'the messages are slots' : 'the messages are on a lane');
        assert.ok(gauges().bytes > 0);
        passed = true;
      } finally {
        // After a failure, the port closed first: the getter's take ends at
        // once (EBADF) instead of waiting out its 30 s for messages that
        // may never have been posted, and the failure is what is reported.
        if (!passed) close(p);
        Atomics.store(s, 0, 1); Atomics.notify(s, 0);
        await cleanup(within(lwp.lwp_wait_async(w).catch(() => 0), 10_000, 'the getter reaped'), passed);
      }
      assert.deepEqual([Atomics.load(s, 3), Atomics.load(s, 2)], [1, 0], 'the getter died in its delivery');
      // One pass took at most a record's worth; the rest is still queued, in order.
      const took = Math.min(n, MSG_INFLIGHT_MAX);
      assert.deepEqual(values(ports.port_getn(p, n, 1, ZERO)), range(took, n), 'what the getter did not take');
      await until(() => gauges().bytes === 0, 5000, () => `the dead getter's blocks freed (${JSON.stringify(gauges())} in use)`);
      assertArenaEmpty('after');
      assert.equal(reaped() - reaped0, took, 'kstat msg.reaped: every block it took');
      close(p);
      assertArenaEmpty('after the close');
    });
  }
}
