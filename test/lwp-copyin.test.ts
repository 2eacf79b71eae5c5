/**
 * Copy-in for the lwp_* calls: every user object property is read once,
 * before any kernel lock (a getter may even make a syscall), and the values
 * are judged on the copies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { TIME_SEC_MAX } from '../src/kern/time.js';

import { fixtures, within } from './helpers.js';

const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;

/** An object whose listed properties count their reads (and make a syscall, as a getter may). */
function counted<T extends Record<string, unknown>>(values: T): { obj: T; reads: Record<string, number> } {
  const reads: Record<string, number> = {};
  const obj = {} as T;
  for (const k of Object.keys(values)) {
    reads[k] = 0;
    Object.defineProperty(obj, k, { enumerable: true, get: () => { reads[k]!++; sys.lwp_self(); return values[k]; } });
  }
  return { obj, reads };
}

test('lwp_create reads start.module, start.export and start.arg once each, with no lock held', async () => {
  const { obj, reads } = counted({ module: fixtures, export: 'returnsAtOnce', arg: 1 });
  const lid = sys.lwp_create(obj as unknown as sys.LwpStart);
  assert.deepEqual(reads, { module: 1, export: 1, arg: 1 });
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'wait'), lid);
  assert.throws(() => sys.lwp_create(null as unknown as sys.LwpStart), (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => sys.lwp_create({ module: 5 } as unknown as sys.LwpStart), TypeError);
});

test('lwp_park reads abstime once (a changing getter cannot slip past the check); range as TIME_SEC_MAX; the past is ETIMEDOUT', async () => {
  // Valid (in the past) on the first read, NaN after: judged on the copy.
  let n = 0;
  const flip = { get tv_sec() { n++; return n === 1 ? 1 : NaN; }, tv_nsec: 0 };
  assert.throws(() => sys.lwp_park(flip), code('ETIMEDOUT'));
  assert.equal(n, 1, 'tv_sec read once');
  const { obj, reads } = counted({ tv_sec: 0, tv_nsec: 5 });
  assert.throws(() => sys.lwp_park(obj as unknown as sys.Timespec), code('ETIMEDOUT'));
  assert.deepEqual(reads, { tv_sec: 1, tv_nsec: 1 });
  assert.throws(() => sys.lwp_park({ tv_sec: -5, tv_nsec: 0 }), code('ETIMEDOUT'));
  assert.throws(() => sys.lwp_park({ tv_sec: TIME_SEC_MAX + 1, tv_nsec: 0 }), code('EINVAL'));
  assert.throws(() => sys.lwp_park({ tv_sec: -TIME_SEC_MAX - 1, tv_nsec: 0 }), code('EINVAL'));
  await assert.rejects(sys.lwp_park_async({ tv_sec: 0, tv_nsec: 1e9 }), code('EINVAL'));
});

test('lwp_unpark_all copies lids in once (length and each element)', () => {
  let lenReads = 0, elemReads = 0;
  const lids = new Proxy([1, 999999], {
    get(t, k, r) {
      if (k === 'length') lenReads++;
      else if (k === '0' || k === '1') { elemReads++; sys.lwp_self(); }
      return Reflect.get(t, k, r) as unknown;
    },
  });
  assert.equal(sys.lwp_unpark_all(lids), 0);
  assert.equal(lenReads, 1);
  assert.equal(elemReads, 2);
  try { sys.lwp_park({ tv_sec: 0, tv_nsec: 0 }); } catch { /* consume the unpark left pending for LWP 1 */ }
  assert.throws(() => sys.lwp_unpark_all([1, 'x'] as unknown as number[]), TypeError);
  assert.throws(() => sys.lwp_unpark_all([1, 1.5]), code('ESRCH'));
});
