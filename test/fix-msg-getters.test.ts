/**
 * Review finding (the messages reviewer): when the fast encoder gives up
 * after it has run a getter of the value (a key list read, then a value the
 * fast format does not carry: a BigInt, an Error, a class instance, an
 * object met twice), V8's serializer walks the whole value again and runs
 * that getter a second time; structured clone runs each getter once.
 * Observable: a getter with a side effect (a counter, a log line) runs twice
 * per post. Not fixed yet (the design is in the branch's report and below):
 * marked todo, so that the suite reports it without failing, and it passes
 * once each getter runs once.
 *
 * The fix this test waits for: the fast pass never gives up once it has
 * started reading; a value it cannot carry is kept by reference (a
 * placeholder in the scratch) and an object met again as a back reference,
 * and when any placeholder was written the scratch is decoded locally (its
 * values are exactly what the getters returned) and that copy, placeholders
 * replaced by the original objects, goes through V8's serializer, which
 * then runs no getter of the walked part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg_encode, msg_decode } from '../src/ports/msg-codec.js';

class Thing { a = 1; }

test('a getter runs once per post when the encoder hands the value to V8\'s serializer after it', { todo: 'the fast encoder gives up after running getters (see the header)' }, () => {
  const tails: [string, () => unknown][] = [
    ['a BigInt', () => 2n ** 70n],
    ['an Error', () => new RangeError('boom')],
    ['a class instance', () => new Thing()],
    ['a RegExp', () => /ab+c/g],
  ];
  for (const [what, tail] of tails) {
    let ours = 0, sc = 0;
    const mk = (count: () => void): unknown => ({ get n() { count(); return 1; }, tail: tail() });
    structuredClone(mk(() => { sc++; }));
    const back = msg_decode(Uint8Array.from(msg_encode(mk(() => { ours++; }))));
    assert.equal(sc, 1);
    assert.deepEqual(back, structuredClone(mk(() => {})), what);
    assert.equal(ours, sc, `${what} after a getter: the getter ran ${ours} times (structuredClone: ${sc})`);
  }
  // An object met twice (a shared reference) after a getter.
  let ours = 0;
  const shared = { v: 1 };
  msg_encode({ get n() { ours++; return 1; }, a: shared, b: shared });
  assert.equal(ours, 1, `a shared reference after a getter: the getter ran ${ours} times`);
});
