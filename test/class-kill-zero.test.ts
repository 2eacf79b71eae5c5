/**
 * The null signal (review of src/ukern/signals.ts, lwp.ts): kill(2) and
 * lwp_kill take signal 0, which sends nothing and only checks that the
 * target exists, the test Node programs make with process.kill(pid, 0) (and
 * ParkMutex makes with lwp_kill(lid, 0)). The class layer's kill() and
 * Lwp#kill() refused it with ERR_OUT_OF_RANGE ("from 1 to 64, got 0"), where
 * its doc says "as kill(2)".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kill, Lwp } from 'ukern';
import { within } from './helpers.js';

const F = new URL('./fixtures/outcomes.js', import.meta.url);

test('kill(pid, 0): this process exists; a pid that does not is ESRCH; nothing is sent', () => {
  kill(process.pid, 0);
  kill(0, 0);
  assert.throws(() => kill(0x3fffffff, 0), { code: 'ESRCH' });
  // 0 stays refused where it names no signal to take or send: still out of range below 0.
  assert.throws(() => kill(process.pid, -1), { code: 'ERR_OUT_OF_RANGE' });
});

test('Lwp#kill(0): a live LWP exists; once collected, ESRCH', async () => {
  const sab = new SharedArrayBuffer(16);
  const l = Lwp.create<string>({ module: F, export: 'hold', arg: { sab } });
  try {
    l.kill(0);
    Lwp.self().kill(0);
  } finally {
    Atomics.store(new Int32Array(sab), 0, 1);
  }
  assert.equal(await within(l.wait(), 20_000, 'the LWP is collected'), 'released');
  assert.throws(() => l.kill(0), { code: 'ESRCH' });
});
