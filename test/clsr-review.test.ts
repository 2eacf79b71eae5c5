/**
 * The class layer read against Node's conventions (review of src/ukern):
 * each test here failed before its fix (the commit that added it says how).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lwp, SysError } from 'ukern';
import { within } from './helpers.js';

const F = new URL('./fixtures/outcomes.js', import.meta.url);

test('Lwp.wait: a timeout past 2^31-1 ms waits (it ended at once with ETIMEDOUT); a fractional one times out with ETIMEDOUT', async () => {
  const sab = new SharedArrayBuffer(16);
  const l = Lwp.create<string>({ module: F, export: 'hold', arg: { sab } });
  try {
    // The fraction is the class layer's ms (waitopts): ETIMEDOUT, not an argument error about a "delay".
    await assert.rejects(l.wait({ timeout: 1.5 }), (e: unknown) => e instanceof SysError && e.code === 'ETIMEDOUT');
    const long = l.wait({ timeout: 3e9 });
    let settled: unknown = 'pending';
    long.then((v) => { settled = v; }, (e: unknown) => { settled = e; });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, 'pending', 'a 35-day timeout is still waiting after 300 ms');
    Atomics.store(new Int32Array(sab), 0, 1);
    assert.equal(await within(long, 20_000, 'the released LWP is collected by the long wait'), 'released');
  } finally {
    Atomics.store(new Int32Array(sab), 0, 1);
  }
});
