/**
 * KQueue's options.data is C's intptr_t: an integer the kernel can hold (a
 * safe integer). A fraction or a number past 2^53 is the class layer's
 * ERR_OUT_OF_RANGE, checked before the kernel is entered, as every other
 * count and word of the classes is (options.max, fflags), not kevent's
 * EINVAL from inside the call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { KQueue } from '../src/ukern/kqueue.js';

const { EVFILT_USER, EVFILT_TIMER } = sys;
const range = (e: unknown) => e instanceof RangeError && (e as { code?: string }).code === 'ERR_OUT_OF_RANGE' && /options\.data/.test((e as Error).message);

test('KQueue: options.data must be a safe integer (ERR_OUT_OF_RANGE), in register, modify and trigger', () => {
  const kq = new KQueue();
  try {
    for (const d of [1.5, -0.25, 2 ** 60, -(2 ** 60)]) {
      assert.throws(() => kq.register(1, EVFILT_USER, { data: d }), range, `register data ${d}`);
      assert.throws(() => kq.register(2, EVFILT_TIMER, { data: d }), range, `timer data ${d}`);
    }
    // Nothing was registered by the refused calls.
    assert.throws(() => kq.delete(1, EVFILT_USER), (e: unknown) => e instanceof sys.SysError && e.code === 'ENOENT');
    kq.register(1, EVFILT_USER, { data: -7 });
    assert.throws(() => kq.modify(1, EVFILT_USER, { data: 0.5 }), range);
    assert.throws(() => kq.trigger(1, 0, 3.5), range);
    assert.deepEqual(kq.waitSync({ timeout: 0 }), [], 'the refused trigger did not fire');
    kq.trigger(1, 0, Number.MAX_SAFE_INTEGER);
    assert.equal(kq.waitSync({ timeout: 0 })[0]!.data, Number.MAX_SAFE_INTEGER);
  } finally {
    kq.close();
  }
});
