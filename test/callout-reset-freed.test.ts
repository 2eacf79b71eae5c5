/**
 * callout_reset of a callout that its own handler has freed (callout_free
 * from inside the handler defers the free until the handler returns) is a
 * kernel panic. Before, the reset cleared the free's stop and set a re-arm:
 * callout_run put the callout back in the heap and then freed it, so the
 * next callout_alloc handed out a callout that was still armed (two owners,
 * and a fire for the old one reaching the new one's kind and arg). On the
 * manual time line, fired here by callout_run. The panic marks the kernel
 * unusable, so this file runs nothing after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import {
  callout_alloc, callout_free, callout_reset, callout_run, callout_count, callout_snapshot, callout_register_kind, TL_MANUAL,
} from '../src/timers/callout.js';
import { manual_now } from '../src/timers/clocks.js';
import { panic_expected } from './helpers.js';

// A kind private to this test (the kernel's are small numbers: callout.ts).
const CK_FREE_THEN_RESET = 93;
callout_register_kind(CK_FREE_THEN_RESET, (c) => {
  callout_free(c);
  callout_reset(c, manual_now() + 1e9); // the kernel bug under test
  return -1;
});
sys.clock_gettime(sys.CLOCK_MANUAL); // boots the kernel

test('callout_reset after callout_free from inside its own handler panics, and the callout is not left armed', () => {
  const n0 = callout_count(TL_MANUAL);
  const c = callout_alloc(CK_FREE_THEN_RESET, 0, TL_MANUAL);
  assert.notEqual(c, 0);
  callout_reset(c, manual_now());
  let err: unknown;
  try { callout_run(TL_MANUAL); } catch (e) { err = e; }
  panic_expected(); // the panic is this file's point: its status 70 is no failure
  // Before the fix, nothing was thrown and c sat in the heap, freed.
  assert.equal(callout_count(TL_MANUAL), n0, 'the freed callout is not in the heap');
  assert.deepEqual(callout_snapshot(TL_MANUAL).busy, [], 'no callout pending or firing');
  assert.ok(err instanceof Error, 'callout_reset of a freed callout is a panic');
  assert.equal((err as { code?: string }).code, 'EIO');
  assert.match(err.message, new RegExp(`callout_reset: callout ${c} was freed by its own handler`));
});
