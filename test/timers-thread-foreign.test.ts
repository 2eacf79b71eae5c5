/**
 * A SIGEV_THREAD timer keeps its creating thread's event loop alive while
 * it is armed or has an expiry to deliver (docs/sys.md), and no longer:
 * also when another thread deletes, disarms or arms it. That thread's call
 * posts the creator's mailbox, whose pump re-evaluates the keepalive.
 * Before, the creator looked again only at its own calls and deliveries:
 * deleted or disarmed by an LWP, the timer held its creator's loop (here
 * the process) for ever. (The arm case passed before too; it is kept as
 * the other half of "exactly".)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioAsync } from './helpers.js';

const DEADLINE = 20_000;

for (const [mode, out] of [['remove', ['collected', 'exit']], ['disarm', ['collected', 'exit']], ['arm', ['collected', 'fired', 'exit']]] as const) {
  test(`a SIGEV_THREAD timer another LWP ${mode === 'remove' ? 'deletes' : mode + 's'}: its creator's loop is held exactly while it may deliver`, async () => {
    const r = await scenarioAsync('timer-thread-foreign', [mode], DEADLINE);
    assert.equal(r.signal, null, `did not exit by itself within ${DEADLINE} ms: ${r.stdout}${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.at(-1), 'exit', r.stdout);
    assert.deepEqual([...lines].sort(), [...out].sort()); // 'fired' and 'collected' in either order
  });
}
