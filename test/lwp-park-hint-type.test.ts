/**
 * A park or unpark hint that is not a number is a TypeError
 * (ERR_INVALID_ARG_TYPE), which the contract puts before anything the
 * kernel does (docs/sys.md, Conventions: "the kernel rejects these before
 * it does anything"). The sys layer read the hint after the other
 * arguments' errno checks: lwp_park with a deadline already past failed
 * ETIMEDOUT, lwp_unpark of a lid that is not one ESRCH, lwp_unpark_all of
 * an empty list EINVAL (and of null returned LWP_UNPARK_MAX), each with the
 * bad hint unseen; the class layer checked the hint itself for this
 * reason (ukern/lwp.ts hint_opt). LWP review.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';

const type = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';
const bad = 'x' as unknown as number;
const past = { tv_sec: 0, tv_nsec: 0 };

test('lwp_park / lwp_park_async with a deadline already past and a hint that is not a number: TypeError, not ETIMEDOUT', async () => {
  assert.throws(() => sys.lwp_park(past, bad), type);
  await assert.rejects(sys.lwp_park_async(past, bad), type);
  // control: a numeric hint and the same deadline
  assert.throws(() => sys.lwp_park(past, 3), (e: unknown) => e instanceof sys.SysError && e.code === 'ETIMEDOUT');
});

test('lwp_unpark and lwp_unpark_all check the hint\'s type before the lid and the list', () => {
  assert.throws(() => sys.lwp_unpark(1.5, bad), type);
  assert.throws(() => sys.lwp_unpark(999_999, bad), type);
  assert.throws(() => sys.lwp_unpark_all([], bad), type);
  assert.throws(() => sys.lwp_unpark_all(null, bad), type);
  assert.throws(() => sys.lwp_unpark_all([999_999], bad), type);
  // nothing was left pending on the caller by the calls that failed
  assert.equal(sys.lwp_snapshot().lwps.find((l) => l.lid === 1)?.unparkPending, false);
});
