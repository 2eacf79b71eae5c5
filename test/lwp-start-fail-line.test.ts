/**
 * What an LWP's worker says on stderr when its start never ran: a module
 * that cannot be loaded, or one without the export, "could not start"; a
 * start function that threw, "start function threw". The first two said
 * the start function threw, which had never run.
 *
 * This file is its own child: run with a mode, it creates the LWP and
 * waits for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as sys from 'ukern/sys';
import { childRun } from './helpers.js';

const mode = process.argv[2];
const OUT = new URL('./fixtures/outcomes.js', import.meta.url);

if (mode === undefined) {
  for (const [m, line] of [
    ['missing', /ukern: LWP \d+ could not start: its start module or export: .*ERR_MODULE_NOT_FOUND/s],
    ['no-export', /ukern: LWP \d+ could not start: its start module or export: TypeError: lwp_create: .* has no function export 'nope'/],
    ['threw', /ukern: LWP \d+ start function threw: RangeError: boom in the LWP/],
  ] as const) {
    test(`an LWP whose start ${m}: its line says so`, async () => {
      const r = await childRun(fileURLToPath(import.meta.url), [m], 60_000);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, line);
      if (m !== 'threw') assert.doesNotMatch(r.stderr, /start function threw/);
    });
  }
} else {
  sys.boot();
  const start = mode === 'missing' ? { module: new URL('./fixtures/no-such-module.js', import.meta.url) }
    : mode === 'no-export' ? { module: OUT, export: 'nope' } : { module: OUT, export: 'boom' };
  const lid = sys.lwp_create(start);
  await sys.lwp_wait_async(lid);
}
