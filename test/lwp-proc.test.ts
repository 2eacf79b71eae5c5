/**
 * The process around the LWPs, in fresh child processes (scenarios/):
 * the last LWP's exit ends the process, maxlwp's EAGAIN, boot's options
 * and boot twice, and a pending async wait keeping the process alive.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioAsync } from './helpers.js';

// Each scenario is its own process and mostly waits (asyncalive 400 ms, process starts and exits): all at once.
describe('the process around the LWPs', { concurrency: true }, () => {
  test('the last LWP to exit ends the process with status 0', async () => {
    const r = await scenarioAsync('lastexit');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /main exiting\nprocess exit 0 after LWP saw 4\n/);
    assert.doesNotMatch(r.stdout, /not reached/);
  });

  test('maxlwp: EAGAIN when exhausted, the kernel stays usable; boot twice is EBUSY', async () => {
    const r = await scenarioAsync('maxlwp');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { err: 'EAGAIN', bootAgain: 'EBUSY', badOpt: 'SysError:EBUSY', after: 'ok' });
  });

  test('boot options are checked (lockdebug takes a boolean)', async () => {
    const r = await scenarioAsync('bootopts');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['TypeError', 'TypeError', 'EINVAL', 'EINVAL', 'ENOMEM', 'TypeError', 'TypeError', '1']);
  });

  test('a pending async wait keeps the process alive until it settles', async () => {
    const r = await scenarioAsync('asyncalive');
    assert.equal(r.status, 0, r.stderr);
    const m = /park_async ended with ETIMEDOUT after (\d+) ms/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) >= 400, `ended after ${m[1]} ms`);
  });
});
