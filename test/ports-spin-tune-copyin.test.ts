/**
 * port_spin_tune's options are copied in as every kernel entry's arguments
 * are: each field read once, all of them checked before any is applied (a
 * call that fails changes nothing), a value out of range an ERR_OUT_OF_RANGE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

const range = (e: unknown): boolean => e instanceof RangeError && (e as { code?: string }).code === 'ERR_OUT_OF_RANGE';

test('a failing port_spin_tune changes nothing: every field is checked before any is applied', () => {
  const before = sys.port_spin_tune({});
  const budget = before.budgetNs === 1234 ? 4321 : 1234;
  assert.throws(() => sys.port_spin_tune({ budgetNs: budget, deadlineNs: -1 }), range);
  assert.throws(() => sys.port_spin_tune({ budgetNs: budget, deadlineNs: 1.5 }), range);
  assert.throws(() => sys.port_spin_tune({ budgetNs: budget, maxSpinners: -1 }), range);
  assert.deepEqual(sys.port_spin_tune({}), before);
});

test('port_spin_tune reads each option once', () => {
  const before = sys.port_spin_tune({});
  let reads = 0;
  // Valid when checked, 2^40 (an int32 store keeps 0 of it) when read again.
  const o = { get deadlineNs() { return reads++ === 0 ? 20_000 : 2 ** 40; } };
  try {
    assert.equal(sys.port_spin_tune(o).deadlineNs, 20_000);
    assert.equal(reads, 1);
  } finally {
    sys.port_spin_tune({ deadlineNs: before.deadlineNs });
  }
  assert.deepEqual(sys.port_spin_tune({}), before);
});
