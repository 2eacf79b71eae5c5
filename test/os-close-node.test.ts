/**
 * close(fd) of ukern/sys on a descriptor fs.openSync opened in a worker goes
 * through Node's own close, so Node's list of that worker's descriptors
 * (closed again when the worker ends) forgets it: before, the number stayed
 * listed and was closed a second time after being reused — the fuzzer's
 * abort. Node warns "opened in unmanaged mode twice" when a listed number
 * is opened again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lwp } from 'ukern';
import { within } from './helpers.js';

test('an LWP\'s fs.openSync descriptor closed with ukern\'s close is off Node\'s list: reopening the number draws no warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-close-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  try {
    const lwp = Lwp.create({ module: new URL('./fixtures/os-close.js', import.meta.url), export: 'reopen', arg: { path } });
    const r = await within(lwp.wait(), 10_000, 'the LWP') as { warnings: string[]; same: number };
    assert.ok(r.same > 0, 'the number was reused (the case that matters), in one of 50 rounds');
    assert.deepEqual(r.warnings.filter((w) => /unmanaged/.test(w)), []);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
