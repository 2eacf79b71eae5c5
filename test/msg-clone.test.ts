/**
 * What the message codec refuses and what it carries, against
 * structuredClone (review findings of the messages reviewer): a Proxy and
 * an arguments object are refused with a DataCloneError, as structured
 * clone refuses them, and no trap of the Proxy runs (before, both were sent
 * as the plain objects or arrays they looked like); an ordinary object
 * whose prototype was set to Object.prototype is a plain object to both
 * (not a defect: structured clone keeps no prototype of an ordinary
 * object). Checked at the codec (msg_encode, what a receiver decodes) and
 * through a port (postSync, postManySync: nothing queued).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port } from '../src/index.js';
import { msg_encode, msg_decode } from '../src/ports/msg-codec.js';
import { assertArenaEmpty } from './msg-helpers.js';

function roundtrip(v: unknown): unknown { return msg_decode(Uint8Array.from(msg_encode(v))); }

const isDataClone = (e: unknown): boolean => e instanceof Error && e.name === 'DataCloneError';

/** A handler that records every trap it runs (all forwarding to the target). */
function spy(log: string[]): ProxyHandler<object> {
  const h: ProxyHandler<object> = {};
  for (const k of ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'isExtensible', 'defineProperty', 'set'] as const) {
    (h as Record<string, unknown>)[k] = (...a: unknown[]): unknown => {
      log.push(k);
      return (Reflect[k] as (...x: unknown[]) => unknown)(...a);
    };
  }
  return h;
}

let uniq = 0;

test('a Proxy is refused with a DataCloneError, as structuredClone refuses it, and none of its traps runs', () => {
  const k1 = `p${uniq++}`, k2 = `q${uniq++}`;
  const shaped = (): Record<string, number> => ({ [k1]: 1, [k2]: 2 });
  // The key list a shape first (seen twice), so a Proxy that looks like it takes the shape path.
  msg_encode(shaped()); msg_encode(shaped());
  const cases: [string, (h: ProxyHandler<object>) => unknown][] = [
    ['a Proxy of a plain object', (h) => new Proxy({ a: 1, b: 'two' }, h)],
    ['a Proxy whose keys are a shape', (h) => new Proxy(shaped(), h)],
    ['a Proxy of an array', (h) => new Proxy([1, 2, 3], h)],
    ['a Proxy inside an object', (h) => ({ id: 1, inner: new Proxy({ x: 1 }, h) })],
    ['a Proxy inside an array', (h) => [1, new Proxy([2], h)]],
    ['a Proxy of a Map', (h) => new Proxy(new Map([[1, 2]]), h)],
    ['a Proxy of a Date', (h) => new Proxy(new Date(0), h)],
    ['a Proxy of a Float64Array', (h) => new Proxy(new Float64Array(2), h)],
    ['a Proxy of an ArrayBuffer', (h) => new Proxy(new ArrayBuffer(8), h)],
    ['a Proxy of a null-prototype object', (h) => new Proxy(Object.create(null) as object, h)],
  ];
  for (const [what, mk] of cases) {
    const ref: string[] = [];
    assert.throws(() => structuredClone(mk(spy(ref))), isDataClone, `${what}: structuredClone refuses it`);
    const log: string[] = [];
    assert.throws(() => msg_encode(mk(spy(log))), isDataClone, `${what}: msg_encode refuses it`);
    assert.deepEqual(log, ref, `${what}: traps run (structuredClone runs ${JSON.stringify(ref)})`);
  }
});

test('a Proxy posted is refused and nothing is queued (postSync, postManySync)', () => {
  const port = new Port();
  assert.throws(() => port.postSync(new Proxy({ a: 1 }, {})), isDataClone);
  assert.throws(() => port.postSync({ list: new Proxy([1, 2], {}) }), isDataClone);
  assert.throws(() => port.postManySync([{ a: 1 }, new Proxy({ a: 2 }, {})]), isDataClone);
  assert.equal(port.pending, 0);
  port.postSync({ a: 3 });
  assert.deepEqual(port.receiveSync({ timeout: 1000 }), { a: 3 });
  port.close();
  assertArenaEmpty('after refused proxies');
});

