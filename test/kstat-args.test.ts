/**
 * kstat(module): the module name is a string or absent. Anything else was
 * compared with every counter's name as it came: an object's toString ran
 * once per counter (~160 times, free to answer differently each time), a
 * Symbol threw the engine's TypeError (no code).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

test('kstat: a module that is not a string is ERR_INVALID_ARG_TYPE, and runs no user code', () => {
  let ran = 0;
  const o = { toString: () => { ran++; return 'lwp'; } };
  for (const v of [o, Symbol('m'), 5, 1n, null, ['lwp']]) {
    assert.throws(() => sys.kstat(v as unknown as string),
      (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE', String(typeof v));
  }
  assert.equal(ran, 0);
  assert.ok(Object.keys(sys.kstat('lwp')).every((k) => k.startsWith('lwp.')));
  assert.ok(Object.keys(sys.kstat()).length > Object.keys(sys.kstat('lwp')).length);
});
