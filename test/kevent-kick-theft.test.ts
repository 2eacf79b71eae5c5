/**
 * A kevent sleeper on a kqueue with OS knotes waits in epoll_pwait2 on the
 * kernel's epoll set, its kick eventfd in that set (intr/kick.ts,
 * intr/hostwait.ts), so any other taker of the set may take its kick
 * event first; that taker rings the kick again while the sleeper still
 * waits there (intr_kick_stolen), and drops it otherwise. Checked here:
 * thousands of nudges (each a kick) of such a sleeper, landed at seeded
 * random points, while another LWP takes the set as fast as it can: every
 * nudge is seen within 10 s (a kick taken and not given back would leave
 * the sleeper asleep for ever: its sleep has no timeout), some kicks were
 * taken by the thief and given back (kstat intr.kick_rerings), the sleep
 * still ends with its event; and once the sleeper is gone, its kick rung
 * and taken is dropped, not rung again and again (no ping-pong).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, closeSync } from 'node:fs';
import * as sys from '../src/sys/index.js';
import { lwp_nudge } from '../src/lwp/kapi.js';
import { intr_harvest } from '../src/intr/bridge.js';
import { eventfd_ring } from '../src/kern/host.js';
import { pipe_high } from './fixtures/osfd.js';
import { seed, rng, until, within, cleanup } from './helpers.js';

const F = new URL('./fixtures/kq-kick-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;

test('kicks of a kevent sleeper waiting on the set, taken by another taker of the set, reach the sleeper (seeded)', async (t) => {
  const s = seed(), rand = rng(s);
  const [r, w] = pipe_high();
  const sab = new SharedArrayBuffer(12), res = new Int32Array(sab);
  const tsab = new SharedArrayBuffer(8), tres = new Int32Array(tsab);
  const direct0 = kst('host_direct'), rerings0 = kst('kick_rerings');
  const sleeper = sys.lwp_create({ module: F, export: 'sleepsCountingNudges', arg: { r, sab } });
  let thief = 0, passed = false;
  // However the test ends, the sleeper (in kevent with no timeout) and the
  // thief (spinning) are let go and collected: a failed assertion left them
  // running, and the file ended at the runner's deadline, not at the failure.
  try {
  await until(() => Atomics.load(res, 0) === 1, 20_000, 'the sleeper to start');
  await until(() => kst('host_direct') > direct0, 10_000, 'the sleeper to wait on the set (epoll_pwait2)');
  thief = sys.lwp_create({ module: F, export: 'takesTheSet', arg: { sab: tsab } });
  // At least 2000 nudges, and on until the thief has given some kicks back (bounded).
  const end = Date.now() + 30_000;
  let i = 0;
  for (; i < 2000 || (kst('kick_rerings') === rerings0 && Date.now() < end); i++) {
    const spin = rand() < 0.5 ? 0 : Math.floor(rand() * 400);
    for (let k = 0; k < spin; k++) Atomics.load(res, 1);
    lwp_nudge(sleeper);
    const due = Date.now() + 10_000;
    while (Atomics.load(res, 1) !== i + 1) {
      if (Date.now() > due) assert.fail(`seed ${s}: nudge ${i} was not seen in 10 s (a kick taken and not given back)`);
      Atomics.wait(res, 1, i, 50);
    }
  }
  const rerings = kst('kick_rerings') - rerings0;
  t.diagnostic(`seed ${s}: ${i} nudges, ${rerings} kicks rung again after a theft, the thief took ${Atomics.load(tres, 1)} events`);
  assert.ok(rerings > 0, `seed ${s}: the thief took none of ${i} kicks in 30 s (the case is not exercised)`);
  writeSync(w, 'x');
  await until(() => Atomics.load(res, 0) >= 2, 10_000, 'the sleep to end with the pipe\'s event');
  assert.equal(Atomics.load(res, 0), 3, 'one event');
  passed = true;
  } finally {
    if (Atomics.load(res, 0) < 2) writeSync(w, 'x'); // (its sleep has not ended: the pipe's event ends it)
    Atomics.store(tres, 0, 1);
    await cleanup(within(sys.lwp_wait_async(sleeper), 10_000, 'the sleeper'), passed);
    if (thief !== 0) await cleanup(within(sys.lwp_wait_async(thief), 10_000, 'the thief'), passed);
    closeSync(r); closeSync(w);
  }
});

test('a kick event taken while its LWP does not wait on the set is dropped, not rung again', async () => {
  const [r, w] = pipe_high();
  const sab = new SharedArrayBuffer(12), res = new Int32Array(sab);
  const direct0 = kst('host_direct');
  const lid = sys.lwp_create({ module: F, export: 'sleepsCountingNudges', arg: { r, sab } });
  let kick = 0, passed = false;
  // The pipe's event ends the LWP's sleep (kevent with no timeout) however this part ends.
  try {
    await until(() => kst('host_direct') > direct0, 20_000, 'the LWP to wait on the set');
    kick = Atomics.load(res, 2);
    assert.ok(kick > 0, 'its kick eventfd');
    passed = true;
  } finally {
    writeSync(w, 'x');
    await cleanup(within(sys.lwp_wait_async(lid), 10_000, 'the LWP'), passed);
  }
  // Its slot's kick stays in the set. Ring it as a late waker would
  // (kern/sleepq.ts), then take the set here as often as a ping-pong would
  // need: the event is dropped, nothing is rung again.
  const rerings0 = kst('kick_rerings');
  let took = 0;
  eventfd_ring(kick);
  for (let k = 0; k < 200; k++) took += intr_harvest();
  await new Promise((done) => setTimeout(done, 50));
  for (let k = 0; k < 200; k++) took += intr_harvest();
  assert.equal(kst('kick_rerings'), rerings0, 'a kick of an LWP that does not wait is dropped');
  assert.ok(took <= 1, `the kick was taken once at most (${took}), not again and again`);
  closeSync(r); closeSync(w);
});

test('a kick is taken out of the set for a wait elsewhere: rings for a port getter waiting on its descriptor do not wake the intr thread', async () => {
  const [r, w] = pipe_high(), [r2, w2] = pipe_high();
  const port = sys.port_create();
  const sab = new SharedArrayBuffer(8), res = new Int32Array(sab);
  const N = 200, direct0 = kst('host_direct'), apart0 = kst('kick_apart');
  const lid = sys.lwp_create({ module: F, export: 'setThenPortWaits', arg: { r, r2, port, n: N, sab } });
  // The port closed however the test ends: its getter's wait ends then (EBADF), not 10 s per get left.
  let passed = false;
  try {
  await until(() => Atomics.load(res, 0) === 1, 20_000, 'the LWP to wait on the set, then on its port');
  assert.ok(kst('host_direct') > direct0, 'its first waits were on the set (its kick put there)');
  await until(() => kst('kick_apart') > apart0, 10_000, 'its kick to be taken out of the set for the port wait');
  // Each send wakes the getter through its kick (its wait is ppoll on r2 and
  // the kick); with the kick out of the set, none also wakes the intr thread.
  await new Promise((done) => setTimeout(done, 20)); // (the linger of its set waits ends: the intr thread's set armed)
  const wake0 = kst('wakeups');
  for (let i = 0; i < N; i++) {
    sys.port_send(port, 1, i);
    await until(() => Atomics.load(res, 1) === i + 1, 10_000, `send ${i} to be taken`);
  }
  const woke = kst('wakeups') - wake0;
  assert.ok(woke < N / 10, `the intr thread woke ${woke} times for ${N} kicks of a getter that waits elsewhere`);
  passed = true;
  } finally {
    sys.close(port);
    await cleanup(within(sys.lwp_wait_async(lid), 10_000, 'the LWP'), passed);
    for (const fd of [r, w, r2, w2]) closeSync(fd);
  }
});
