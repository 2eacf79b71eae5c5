/**
 * kevent's wait in the host (intr/hostwait.ts): an LWP blocked in kevent
 * on a kqueue with OS knotes sleeps in epoll_pwait2 on the kernel's epoll
 * set, which holds its kick eventfd too; while it does, the intr thread leaves the set's events
 * to it, and it dispatches them itself (for every kqueue and port, not only
 * its own). Checked here: exactly one event per write with two such LWPs
 * waiting at once (each takes the other's events too, at random), nothing
 * left over; kstat intr.host_taken proves the path was taken; a child's
 * exit while such an LWP waits still reaches the intr thread's own work
 * (its io_uring's ask, taken from the set by the LWP: intr.ts intr_poke)
 * and its NOTE_EXIT. Deadlines everywhere.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within, seed, letLwpsGo } from './helpers.js';
import { kst, reader, two_readers_exactly_once, triggers_reach_the_waiter } from './fixtures/hostwait-cases.js';

const F = new URL('./fixtures/kq-hostwait-lwp.js', import.meta.url);

// The LWPs here block in kevent (10 s timeouts, rounds of them); a test that
// failed first left them waiting in the host, for the next test to find
// counted, and the file ran on: what a test left is woken (EINTR) and
// collected after it (nothing, after a test that passed). The words they
// wait for outside the kernel, the tests set themselves.
afterEach(() => letLwpsGo(sys));

test('two LWPs waiting in the host on the epoll set: one event per write each, nothing lost, doubled or left over (seeded)', async () => {
  await two_readers_exactly_once(400, true);
});

test('a child\'s exit while an LWP waits in the host on the set: NOTE_EXIT arrives (the intr thread\'s own work is poked)', async () => {
  const P = pipe_high();
  const waits0 = kst('host_waits'), pokes0 = kst('pokes');
  const rd = reader(P[0], 1);
  await until(() => rd.res[0] === 1, 10_000, 'the reader');
  await until(() => kst('host_waits') > waits0, 10_000, 'the reader to wait in the host');
  for (let round = 0; round < 3; round++) {
    // A host process (a shell: only its pid and wait status matter) that exits 7
    // when its stdin closes, once registered: it exits while the reader waits.
    const child = spawn('/bin/sh', ['-c', 'read x; exit 7'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const kq = sys.kqueue();
    sys.kevent(kq, [sys.EV_SET(child.pid!, sys.EVFILT_PROC, sys.EV_ADD, sys.NOTE_EXIT, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    child.stdin!.end();
    const ev = await within(sys.kevent_async(kq, null, 1, { tv_sec: 10, tv_nsec: 0 }), 15_000, 'NOTE_EXIT');
    assert.equal(ev.length, 1, `round ${round}: NOTE_EXIT`);
    assert.ok((ev[0]!.fflags & sys.NOTE_EXIT) !== 0, 'NOTE_EXIT in fflags');
    assert.equal(ev[0]!.data, 7 << 8, 'the wait status: exit 7');
    sys.close(kq);
  }
  // The ask for the child's io_uring waitid was taken from the set by the
  // reader (it waits there throughout), which handed it to the intr thread.
  assert.ok(kst('pokes') > pokes0, 'the intr thread was poked');
  writeSync(P[1], 'x');
  await until(() => rd.res[4] === 1, 10_000, 'the reader to finish');
  assert.equal(rd.res[1], 1);
  await within(sys.lwp_wait_async(rd.lid), 10_000, 'reader');
  for (const fd of P) closeSync(fd);
  // Its last host wait left: no waiter counted, the set armed again once its linger ended (its exit ends it).
  // (Once, in a loaded run, the next test found a waiter still counted: this says so here, with the intr kstats.)
  await until(() => kst('host_waiters') === 0 && kst('set_disarmed') === 0, 5_000, () => `no host waiter left, the set armed: ${JSON.stringify(sys.kstat('intr'))}`);
});

/** Waits for one read event on kq in the event loop (kevent_async: a waiter that is not in the host), within a deadline. */
async function oneAsync(kq: number, what: string): Promise<void> {
  const ev = await within(sys.kevent_async(kq, null, 1, { tv_sec: 10, tv_nsec: 0 }), 15_000, what);
  assert.equal(ev.length, 1, what);
}