test('an arguments object is refused with a DataCloneError, as structuredClone refuses it', () => {
  function args(..._a: unknown[]): IArguments { return arguments; } // eslint-disable-line prefer-rest-params
  // Plain objects of the key lists arguments objects have, seen twice: shapes.
  for (let i = 0; i < 2; i++) { msg_encode({ 0: 'x', 1: 'y' }); msg_encode({ 0: 'x' }); }
  const cases: [string, () => unknown][] = [
    ['no arguments', () => args()],
    ['one argument', () => args('x')],
    ['two arguments (a shape\'s key list)', () => args('x', 'y')],
    ['inside an object', () => ({ a: args(1, 2, 3) })],
    ['inside an array', () => [args(1)]],
  ];
  for (const [what, mk] of cases) {
    assert.throws(() => structuredClone(mk()), isDataClone, `${what}: structuredClone refuses it`);
    assert.throws(() => msg_encode(mk()), isDataClone, `${what}: msg_encode refuses it`);
  }
  // A plain object of the same keys is still sent, by its shape.
  assert.deepEqual(roundtrip({ 0: 'x', 1: 'y' }), { 0: 'x', 1: 'y' });
});

test('an ordinary object whose prototype was set to Object.prototype is a plain object, as to structuredClone', () => {
  class Thing { a = 1; b = [2]; }
  const mk: [string, () => object][] = [
    ['an object literal given Object.prototype', () => Object.setPrototypeOf({ a: 1, b: [2] }, Object.prototype) as object],
    ['a class instance given Object.prototype', () => Object.setPrototypeOf(new Thing(), Object.prototype) as object],
    ['a class instance', () => new Thing()],
    ['a null-prototype object given Object.prototype', () => Object.setPrototypeOf(Object.assign(Object.create(null) as object, { a: 1 }), Object.prototype) as object],
  ];
  for (const [what, f] of mk) {
    const sc = structuredClone(f()), ours = roundtrip(f());
    assert.deepEqual(ours, sc, what);
    assert.equal(Object.getPrototypeOf(ours), Object.getPrototypeOf(sc), `${what}: prototype`);
  }
});

test('a view whose prototype was changed crosses as its own kind, as structuredClone sends it', () => {
  const f64 = Object.setPrototypeOf(new Float64Array([1.5, -2, 3]), Object.prototype) as object;
  const u8 = Object.setPrototypeOf(Uint8Array.from([7, 8, 9, 10]), null) as object;
  const i16 = Object.setPrototypeOf(new Int16Array(new ArrayBuffer(16), 4, 3).fill(-5), Float64Array.prototype) as object;
  const dv = Object.setPrototypeOf(new DataView(Uint8Array.from([1, 2, 3, 4, 5]).buffer, 1, 3), Object.prototype) as object;
  for (const v of [f64, u8, i16, dv, { nested: [f64, dv] }]) {
    const want = structuredClone(v);
    const got = roundtrip(v);
    assert.deepEqual(got, want);
    const a = (want as { nested?: unknown[] }).nested ?? [want], b = (got as { nested?: unknown[] }).nested ?? [got];
    for (let i = 0; i < a.length; i++) assert.equal(Object.getPrototypeOf(b[i]), Object.getPrototypeOf(a[i]));
  }
  // Over a SharedArrayBuffer: still shared, as its own kind.
  const sab = new SharedArrayBuffer(16);
  const shared = Object.setPrototypeOf(new Int32Array(sab, 4, 2), Object.prototype) as object;
  const port = new Port();
  try {
    port.postSync(shared);
    const r = port.receiveSync() as Int32Array;
    assert.ok(r instanceof Int32Array);
    assert.equal(r.buffer, sab);
    assert.deepEqual([r.byteOffset, r.length], [4, 2]);
  } finally {
    port.close();
  }
  assertArenaEmpty('after views with changed prototypes');
});

test('a value that cannot be cloned is refused with what structuredClone throws: a DOMException DataCloneError, code 25, V8\'s message', () => {
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const port = new Port();
  try {
    const cases: [string, unknown][] = [
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['a Proxy', new Proxy({}, {})],
      ['a revoked Proxy', revoked],
      ['a revoked Proxy inside an object', { a: revoked }],
    ];
    for (const [what, v] of cases) {
      let ref: unknown, got: unknown;
      try { structuredClone(v); } catch (e) { ref = e; }
      try { port.postSync(v); } catch (e) { got = e; }
      assert.ok(ref instanceof DOMException, `${what}: structuredClone throws a DOMException`);
      assert.ok(got instanceof DOMException, `${what}: postSync throws a DOMException, not ${String(got)}`);
      assert.equal(got.name, 'DataCloneError', what);
      assert.equal(got.code, ref.code, what);
      assert.equal(got.message, ref.message, what);
    }
    assertArenaEmpty('after refused values');
  } finally {
    port.close();
  }
});
