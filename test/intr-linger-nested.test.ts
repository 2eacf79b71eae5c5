/**
 * The last host waiter's linger (src/intr/handover.ts) with a window of 50 s,
 * against consumers whose OS events come through a kernel object they
 * watch: a kqueue with an EVFILT_READ knote on another kqueue that holds OS
 * knotes, or on a port with a PORT_SOURCE_FD association. The outer kqueue
 * has no OS knotes of its own, so its sleepers (a blocking kevent in an
 * LWP, an async kevent) were never counted among those the intr thread
 * serves, and its pollers did not take the set: while a linger lasted, the
 * inner source's arrival waited in the kernel's set until the linger ended
 * (two looks after the last leave: up to ~10 ms at the defaults, here
 * 50 s). Now such a sleeper ends the linger as it goes to sleep, and a poll
 * takes the set. A kqueue that watches kernel objects with no host sources
 * (a port fed by port_send) does not: the linger is for its loop.
 *
 * A stepped reader LWP (fixtures/linger.ts) makes each linger: it waits in
 * the host on a pipe's read knote, takes one write and leaves. Deadlines
 * everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';
import { lingering_reader, watching, type LingeringReader } from './fixtures/linger.js';

sys.boot({ intr_linger_ns: 50_000 * 1e6 });

const F = new URL('./fixtures/nested-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const kqs = (k: string): number => sys.kstat('kqueue')[`kqueue.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const LONG = { tv_sec: 20, tv_nsec: 0 };
const buf = Buffer.alloc(64);

/** Another round of the reader: the linger lasts again (the previous case may have ended it). */
async function relinger(rd: LingeringReader, A: [number, number], k: number): Promise<void> {
  rd.go(k);
  await until(() => kst('host_waiters') === 1, 10_000, `round ${k}: the reader to wait in the host`);
  writeSync(A[1], 'a');
  await until(() => rd.res[2] === k, 10_000, `round ${k}`);
  assert.equal(rd.res[3], 1, `round ${k}: one event`);
  assert.equal(kst('lingering'), 1, `round ${k}: the reader out of kevent, its linger lasts`);
}

/** The nested chains: [outer kqueue, what feeds it (write a byte), what drains it afterwards]. */
interface Chain { name: string; outer: number; fire(): void; drain(): void; close(): void }

function kq_chain(): Chain {
  const C = pipe_high();
  const inner = watching(C[0]), outer = watching(inner);
  return {
    name: 'a kqueue watching a kqueue with an OS knote', outer,
    fire() { writeSync(C[1], 'c'); },
    drain() { assert.equal(sys.kevent(inner, null, 4, ZERO).length, 1, 'the inner kqueue had the event'); readSync(C[0], buf); },
    close() { sys.close(outer); sys.close(inner); closeSync(C[0]); closeSync(C[1]); },
  };
}
function kq2_chain(): Chain {
  const C = pipe_high();
  const inner = watching(C[0]), mid = watching(inner), outer = watching(mid);
  return {
    name: 'a kqueue watching a kqueue watching a kqueue with an OS knote', outer,
    fire() { writeSync(C[1], 'c'); },
    drain() {
      assert.equal(sys.kevent(mid, null, 4, ZERO).length, 1, 'the middle kqueue had the event');
      assert.equal(sys.kevent(inner, null, 4, ZERO).length, 1, 'the inner kqueue had the event');
      readSync(C[0], buf);
    },
    close() { sys.close(outer); sys.close(mid); sys.close(inner); closeSync(C[0]); closeSync(C[1]); },
  };
}
function port_chain(): Chain {
  const C = pipe_high();
  const port = sys.port_create();
  const outer = watching(port);
  sys.port_associate(port, sys.PORT_SOURCE_FD, C[0], sys.POLLIN, 7);
  return {
    name: 'a kqueue watching a port with a PORT_SOURCE_FD association', outer,
    fire() { writeSync(C[1], 'c'); },
    drain() {
      assert.equal(sys.port_get(port, ZERO).portev_user, 7, 'the port had the event');
      readSync(C[0], buf);
      sys.port_associate(port, sys.PORT_SOURCE_FD, C[0], sys.POLLIN, 7);
    },
    close() { sys.close(outer); sys.close(port); closeSync(C[0]); closeSync(C[1]); },
  };
}

