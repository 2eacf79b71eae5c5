/**
 * The last host waiter's linger (src/intr/handover.ts), with a window of 300 ms: after
 * an LWP blocked in kevent on a kqueue with OS knotes returns, the intr
 * thread's set stays disarmed; an arrival meanwhile waits in the set, and
 * the LWP's next wait takes it itself. The bound: while the LWP stays out
 * of kevent the intr thread's timer ends the linger within two windows
 * after the last leave and re-arms the set (without that timer, what
 * arrives for a consumer that only polls would wait for the LWP forever). A sleeper the intr thread serves (kevent_async)
 * ends the linger as it comes, and while one sleeps no linger starts.
 * Deadlines everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';

const WINDOW_MS = 300;
sys.boot({ intr_linger_ns: WINDOW_MS * 1e6 });

const F = new URL('./fixtures/kq-hostwait-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

function stepped(r: number): { lid: number; res: Int32Array; go(k: number): void } {
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const lid = sys.lwp_create({ module: F, export: 'steppedReader', arg: { r, sab } });
  return { lid, res, go(k) { Atomics.store(res, 1, k); Atomics.notify(res, 1); } };
}

test('the set lingers after the last host waiter leaves; what arrives meanwhile is taken by its next wait; the intr thread\'s timer ends it (the bound); an async waiter ends it, and none starts while one sleeps', async () => {
  const A = pipe_high(), C = pipe_high(), buf = Buffer.alloc(16);
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(C[0], sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
  const rd = stepped(A[0]);
  await until(() => rd.res[0] === 1, 10_000, 'the reader');
  // Round 1: the reader waits in the host and takes the write itself.
  rd.go(1);
  await until(() => kst('host_waiters') === 1, 10_000, 'the reader to wait in the host');
  const ends0 = kst('linger_ends'), taken0 = kst('host_taken');
  writeSync(A[1], 'a');
  await until(() => rd.res[2] === 1, 10_000, 'round 1');
  assert.equal(rd.res[3], 1, 'round 1: one event');
  assert.ok(kst('host_taken') > taken0, 'round 1: the reader took it from the set');
  // Out of kevent now. Unless this thread was kept from running for a
  // whole window (a loaded host), the linger lasts: the set is disarmed
  // with nobody waiting, and an arrival waits there for the reader.
  const lingered = kst('lingering') === 1 && kst('linger_ends') === ends0;
  if (lingered) assert.equal(kst('set_disarmed'), 1, 'disarmed while the linger lasts');
  writeSync(A[1], 'bc');
  const taken1 = kst('host_taken');
  rd.go(2);
  await until(() => rd.res[2] === 2, 10_000, 'round 2');
  assert.equal(rd.res[3], 1, 'round 2: one event');
  assert.equal(rd.res[4], 2, 'round 2: data, the two bytes written while it was away');
  if (lingered && kst('linger_ends') === ends0) assert.ok(kst('host_taken') > taken1, 'round 2: the reader took what waited in the set');
  // The bound: the reader stays out of kevent, nobody the intr thread
  // serves sleeps; the intr thread's timer ends the linger (two windows at
  // most after the last leave) and arms the set again. Then it takes C's
  // event for an async waiter itself, the reader still away.
  const ends1 = kst('linger_ends'), served1 = kst('linger_served_ends');
  await until(() => kst('lingering') === 0, 10_000, 'the linger to end by its timer');
  assert.ok(!lingered || kst('linger_ends') > ends1, 'the linger ended');
  assert.equal(kst('linger_served_ends'), served1, 'nobody the intr thread serves slept meanwhile');
  await until(() => kst('set_disarmed') === 0, 10_000, 'the set armed again while the reader is out of kevent');
  writeSync(C[1], 'x');
  assert.equal((await within(sys.kevent_async(kq, null, 1, { tv_sec: 10, tv_nsec: 0 }), 15_000, 'C, armed')).length, 1);
  readSync(C[0], buf);
  // A new linger (round 3), then a consumer the intr thread serves comes to
  // sleep: an async kevent on a kqueue with OS knotes ends the linger as it
  // sleeps, so its event does not wait for the linger's end.
  rd.go(3);
  await until(() => kst('host_waiters') === 1, 10_000, 'round 3: the reader to wait in the host');
  writeSync(A[1], 'd');
  await until(() => rd.res[2] === 3, 10_000, 'round 3');
  const lingering3 = kst('lingering') === 1, served3 = kst('linger_served_ends');
  const t3 = performance.now();
  const p3 = within(sys.kevent_async(kq, null, 1, { tv_sec: 10, tv_nsec: 0 }), 15_000, 'C while the reader is out of kevent, async');
  writeSync(C[1], 'y');
  assert.equal((await p3).length, 1, 'C: one event');
  if (lingering3) {
    assert.equal(kst('linger_served_ends'), served3 + 1, 'the async waiter ended the linger');
    assert.ok(performance.now() - t3 < WINDOW_MS, 'C waited for the linger\'s end');
  }
  // While it sleeps no leave lingers: the next round leaves the set armed.
  const p4 = within(sys.kevent_async(kq, null, 1, { tv_sec: 10, tv_nsec: 0 }), 15_000, 'C once more');
  await until(() => kst('served_sleepers') === 1, 10_000, 'the async waiter asleep');
  const starts4 = kst('lingers');
  rd.go(4);
  await until(() => kst('host_waiters') === 1, 10_000, 'round 4: the reader to wait in the host');
  writeSync(A[1], 'e');
  await until(() => rd.res[2] === 4, 10_000, 'round 4');
  assert.equal(kst('lingers'), starts4, 'a linger started while an async waiter slept');
  assert.equal(kst('lingering'), 0);
  readSync(C[0], buf);
  writeSync(C[1], 'z');
  assert.equal((await p4).length, 1);
  await until(() => kst('served_sleepers') === 0, 10_000, 'the served count back at 0');
  rd.go(-1);
  await within(sys.lwp_wait_async(rd.lid), 10_000, 'the reader');
  sys.close(kq);
  for (const fd of [...A, ...C]) closeSync(fd);
});

test('an LWP that keeps coming back within a window keeps its linger: the intr thread arms the timer again each window instead of ending it', async () => {
  const A = pipe_high();
  const rd = stepped(A[0]);
  await until(() => rd.res[0] === 1, 10_000, 'the reader');
  const starts0 = kst('lingers'), ends0 = kst('linger_ends');
  // 20 rounds 100 ms apart (2 s, more than six windows): each leave finds
  // the linger going on. Were it ended at each expiry regardless, about
  // six would end and as many start again.
  for (let k = 1; k <= 20; k++) {
    rd.go(k);
    await until(() => kst('host_waiters') === 1, 10_000, `round ${k}: the reader to wait in the host`);
    writeSync(A[1], 'x');
    await until(() => rd.res[2] === k, 10_000, `round ${k}`);
    assert.equal(rd.res[3], 1, `round ${k}: one event`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const starts = kst('lingers') - starts0, ends = kst('linger_ends') - ends0;
  // One start; a stall of this thread of two windows (a loaded host) may end one.
  assert.ok(starts <= 2 && ends <= 1, `lingers started ${starts}, ended ${ends}`);
  rd.go(-1);
  await within(sys.lwp_wait_async(rd.lid), 10_000, 'the reader');
  assert.equal(kst('lingering'), 0, 'the exit ended it');
  for (const fd of A) closeSync(fd);
});
