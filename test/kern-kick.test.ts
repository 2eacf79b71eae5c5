/**
 * Kicks (kern/sleepq.ts sq_kick, through lwp_nudge): a kick does not end a
 * sleep but must make the sleeper look at its flags, however it lands
 * against the sleeper's last look before its futex wait (SQ_KICKED changes
 * the wait word, so a wait not yet entered returns at once). An LWP sleeps
 * in port_get with no timeout and counts its nudges; this thread nudges it
 * thousands of times, each time as soon as the last was answered or after
 * a seeded random spin (so kicks land all along the sleeper's way back into
 * its wait), and every nudge must be answered within 10 s (no sleep is
 * sliced to look again: a lost kick would never be seen). Then one event
 * ends the sleep: the kicks did not end it or lose it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { lwp_nudge } from '../src/lwp/kapi.js';
import { seed, rng, until, within } from './helpers.js';

const F = new URL('./fixtures/kick-lwp.js', import.meta.url);

test('every kick of a synchronous sleep is seen, wherever it lands; the sleep goes on until its event (seeded)', async () => {
  const s = seed(), rand = rng(s);
  const port = sys.port_create();
  const sab = new SharedArrayBuffer(8), res = new Int32Array(sab);
  // Closed however the test ends: a failed assertion left the LWP asleep in
  // port_get for ever, and the file ended at the runner's deadline, not at
  // the failure; the close ends that sleep (EBADF).
  try {
    const lid = sys.lwp_create({ module: F, export: 'sleepsCountingNudges', arg: { port, sab } });
    await until(() => Atomics.load(res, 0) === 1, 20_000, 'the LWP to start');
    const N = 3000;
    for (let i = 0; i < N; i++) {
      const spin = rand() < 0.5 ? 0 : Math.floor(rand() * 400);
      for (let k = 0; k < spin; k++) Atomics.load(res, 1); // lands the kick at a varying point of the sleeper's way back
      lwp_nudge(lid);
      // Synchronous deadline wait on the answer (this thread makes no kernel call meanwhile).
      const end = Date.now() + 10_000;
      while (Atomics.load(res, 1) !== i + 1) {
        if (Date.now() > end) assert.fail(`seed ${s}: nudge ${i} of ${N} was not seen in 10 s (a lost kick)`);
        Atomics.wait(res, 1, i, 50);
      }
    }
    sys.port_send(port, 7, 0);
    await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
    assert.equal(Atomics.load(res, 0), 2 + 7, 'the sleep ended with its event');
    assert.equal(Atomics.load(res, 1), N, 'each nudge seen once');
  } finally {
    sys.close(port);
  }
});