async function with_reader(body: (rd: LingeringReader, A: [number, number]) => Promise<void>): Promise<void> {
  const A = pipe_high();
  const rd = await lingering_reader(A[0], A[1]);
  try { await body(rd, A); } finally { await rd.end(); for (const fd of A) closeSync(fd); }
}

test('the contract: a kernel descriptor is no PORT_SOURCE_FD object (a kqueue reaches a port only the other way round)', () => {
  const kq = sys.kqueue(), port = sys.port_create();
  assert.throws(() => sys.port_associate(port, sys.PORT_SOURCE_FD, kq, sys.POLLIN, 0), { code: 'EBADFD' });
  sys.close(kq); sys.close(port);
});

for (const make of [kq_chain, port_chain, kq2_chain]) {
  test(`while a linger lasts, ${make().name.replace(/^a /, 'the async sleeper, the blocking sleeper and the poller of a ')} see its arrival at once`, async () => {
    // (make() above only named the case: its objects are closed with the process.)
    const ch = make();
    await with_reader(async (rd, A) => {
      let round = 2;
      // 1. An async kevent: asleep, it ends the linger; the intr thread then
      //    dispatches the inner arrival.
      const t1 = performance.now();
      const p = sys.kevent_async(ch.outer, null, 4, LONG);
      ch.fire();
      const evs = await within(p, 5_000, `${ch.name}: the async kevent (the arrival waited for the linger's end)`);
      assert.equal(evs.length, 1, 'one event');
      assert.ok(performance.now() - t1 < 4_000);
      ch.drain();
      await relinger(rd, A, round++);
      // 2. A blocking kevent in an LWP, the same.
      const sab = new SharedArrayBuffer(32), res = new Int32Array(sab), tsab = new SharedArrayBuffer(8);
      const lid = sys.lwp_create({ module: F, export: 'nestedSleeper', arg: { kq: ch.outer, sab, tsab } });
      try {
        await until(() => res[0] === 1, 10_000, 'the sleeper');
        const sleeps0 = kqs('sleeps');
        Atomics.store(res, 1, 1); Atomics.notify(res, 1);
        await until(() => kqs('sleeps') > sleeps0, 10_000, 'the sleeper asleep');
        ch.fire();
        await until(() => res[2] === 1, 5_000, () => `${ch.name}: the blocking kevent (the arrival waited for the linger's end): ${JSON.stringify(sys.kstat('intr'))}`);
        assert.equal(res[3], 1, 'one event');
      } finally {
        Atomics.store(res, 1, -1); Atomics.notify(res, 1);
        await within(sys.lwp_wait_async(lid), 40_000, 'the sleeper');
      }
      ch.drain();
      await relinger(rd, A, round++);
      // 3. Polls: they take the set themselves; the linger goes on.
      ch.fire();
      let seen = 0;
      const end = performance.now() + 3_000;
      while (seen === 0 && performance.now() < end) {
        seen = sys.kevent(ch.outer, null, 4, ZERO).length;
        if (seen === 0) await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(seen, 1, `${ch.name}: the poll saw the arrival`);
      ch.drain();
      assert.equal(kst('lingering'), 1, 'a poll leaves the linger alone');
    });
    ch.close();
  });
}

test('a kqueue watching only kernel objects with no host sources (a port fed by port_send) leaves the linger alone while its sleeper sleeps', async () => {
  const port = sys.port_create();
  const outer = watching(port);
  await with_reader(async () => {
    const ends0 = kst('linger_ends');
    const p = sys.kevent_async(outer, null, 4, LONG);
    await until(() => kqs('sleeps') > 0, 10_000, 'asleep');
    // The async kevent sleeps (a later look would see an end).
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(kst('lingering'), 1, 'the linger lasts');
    assert.equal(kst('linger_ends'), ends0);
    sys.port_send(port, 1, 0);
    assert.equal((await within(p, 5_000, 'the port_send')).length, 1);
  });
  sys.close(outer); sys.close(port);
});