test('the intr thread\'s set is disarmed exactly while host waiters wait; an event for a waiter that is not in the host arrives either way', async () => {
  const A = pipe_high(), C = pipe_high(), buf = Buffer.alloc(16);
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(C[0], sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
  const disarms0 = kst('host_disarms');
  const rd = reader(A[0], 1);
  let released = false;
  try {
    // The waiter is counted, then disarms the set (hwait_arm_sync: an
    // epoll_ctl after the count; CI once looked between the two): both, in time.
    await until(() => rd.res[0] === 1 && kst('host_waiters') === 1 && kst('set_disarmed') === 1, 10_000,
      () => `the reader to wait in the host, the set disarmed: ${JSON.stringify(sys.kstat('intr'))}`);
    assert.ok(kst('host_disarms') > disarms0);
    // The reader dispatches C's event (the intr thread does not see the set
    // now), or, when the reader's last wait ended in a kick and its linger
    // still lasts, the poll kevent_async makes before it sleeps takes it
    // first (intr_linger_take; beside two CPU hogs, about one run in forty).
    const taken0 = kst('host_taken') + kst('linger_taken');
    writeSync(C[1], 'x');
    await oneAsync(kq, 'C while the reader waits in the host');
    assert.ok(kst('host_taken') + kst('linger_taken') > taken0, `taken from the set by the reader (or the poll during a linger), not the intr thread: ${JSON.stringify(sys.kstat('intr'))}`);
    readSync(C[0], buf);
    writeSync(A[1], 'x');
    released = true;
    await until(() => rd.res[4] === 1, 10_000, 'the reader to finish');
    await within(sys.lwp_wait_async(rd.lid), 10_000, 'reader');
  } finally {
    // A failed step above must not leave the reader waiting in the host
    // for the next test to find counted.
    if (!released) { writeSync(A[1], 'x'); await within(sys.lwp_wait_async(rd.lid), 10_000, 'reader (released after a failure)'); }
  }
  // Its exit ends its linger and gives the set back (an epoll_ctl, maybe by another thread holding the arm lock): in time.
  await until(() => kst('host_waiters') === 0 && kst('set_disarmed') === 0, 5_000,
    () => `armed again once nobody waits in the host: ${JSON.stringify(sys.kstat('intr'))}`);
  // Now the intr thread dispatches it: an OS event no host waiter took.
  // (Not told by its wake-ups: an intr thread still looking again after
  // the last burst, intr_spin_ns, takes it without one, as under load.)
  const ev0 = kst('os_events'), taken1 = kst('host_taken');
  writeSync(C[1], 'y');
  await oneAsync(kq, 'C after the reader left');
  assert.ok(kst('os_events') > ev0, 'an OS event was dispatched');
  assert.equal(kst('host_taken'), taken1, 'the intr thread took it, not a host waiter');
  sys.close(kq);
  for (const fd of [...A, ...C]) closeSync(fd);
});

test('host waits entered and left at random by four LWPs at once: the set ends armed, and events still arrive (seeded)', async () => {
  const s = seed();
  const P = pipe_high(), C = pipe_high(), buf = Buffer.alloc(16);
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(C[0], sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const lids = [0, 1, 2, 3].map((k) => sys.lwp_create({ module: F, export: 'churnsHostWaits', arg: { r: P[0], k, seed: (s + k * 7919) >>> 0, sab } }));
  try {
    await until(() => [1, 2, 3, 4].every((i) => res[i]! > 200), 20_000, `seed ${s}: every LWP to churn`);
    // Events keep arriving while the others churn: each write, one event.
    for (let i = 0; i < 20; i++) {
      writeSync(C[1], 'x');
      await oneAsync(kq, `seed ${s}: event ${i} during the churn`);
      readSync(C[0], buf);
    }
  } finally {
    Atomics.store(res, 0, 1); // (they churn until told, also after a failure)
  }
  for (const lid of lids) await within(sys.lwp_wait_async(lid), 10_000, `seed ${s}: churner`);
  await until(() => kst('host_waiters') === 0 && kst('set_disarmed') === 0, 5_000,
    () => `seed ${s}: no waiter left, the set armed once nobody waits: ${JSON.stringify(sys.kstat('intr'))}`);
  writeSync(C[1], 'z');
  await oneAsync(kq, `seed ${s}: after the churn`);
  sys.close(kq);
  for (const fd of [...P, ...C]) closeSync(fd);
});

test('a pipe\'s event taken by the LWP\'s own host wait: data, then nothing once read dry elsewhere, then EV_EOF when the writer closes an empty pipe', async () => {
  const P = pipe_high(), buf = Buffer.alloc(16);
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const taken0 = kst('host_taken');
  const go = (k: number): void => { Atomics.store(res, 0, k); Atomics.notify(res, 0); };
  const lid = sys.lwp_create({ module: F, export: 'hupAfterTake', arg: { r: P[0], sab } });
  try {
    await until(() => res[7] === 1, 10_000, 'the LWP');
    go(1);
    await until(() => kst('host_waiters') === 1, 10_000, 'the LWP to wait in the host');
    writeSync(P[1], 'ab');
    await until(() => res[6] === 1, 10_000, 'step 1');
    assert.equal(res[1], 2, 'data: the two bytes');
    assert.equal(res[2]! & sys.EV_EOF, 0, 'no EV_EOF while the writer is open');
    assert.ok(kst('host_taken') > taken0, 'the LWP took the event from the set itself');
    assert.equal(readSync(P[0], buf), 2);
    go(2);
    await until(() => res[6] === 2, 10_000, 'step 2');
    assert.equal(res[3], 0, 'read dry: a level-triggered knote reports nothing');
    go(3);
    await until(() => kst('host_waiters') === 1, 10_000, 'the LWP to wait in the host again');
    const taken1 = kst('host_taken');
    closeSync(P[1]);
    await until(() => res[6] === 3, 10_000, 'step 3: EV_EOF');
    assert.equal(res[5]! & sys.EV_EOF, sys.EV_EOF, 'EV_EOF: the hang-up taken from the set');
    assert.equal(res[4], 0, 'data 0: nothing left to read');
    assert.ok(kst('host_taken') > taken1, 'the LWP took the hang-up from the set itself');
    await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  } finally {
    go(3); // every step's wait passed (each 10 s) after a failure; its kevent ends after the test
  }
  closeSync(P[0]);
});

test('EVFILT_USER triggers reach an LWP waiting in the host on the set, each through its kick (the wait being its take)', async () => {
  await triggers_reach_the_waiter(300, true);
});
