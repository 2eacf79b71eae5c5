/**
 * Arguments the class layer checked late or not at all: the iterators'
 * options (checked at the first next(), as a generator body runs, where
 * Node checks at the call), Lwp.create's start and options, the park and
 * unpark hint, Lwp.of's lid. Each must be a Node-style argument error
 * (ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE) thrown synchronously by the call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, KQueue, Lwp, Timer } from 'ukern';

const type = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';
const range = (e: unknown): boolean => e instanceof RangeError && (e as { code?: string }).code === 'ERR_OUT_OF_RANGE';
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

test('Lwp.create checks its start and options at the call', () => {
  const start = { module: new URL('./fixtures/lwps-body.js', import.meta.url), export: 'noop' };
  assert.throws(() => Lwp.create(bad(null)), type, 'start null');
  assert.throws(() => Lwp.create(bad('x')), type, 'start a string');
  assert.throws(() => Lwp.create(start, bad(null)), type, 'options null');
  assert.throws(() => Lwp.create(start, bad({ signal: 'x' })), type, 'options.signal');
  assert.throws(() => Lwp.create(start, bad({ detached: 'yes' })), type, 'options.detached');
  assert.throws(() => Lwp.create(start, bad({ suspended: 1 })), type, 'options.suspended');
  assert.throws(() => Lwp.create(start, bad({ detached: true, signal: 'x' })), type, 'options.signal, detached');
  assert.throws(() => Lwp.create({ module: 42 as unknown as string, export: 'noop' }, { detached: true }), type, 'start.module, detached');
});

test('Lwp.park / parkSync / unpark check the hint, Lwp.of its lid', async () => {
  for (const h of ['x', null, {}, 1n]) {
    await assert.rejects(Lwp.park(bad({ hint: h, timeout: 0 })), type, `park hint ${String(h)}`);
    assert.throws(() => Lwp.parkSync(bad({ hint: h, timeout: 0 })), type, `parkSync hint ${String(h)}`);
    assert.throws(() => Lwp.self().unpark(bad(h)), type, `unpark hint ${String(h)}`);
  }
  for (const h of [NaN, Infinity]) {
    await assert.rejects(Lwp.park({ hint: h, timeout: 0 }), range, `park hint ${h}`);
    assert.throws(() => Lwp.self().unpark(h), range, `unpark hint ${h}`);
  }
  assert.throws(() => Lwp.of(bad('3')), type, 'Lwp.of a string');
  assert.throws(() => Lwp.of(1.5), range, 'Lwp.of a fraction');
  assert.throws(() => Lwp.of(-1), range, 'Lwp.of a negative lid');
});

test('Timer.set checks its options object', () => {
  using t = new Timer({ delay: 0 });
  assert.throws(() => t.set(bad(null)), type, 'null');
  assert.throws(() => t.set(bad('x')), type, 'a string');
  assert.throws(() => t.set({ delay: -1 }), range, 'a negative delay');
});
