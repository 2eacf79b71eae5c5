/**
 * The fuzzer's judge (test/fuzz/calls.ts) of how a call may fail: a SysError
 * with an errno name, Node's argument errors (a TypeError or RangeError with
 * ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE), or the
 * user's own exception from a getter. An engine's TypeError with no code (a
 * revoked Proxy read, a BigInt mixed with a number) was accepted, so the
 * fuzzer never reported one; it is a finding now.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js'; // the fuzzer's own (calls.ts): its SysError class
import { judge } from './fuzz/calls.js';
import { UserThrow } from './fuzz/values.js';

function coded<E extends Error>(e: E, code: string): E { return Object.assign(e, { code }); }

test('the fuzz judge accepts errnos, Node argument errors and user exceptions', () => {
  for (const e of [
    new sys.SysError('EINVAL', 'port_send'),
    coded(new TypeError('x'), 'ERR_INVALID_ARG_TYPE'),
    coded(new TypeError('x'), 'ERR_INVALID_ARG_VALUE'),
    coded(new RangeError('x'), 'ERR_OUT_OF_RANGE'),
    new UserThrow(),
  ]) assert.equal(judge(e).ok, true, `${String(e)} is an accepted outcome`);
});

test('the fuzz judge reports a TypeError or RangeError without a Node code', () => {
  const { proxy, revoke } = Proxy.revocable({} as { x?: number }, {});
  revoke();
  let engine: unknown;
  try { void proxy.x; } catch (e) { engine = e; }
  assert.ok(engine instanceof TypeError);
  for (const e of [engine, new TypeError('codeless'), new RangeError('codeless'), coded(new TypeError('x'), 'ERR_SOMETHING_ELSE')]) {
    const out = judge(e);
    assert.equal(out.ok, false, `${String(e)} must be a finding`);
  }
});
