/**
 * A getter whose thread ends in the middle of its take left the port pinned:
 * the list slots it had detached still counted in P.curr (they go back at
 * the end of the delivery, which never came), and a blocking port_get(n)'s
 * raised P.thrcnt was never dropped (the call's finally never ran), so a
 * port closed afterwards was never released (queue.ts port_exit_release
 * frees the struct only at curr 0 and thrcnt 0): the kmem cache 'port'
 * kept the struct for ever, and 'port_kevent' the slots. (The message
 * blocks it had taken are msg-getter-death's.) A getter's thrcnt and its
 * take's slots are now named in its LWP's in-flight record, and the LWP's
 * reaping gives them back (take-general.ts take_reap).
 *
 * The getter dies inside the delivery callback of its first message (the
 * deliver-hook fixture), abruptly as a killed worker (reaped by the main
 * thread) or by process.exit in its thread (it reaps itself in its 'exit'
 * listener). Its take: the general path after a wait (thrcnt raised), with
 * the messages as slots (the getter owns the port's lane) or on the main
 * thread's lane (thrcnt alone); or the fast path, the messages queued
 * before the call (slots alone, no thrcnt).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import * as ports from '../src/ports/sys.js';
import * as lwp from '../src/lwp/sys.js';
import { I32 } from '../src/kern/kmem.js';
import { boot } from '../src/kern/boot.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { close, kmem_snapshot } from '../src/kern/sys.js';
import { P } from '../src/ports/mem.js';
import { port_post_value } from '../src/ports/msg-sys.js';
import type { GetterDiesArg } from './fixtures/getter-dies.js';
import { until, within } from './helpers.js';
import { assertArenaEmpty } from './msg-helpers.js';

const GETTER = new URL('./fixtures/getter-dies.js', import.meta.url);
boot({ port_spin_ns: 0 });
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const inUse = (cache: string): number => kmem_snapshot().caches.find((c) => c.cache === cache)!.inUse;

type Path = 'wait' | 'fast';
type Death = GetterDiesArg['death'];

const cases: { slots: boolean; path: Path; death: Death }[] = [
  { slots: true, path: 'wait', death: 'abrupt' },
  { slots: true, path: 'wait', death: 'exit' },
  { slots: false, path: 'wait', death: 'abrupt' },
  { slots: false, path: 'wait', death: 'exit' },
  { slots: true, path: 'fast', death: 'abrupt' },
  { slots: true, path: 'fast', death: 'exit' },
];
for (const { slots, path, death } of cases) {
  test(`a getter that dies in its take (${path === 'wait' ? 'after a wait' : 'the fast path'}, ${slots ? 'slots' : 'a lane'}, ${death === 'abrupt' ? 'its worker gone' : 'process.exit'}): a close afterwards releases the port`, async () => {
    const n = 3;
    const ports0 = inUse('port'), slots0 = inUse('port_kevent');
    const p = ports.port_create();
    const h = fd_get(p, DTYPE_PORT, 'test', 'EBADFD');
    const sab = new SharedArrayBuffer(16), s = new Int32Array(sab);
    const w = lwp.lwp_create({ module: GETTER, export: 'getterDies', arg: { p, sab, n, slots, when: 'before', queued: path === 'fast', death } satisfies GetterDiesArg });
    try {
      await until(() => Atomics.load(s, 1) === 1, 10_000, 'the getter started');
      // After a wait: the getter is asleep in port_getn (counted in thrcnt) before the messages come.
      if (path === 'wait') await until(() => I32[h + P.wqh] !== 0, 10_000, 'the getter asleep');
      for (let i = 0; i < n; i++) port_post_value(p, i);
      if (path === 'fast') assert.equal(I32[h + P.nent], n, 'the messages are slots');
    } finally {
      Atomics.store(s, 0, 1); Atomics.notify(s, 0);
      await within(lwp.lwp_wait_async(w).catch(() => 0), 10_000, 'the getter reaped');
    }
    assert.deepEqual([Atomics.load(s, 3), Atomics.load(s, 2)], [1, 0], 'the getter died in its delivery');
    assert.equal(I32[h + P.thrcnt], 0, 'thrcnt given back');
    assert.equal(ports.port_getn(p, 8, 0, ZERO).length, 0, 'nothing left queued');
    close(p);
    assert.equal(inUse('port'), ports0, 'the closed port\'s struct released');
    assert.equal(inUse('port_kevent'), slots0, 'its slots back in the kernel cache');
    await until(() => { try { assertArenaEmpty('after'); return true; } catch { return false; } }, 5000, 'the arena drained');
    // The next port works as ever.
    const q = ports.port_create();
    ports.port_send(q, 5, 6);
    assert.equal(ports.port_get(q, ZERO).portev_user, 6);
    close(q);
    assert.equal(inUse('port'), ports0);
  });
}
