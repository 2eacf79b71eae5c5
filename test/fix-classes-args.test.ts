/**
 * Arguments the class layer checked late: the iterators' options (checked
 * at the first next(), as a generator body runs, where Node checks at the
 * call). Each must be a Node-style argument error
 * (ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE) thrown synchronously by the call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, KQueue } from 'ukern';

const type = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';
const bad = <T>(v: unknown): T => v as T;

test('Port.events / messages and KQueue.events check their options at the call', () => {
  using port = new Port();
  using kq = new KQueue();
  assert.throws(() => port.events(bad({ signal: 'x' })), type, 'Port.events signal');
  assert.throws(() => port.events(bad(null)), type, 'Port.events null options');
  assert.throws(() => port.events(bad({ stopOnAlert: 'yes' })), type, 'Port.events stopOnAlert');
  assert.throws(() => port.messages(bad({ signal: 1 })), type, 'Port.messages signal');
  assert.throws(() => port.messages(bad(7)), type, 'Port.messages options');
  assert.throws(() => kq.events(bad({ signal: {} })), type, 'KQueue.events signal');
  assert.throws(() => kq.events(bad('x')), type, 'KQueue.events options');
  // An aborted signal is not an argument error: the first next() rejects (AbortError), as events.on's.
  const ac = new AbortController();
  ac.abort();
  assert.doesNotThrow(() => port.events({ signal: ac.signal }));
});

