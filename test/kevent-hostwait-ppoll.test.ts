/**
 * The host wait on the kernel's epoll set as a host without epoll_pwait2
 * waits (boot option intr_hostwait_take false: ppoll on the set and the
 * kick eventfd, then epoll_wait to take; intr/hostwait.ts): on this machine
 * every other test takes the other way, so this file keeps that one tested.
 * Exactly one event per write with two such LWPs waiting at once, nothing
 * left over; EVFILT_USER triggers reaching such an LWP through its kick;
 * kstat intr.host_direct stays 0 while intr.host_waits moves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within, seed, rng } from './helpers.js';

sys.boot({ intr_hostwait_take: false });

const F = new URL('./fixtures/kq-hostwait-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;

test('ppoll host waits: two LWPs, one event per write each, nothing lost, doubled or left over (seeded)', async () => {
  const s = seed(), rand = rng(s);
  const A = pipe_high(), B = pipe_high();
  const N = 200;
  const waits0 = kst('host_waits'), taken0 = kst('host_taken');
  const mk = (r: number): { lid: number; res: Int32Array } => {
    const sab = new SharedArrayBuffer(32);
    return { lid: sys.lwp_create({ module: F, export: 'readsPipe', arg: { r, n: N, sab } }), res: new Int32Array(sab) };
  };
  const ra = mk(A[0]), rb = mk(B[0]);
  await until(() => ra.res[0] === 1 && rb.res[0] === 1, 10_000, 'the readers');
  const sent = [0, 0];
  for (let i = 0; i < 2 * N; i++) {
    const k = sent[0] === N ? 1 : sent[1] === N ? 0 : rand() < 0.5 ? 0 : 1;
    const x = k === 0 ? ra : rb;
    writeSync((k === 0 ? A : B)[1], 'x');
    sent[k]!++;
    await until(() => Atomics.load(x.res, 2) === sent[k], 10_000, `seed ${s}: reader ${k} to read byte ${sent[k]}`);
  }
  await until(() => ra.res[4] === 1 && rb.res[4] === 1, 10_000, 'the readers to finish');
  for (const [name, x] of [['A', ra], ['B', rb]] as const) {
    assert.equal(x.res[1], N, `seed ${s}: reader ${name}: one event per write`);
    assert.equal(x.res[5], 0, `reader ${name}: nothing left over`);
  }
  assert.ok(kst('host_waits') > waits0 && kst('host_taken') > taken0, 'the LWPs waited in the host and took events themselves');
  assert.equal(kst('host_direct'), 0, 'no wait was an epoll_pwait2 take');
  await within(sys.lwp_wait_async(ra.lid), 10_000, 'A');
  await within(sys.lwp_wait_async(rb.lid), 10_000, 'B');
  for (const fd of [...A, ...B]) closeSync(fd);
});

test('ppoll host waits: EVFILT_USER triggers reach the waiting LWP through its kick', async () => {
  const [r, w] = pipe_high();
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
  const sab = new SharedArrayBuffer(8), res = new Int32Array(sab);
  const N = 200, waits0 = kst('host_waits');
  const lid = sys.lwp_create({ module: F, export: 'countsTriggers', arg: { kq, r, n: N, sab } });
  await until(() => res[0] === 1, 10_000, 'the LWP');
  for (let i = 0; i < N; i++) {
    sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, 0, sys.NOTE_TRIGGER, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
    await until(() => Atomics.load(res, 1) === i + 1, 10_000, `trigger ${i} to be seen`);
  }
  assert.ok(kst('host_waits') > waits0, 'the LWP waited in the host');
  assert.equal(kst('host_direct'), 0, 'in ppoll, not epoll_pwait2');
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  sys.close(kq); closeSync(r); closeSync(w);
});
