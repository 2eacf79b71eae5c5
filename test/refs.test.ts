/**
 * ref()/unref() (issue 12 item 4): a class-layer object's pending waits keep
 * the process alive like a ref'd Node handle, unless unref'd (or created
 * with { ref: false }); ref() takes it back, for waits already pending too.
 * Fresh child processes with deadlines (test/scenarios/refs.ts), four at
 * a time (each mostly waits: its 300 ms wait, its process's start and exit).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioAsync } from './helpers.js';

const cases: [string, boolean][] = [
  ['port-default', true], ['port-unref', false], ['port-option', false], ['port-reref', true],
  ['kq-default', true], ['kq-unref', false],
  ['timer-default', true], ['timer-unref', false], ['timer-reref', true],
];

describe('ref() and unref()', { concurrency: 4 }, () => {
  for (const [mode, alive] of cases) {
    test(`${mode}: the pending wait ${alive ? 'keeps' : 'does not keep'} the process alive`, async () => {
      const r = await scenarioAsync('refs', [mode], 30_000);
      assert.equal(r.status, 0, `${mode}: status ${r.status}\n${r.stderr}`);
      assert.equal(r.stdout.trim(), alive ? 'got' : '', mode);
    });
  }
});
