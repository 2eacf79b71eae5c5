/**
 * lwp_byid and slot reuse: an unpark that found its target by lid, without
 * the proc lock, must not land on the next LWP of the same table slot. The
 * scenario (scenarios/lwp-churn.ts, its own process: maxlwp 3) churns LWPs
 * through one slot while an unparker hammers the exiting ones; every new
 * LWP's one park must time out. Before the pending unpark carried its lid
 * (it was the LW_UNPARKED flag bit), 1 to 6 of 5000 parks failed with
 * EALREADY. Seeded: UKERN_SEED replays the pauses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenario, seed } from './helpers.js';

test('lwp churn through one slot: no unpark meant for an exited LWP reaches its successor', () => {
  const s = seed();
  const r = scenario('lwp-churn', [String(s), '5000'], 90_000);
  assert.equal(r.status, 0, `seed ${s}: ${r.stderr}${r.stdout}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { outcomes: Record<string, number>; spurious: number[]; check: string[] };
  assert.deepEqual(out.spurious, [], `seed ${s}: parks that failed EALREADY: ${JSON.stringify(out.outcomes)}`);
  assert.deepEqual(out.outcomes, { 4: 5000 }, `seed ${s}`);
  assert.deepEqual(out.check, [], `seed ${s}`);
});
