/**
 * boot({ lwp_pool: n }) prestarts, on the first event-loop turn, the n
 * workers the program asked to have warm, and lwp0 beside them (src/lwp/
 * spawn.ts). lwp_pool: 0 asks for none: no thread starts before the first
 * lwp_create, as without the option. Before, lwp_pool: 0 started lwp0 at
 * boot (a worker's start and ~8 MiB) for a program that may never create an
 * LWP.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenarioAsync } from './helpers.js';

for (const [n, threads] of [[0, 0], [1, 2]] as const) {
  test(`boot({ lwp_pool: ${n} }) starts ${threads} thread(s) by its first event-loop turns`, async () => {
    const r = await scenarioAsync('pool-prestart', [String(n)], 30_000);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `started ${threads}\n`, r.stderr);
  });
}
