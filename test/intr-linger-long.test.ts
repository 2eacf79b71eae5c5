/**
 * The last host waiter's linger (src/intr/handover.ts) with a window of 50 s, longer
 * than any test here, so that only the paths under test can end it or see
 * past it: a zero-timeout kevent on a kqueue with OS knotes takes the
 * set's events itself while the linger lasts (kevent.ts: intr_linger_take;
 * the intr thread would not see them before the window ends), an LWP's
 * exit ends its linger at once (on_lwp_exit), the set armed again, and
 * waits that run out start no linger (an idle loop gives the set back at
 * once, as before).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';
import { lingering_reader } from './fixtures/linger.js';

sys.boot({ intr_linger_ns: 50_000 * 1e6 });

const F = new URL('./fixtures/kq-hostwait-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('while a linger lasts, a zero-timeout kevent on OS knotes sees an arrival at once; the lingering LWP\'s exit ends the linger and re-arms the set', async () => {
  const A = pipe_high(), C = pipe_high(), buf = Buffer.alloc(16);
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(C[0], sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
  const rd = await lingering_reader(A[0], A[1]);
  assert.equal(kst('set_disarmed'), 1, 'the set disarmed with nobody waiting in the host');
  // Nobody dispatches C's arrival now but a caller that takes the set
  // itself: the poll, at once (the write has queued it in the set).
  for (let i = 0; i < 3; i++) {
    writeSync(C[1], 'x');
    const ev = sys.kevent(kq, null, 1, ZERO);
    assert.equal(ev.length, 1, `poll ${i}: the arrival seen at once`);
    assert.equal(ev[0]!.ident, C[0]);
    assert.equal(ev[0]!.data, 1, `poll ${i}: data`);
    readSync(C[0], buf);
    assert.equal(sys.kevent(kq, null, 1, ZERO).length, 0, `poll ${i}: EV_CLEAR, read dry: nothing more`);
  }
  assert.equal(kst('lingering'), 1, 'still lingering');
  // The reader exits without another kevent: its linger ends with it.
  await rd.end();
  assert.equal(kst('lingering'), 0, 'the exit ended the linger');
  // The re-arm is an epoll_ctl after the linger's end, by the exiting thread or the arm lock's holder: in time.
  await until(() => kst('set_disarmed') === 0, 5_000, () => `the set armed again: ${JSON.stringify(sys.kstat('intr'))}`);
  // The intr thread takes the next arrival for the async waiter.
  writeSync(C[1], 'y');
  assert.equal((await within(sys.kevent_async(kq, null, 1, { tv_sec: 10, tv_nsec: 0 }), 15_000, 'C after the exit')).length, 1);
  sys.close(kq);
  for (const fd of [...A, ...C]) closeSync(fd);
});

test('host waits that run out start no linger: an LWP waiting out short timeouts over and over leaves the set armed', async () => {
  const P = pipe_high();
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const starts0 = kst('lingers'), waits0 = kst('host_waits');
  const lid = sys.lwp_create({ module: F, export: 'churnsHostWaits', arg: { r: P[0], k: 0, seed: 12345, sab } });
  try {
    await until(() => res[1]! > 300 && kst('host_waits') - waits0 > 100, 20_000, 'the LWP to wait out its timeouts in the host');
    assert.equal(kst('lingers'), starts0, 'no linger started');
    assert.equal(kst('lingering'), 0);
  } finally {
    Atomics.store(res, 0, 1);
    await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  }
  await until(() => kst('set_disarmed') === 0, 5_000, () => `the set armed: ${JSON.stringify(sys.kstat('intr'))}`);
  for (const fd of P) closeSync(fd);
});

test('while a linger lasts, a zero-timeout port_get on a port with a PORT_SOURCE_FD association sees an arrival at once', async () => {
  const A = pipe_high(), C = pipe_high(), buf = Buffer.alloc(16);
  const port = sys.port_create();
  const rd = await lingering_reader(A[0], A[1]);
  try {
    // The intr thread leaves the set alone for the 50 s window: only a
    // poll that takes the set itself sees C's arrival before then.
    for (let i = 0; i < 3; i++) {
      sys.port_associate(port, sys.PORT_SOURCE_FD, C[0], sys.POLLIN, 40 + i);
      writeSync(C[1], 'x');
      const ev = sys.port_get(port, ZERO);
      assert.equal(ev.portev_source, sys.PORT_SOURCE_FD, `poll ${i}: the arrival seen at once`);
      assert.equal(ev.portev_object, C[0]);
      assert.equal(ev.portev_user, 40 + i);
      readSync(C[0], buf);
      assert.throws(() => sys.port_get(port, ZERO), { code: 'ETIME' }, `poll ${i}: one-shot: nothing more`);
    }
    assert.equal(kst('lingering'), 1, 'still lingering');
  } finally {
    await rd.end();
  }
  sys.close(port);
  for (const fd of [...A, ...C]) closeSync(fd);
});

test('a blocking kevent that finds its OS events dispatched already (no host wait) starts the linger as it returns', async () => {
  const A = pipe_high();
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const lid = sys.lwp_create({ module: F, export: 'steppedReader', arg: { r: A[0], sab } });
  const go = (k: number): void => { Atomics.store(res, 1, k); Atomics.notify(res, 1); };
  try {
    await until(() => res[0] === 1, 10_000, 'the reader');
    assert.equal(kst('lingering'), 0, 'no linger before');
    // The write first: the intr thread, its set armed, dispatches it to the
    // knote while the reader is still out of kevent.
    const act0 = kst('activations');
    writeSync(A[1], 'a');
    await until(() => kst('activations') > act0, 10_000, () => `the intr thread to dispatch the write: ${JSON.stringify(sys.kstat('intr'))}`);
    const waits0 = kst('host_waits'), starts0 = kst('lingers');
    go(1);
    await until(() => res[2] === 1, 10_000, 'round 1');
    assert.equal(res[3], 1, 'round 1: one event');
    assert.equal(kst('host_waits'), waits0, 'the event was there: no host wait');
    assert.equal(kst('lingers'), starts0 + 1, 'its return started a linger');
    assert.equal(kst('lingering'), 1);
    assert.equal(kst('set_disarmed'), 1, 'the set disarmed for the consumer that comes back');
  } finally {
    go(-1);
    await within(sys.lwp_wait_async(lid), 10_000, 'the reader');
  }
  assert.equal(kst('lingering'), 0, 'the exit ended it');
  for (const fd of A) closeSync(fd);
});
