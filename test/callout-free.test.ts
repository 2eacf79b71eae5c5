/**
 * callout_stop / callout_free called from inside the callout's own handler
 * (in the thread firing it, as a kqueue timer detached by that fire's own
 * unlock would be): the stop wins over the handler's re-arm, and the free
 * is deferred until the handler has returned. Before the fix the free was
 * immediate, so the handler's next callout_alloc got the very callout still
 * firing, and callout_run's epilogue then marked that new, armed callout
 * idle while it sat in the heap (the kind of corruption behind a callout
 * count of -1). On the manual time line, fired here by callout_run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import {
  callout_alloc, callout_free, callout_stop, callout_reset, callout_run, callout_pending, callout_count,
  callout_register_kind, callout_snapshot, TL_MANUAL,
} from '../src/timers/callout.js';
import { manual_now } from '../src/timers/clocks.js';

// Kinds private to this test (the kernel's are small numbers: callout.ts).
const CK_SELF_FREE = 90, CK_SELF_STOP = 91, CK_OTHER = 92;
let allocated = 0;
callout_register_kind(CK_SELF_FREE, (c) => {
  callout_free(c);
  allocated = callout_alloc(CK_OTHER, 0, TL_MANUAL);
  callout_reset(allocated, manual_now() + 1e9);
  return manual_now() + 1; // asks for a re-arm: the free's stop wins
});
callout_register_kind(CK_SELF_STOP, (c) => { callout_stop(c); return manual_now() + 1; });
callout_register_kind(CK_OTHER, () => -1);
sys.clock_gettime(sys.CLOCK_MANUAL); // boots the kernel

test('callout_free from inside its own handler frees it once the handler returns; the stop wins over its re-arm', () => {
  const n0 = callout_count(TL_MANUAL);
  const c = callout_alloc(CK_SELF_FREE, 0, TL_MANUAL);
  assert.notEqual(c, 0);
  callout_reset(c, manual_now());
  callout_run(TL_MANUAL);
  assert.notEqual(allocated, 0);
  assert.notEqual(allocated, c, 'the callout was handed out again while its handler still ran');
  assert.equal(callout_count(TL_MANUAL), n0 + 1, 'only the callout armed by the handler is armed');
  assert.equal(callout_pending(allocated), true);
  assert.deepEqual(callout_snapshot(TL_MANUAL).busy.map((b) => [b.c, b.state]), [[allocated, 'pending']]);
  assert.equal(callout_stop(allocated), true, 'the new callout was pending');
  assert.equal(callout_count(TL_MANUAL), n0);
  callout_free(allocated);
  // Both are free again: the next two allocations hand them out.
  const again = [callout_alloc(CK_OTHER, 0, TL_MANUAL), callout_alloc(CK_OTHER, 0, TL_MANUAL)];
  assert.deepEqual([...again].sort(), [c, allocated].sort());
  for (const x of again) callout_free(x);
});

test('callout_stop from inside its own handler: the handler\'s re-arm is ignored and it never fires again', () => {
  const n0 = callout_count(TL_MANUAL);
  const c = callout_alloc(CK_SELF_STOP, 0, TL_MANUAL);
  callout_reset(c, manual_now());
  callout_run(TL_MANUAL);
  assert.equal(callout_pending(c), false);
  assert.equal(callout_count(TL_MANUAL), n0);
  assert.deepEqual(callout_snapshot(TL_MANUAL).busy, []);
  callout_free(c);
});
