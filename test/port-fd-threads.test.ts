/**
 * PORT_SOURCE_FD across threads: an LWP blocked in port_get woken by a pipe
 * written in another thread (through the intr thread), and a seeded stress
 * of associations, dissociations, closes, port closes and readiness changes
 * (writer LWPs) across LWPs, checked against each owner's exact model: no
 * event lost (every association still armed at the end reports once its
 * pipe is readable), none duplicated, none stale (of an association that
 * was replaced, dissociated, closed or retrieved). Deadlines everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { until, within, seed, cleanup } from './helpers.js';
import { W_STOP, W_STATUS, W_WRITERS, MSG, type StressArg, type SharedArg } from './fixtures/portfd-lwp.js';

const { port_create, port_associate, close, PORT_SOURCE_FD, POLLIN } = sys;
const fixture = new URL('./fixtures/portfd-lwp.js', import.meta.url);
const kst = (m: string, k: string) => sys.kstat(m)[`${m}.${k}`]!;

test('an LWP blocked in port_get is woken by a pipe written in another thread', async () => {
  const [r, w] = pipe();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 42);
  await until(() => kst('intr', 'started') >= 1, 10_000, 'the intr thread to run');
  const sab = new SharedArrayBuffer(32);
  const res = new Float64Array(sab);
  const waits0 = kst('port', 'waits');
  const lid = sys.lwp_create({ module: fixture, export: 'blockInPortGet', arg: { port, sab } });
  await until(() => kst('port', 'waits') > waits0, 10_000, 'the LWP to sleep in port_get');
  writeSync(w, 'wake');
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.deepEqual([...res], [1, r, POLLIN, 42]);
  close(port); close(r); close(w);
});

test('seeded stress: associations, dissociations, closes and readiness changes across LWPs; nothing lost, duplicated or stale', async () => {
  const s = seed();
  console.log(`seed ${s} (UKERN_SEED=${s} replays the schedule of each LWP; the interleaving is the machine's)`);
  const owners = 3, writers = 2, slots = 12, ops = 4000;
  const sab = new SharedArrayBuffer(MSG * 4 + 4096);
  const i32 = new Int32Array(sab);
  const arg = (id: number): StressArg => ({ sab, id, owners, writers, slots, ops, seed: s });
  const ownerLids = Array.from({ length: owners }, (_, id) => sys.lwp_create({ module: fixture, export: 'stressOwner', arg: arg(id) }));
  let writerLids: number[] = [], passed = false;
  // The writers spin and the owners wait (no deadline) until told to stop:
  // after a failure they are stopped and collected here, or the file ended
  // at the runner's deadline instead of at the failure.
  try {
    await until(() => Atomics.load(i32, W_STATUS + 1) === owners || i32[W_STATUS] !== 0, 20_000, 'the owners to publish their pipes');
    writerLids = Array.from({ length: writers }, (_, id) => sys.lwp_create({ module: fixture, export: 'stressWriter', arg: arg(id) }));
    await until(() => Atomics.load(i32, W_STATUS + 2) === owners || i32[W_STATUS] !== 0, 60_000, 'the owners to finish their steps');
    Atomics.store(i32, W_STOP, 1);
    Atomics.notify(i32, W_STOP);
    for (const lid of writerLids) await within(sys.lwp_wait_async(lid), 20_000, 'a writer');
    Atomics.store(i32, W_STOP, 2);
    Atomics.notify(i32, W_STOP);
    for (const lid of ownerLids) await within(sys.lwp_wait_async(lid), 30_000, 'an owner');
    passed = true;
  } finally {
    if (!passed) {
      // (no writer started: the owners, waiting up to 20 s for them, go on at once)
      if (writerLids.length === 0) { Atomics.store(i32, W_STATUS + 4, writers); Atomics.notify(i32, W_STATUS + 4); }
      Atomics.store(i32, W_STOP, 1);
      Atomics.notify(i32, W_STOP);
      for (const lid of writerLids) await cleanup(within(sys.lwp_wait_async(lid), 10_000, 'a writer'), false);
      Atomics.store(i32, W_STOP, 2);
      Atomics.notify(i32, W_STOP);
      for (const lid of ownerLids) await cleanup(within(sys.lwp_wait_async(lid), 30_000, 'an owner'), false);
    }
  }
  const msg = new TextDecoder().decode(new Uint8Array(sab, MSG * 4, 4096)).replace(/\0+$/, '');
  assert.equal(i32[W_STATUS], 0, msg);
  console.log(`delivered ${i32[W_STATUS + 3]} events; writers wrote ${i32[W_WRITERS]} bytes; portfd stale: ${kst('portfd', 'stale')}`);
  assert.ok(i32[W_WRITERS]! > 0, 'the writers wrote');
  assert.ok(i32[W_STATUS + 3]! > ops / 20, 'events were delivered');
  assert.equal(kst('portfd', 'records'), 0, 'every record freed');
});

test('until the intr thread runs (held here), a sleeping port_get takes OS events itself (the bridge)', () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./scenarios/portfd-bridge.js', import.meta.url))],
    { encoding: 'utf8', timeout: 20_000, env: { ...process.env, UKERN_INTR_HOLD: '1' } });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.stdout, `blocking port_get: true ${POLLIN} 9 within 5 s: true\nintr thread started: 0\n`, r.stderr);
});

async function shared_stress(hot: boolean): Promise<void> {
  const s = seed();
  console.log(`seed ${s}`);
  const slots = 12, ops = 5000, getters = 2;
  const sab = new SharedArrayBuffer(MSG * 4 + 4096);
  const i32 = new Int32Array(sab);
  const port = port_create();
  const arg = (id: number): SharedArg => ({ sab, port, slots, ops, seed: s, id, hot });
  const gl = Array.from({ length: getters }, (_, id) => sys.lwp_create({ module: fixture, export: 'sharedGetter', arg: arg(id + 1) }));
  const ol = sys.lwp_create({ module: fixture, export: 'sharedOwner', arg: arg(0) });
  // The owner waits (no deadline) for the getters to be done: after a
  // failure the getters are told to stop (word 1, as a failed getter does),
  // the owner let go once it has finished its steps, and all collected.
  let passed = false;
  try {
    for (const lid of gl) await within(sys.lwp_wait_async(lid), 60_000, 'a getter');
    Atomics.store(i32, 0, 2);
    Atomics.notify(i32, 0);
    await within(sys.lwp_wait_async(ol), 20_000, 'the owner');
    passed = true;
  } finally {
    if (!passed) {
      Atomics.store(i32, 1, 1);
      for (const lid of gl) await cleanup(within(sys.lwp_wait_async(lid), 10_000, 'a getter'), false);
      await cleanup(until(() => Atomics.load(i32, 0) !== 0, 20_000, 'the owner to finish its steps'), false);
      Atomics.store(i32, 0, 2);
      Atomics.notify(i32, 0);
      await cleanup(within(sys.lwp_wait_async(ol), 20_000, 'the owner'), false);
    }
  }
  const msg = new TextDecoder().decode(new Uint8Array(sab, MSG * 4, 4096)).replace(/\0+$/, '');
  assert.equal(i32[W_STATUS], 0, msg);
  console.log(`delivered ${i32[2]} events to ${getters} getters`);
  assert.ok(i32[2]! > ops / 100, 'events were delivered');
  close(port);
  assert.equal(kst('portfd', 'records'), 0, 'every record freed');
}

test('seeded stress on one port: getter LWPs retrieve while the owner re-associates, dissociates and closes; none stale, duplicated or lost', () => shared_stress(false));

test('seeded stress, always-readable pipes: each association reports at once, also when re-associated while a getter holds its event', () => shared_stress(true));
