/**
 * Review finding (the messages reviewer): when the fast encoder gave up
 * after it had run a getter of the value (a key list read, then a value the
 * fast format does not carry: a BigInt, an Error, a class instance, an
 * object met twice), V8's serializer walked the whole value again and ran
 * that getter a second time; structured clone runs each getter once.
 * Observable: a getter with a side effect (a counter, a log line) ran twice
 * per post. Fixed by the walk that never stops for such a value
 * (msg-fast.ts "Each getter runs once"): placeholders, a copy of what the
 * walk read, and V8's serializer over that copy (msg-codec.ts v8_subject).
 *
 * Each case is held against structuredClone of the same value: the same
 * result, and each getter run as often (once; none after a value that
 * cannot be cloned), identities (cycles, shared references) kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { msg_encode, msg_decode } from '../src/ports/msg-codec.js';
import { boot } from '../src/sys/index.js';

class Thing { a = 1; }

/** The value through this thread's encoder and decoder. */
const roundtrip = (v: unknown): unknown => msg_decode(Uint8Array.from(msg_encode(v)));

/** Runs mk's value through structuredClone and through ours, each with its own getter count; both counts and both results. */
function both<T>(mk: (count: () => void) => T): { sc: number; ours: number; want: T; got: T } {
  let sc = 0, ours = 0;
  const want = structuredClone(mk(() => { sc++; }));
  const got = roundtrip(mk(() => { ours++; })) as T;
  return { sc, ours, want, got };
}

test('a getter runs once per post when the encoder hands the value to V8\'s serializer after it', () => {
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

test('a cycle and shared references after a getter keep their identity, the getter runs once', () => {
  const r = both((c) => {
    const o: Record<string, unknown> = { get n() { c(); return 1; } };
    const shared = { v: [1, 2] };
    o.self = o; o.a = shared; o.m = new Map([['k', shared]]); o.s = new Set([shared]);
    return o;
  });
  assert.equal(r.sc, 1);
  assert.equal(r.ours, 1);
  const g = r.got as { self: unknown; a: unknown; m: Map<string, unknown>; s: Set<unknown> };
  assert.equal(g.self, g);
  assert.equal(g.m.get('k'), g.a);
  assert.equal([...g.s][0], g.a);
  assert.deepEqual(r.got, r.want);
});

test('a class instance met twice after a getter is one object on the other side', () => {
  const r = both((c) => { const t = new Thing(); return { get n() { c(); return 1; }, t, u: t }; });
  assert.equal(r.ours, r.sc);
  assert.equal(r.got.t, r.got.u);
  assert.deepEqual(r.got, r.want);
});

test('a getter that deletes a later key of a shape: the key is left out, the getter runs once', () => {
  for (let round = 0; round < 3; round++) { // the key list becomes a shape at its second sighting
    const r = both((c) => {
      const o: Record<string, unknown> = { get a() { c(); delete o.b; return 1; }, b: 2, z: 3n };
      return o;
    });
    assert.equal(r.sc, 1);
    assert.equal(r.ours, 1, `round ${round}`);
    assert.deepEqual(r.got, r.want);
    assert.equal(Object.hasOwn(r.got, 'b'), false);
  }
});

test('arrays after a getter: extra properties, an element getter, holes', () => {
  const r = both((c) => {
    const extra: unknown[] & { tag?: string } = [1, 2]; extra.tag = 'x';
    const eg = [1, 2, 3];
    Object.defineProperty(eg, 1, { get() { c(); return 9; }, enumerable: true });
    // eslint-disable-next-line no-sparse-arrays
    return { get n() { c(); return 1; }, extra, eg, holes: [1, , 3], big: 7n };
  });
  assert.equal(r.sc, 2);
  assert.equal(r.ours, 2);
  assert.deepEqual(r.got, r.want);
  assert.equal((r.got.extra as { tag?: string }).tag, 'x');
  assert.equal(1 in r.got.holes, false);
});

test('views, dates and SharedArrayBuffers in the copy: the same values, a SharedArrayBuffer still shared', () => {
  boot(); // (a SharedArrayBuffer's id is a kernel word)
  const sab = new SharedArrayBuffer(16);
  const shv = new Int32Array(sab, 4, 2);
  let n = 0;
  const got = roundtrip({ get n() { n++; return 1; }, f: new Float64Array([1.5, -0, NaN]), d: new Date(5), b: Buffer.from('hi'), sab, shv, big: 1n }) as
    { f: Float64Array; d: Date; b: Buffer; sab: SharedArrayBuffer; shv: Int32Array };
  assert.equal(n, 1);
  assert.deepEqual([...got.f], [1.5, -0, NaN]);
  assert.equal(got.d.getTime(), 5);
  assert.ok(Buffer.isBuffer(got.b));
  assert.equal(got.b.toString(), 'hi');
  assert.equal(got.sab, sab);
  assert.equal(got.shv.buffer, sab);
  shv[0] = 42;
  assert.equal(got.shv[0], 42);
});

test('a value V8 refuses after a getter: its DataCloneError, the getters before it once, none after it', () => {
  const cases: [string, () => unknown][] = [
    ['a function', () => function f(): number { return 1; }],
    ['a symbol', () => Symbol('s')],
    ['a Proxy (no trap runs)', () => new Proxy({}, { ownKeys(): never { throw new Error('a trap ran'); }, get(): never { throw new Error('a trap ran'); } })],
    ['an arguments object', () => (function (..._: number[]) { return arguments; })(1, 2)], // eslint-disable-line prefer-rest-params
  ];
  for (const [what, bad] of cases) {
    const counts = { sc: [0, 0], ours: [0, 0] };
    const mk = (k: number[]) => ({ get a() { k[0]!++; return 1; }, x: bad(), get b() { k[1]!++; return 2; } });
    let want: Error | undefined, got: Error | undefined;
    try { structuredClone(mk(counts.sc)); } catch (e) { want = e as Error; }
    try { msg_encode(mk(counts.ours)); } catch (e) { got = e as Error; }
    assert.ok(want !== undefined && got !== undefined, what);
    assert.equal(got.name, 'DataCloneError', what);
    assert.equal(got.message, want.message, what);
    assert.deepEqual(counts.ours, counts.sc, what);
    assert.deepEqual(counts.sc, [1, 0], what);
  }
});

test('no getter anywhere: a held object that shares an object with the rest keeps the sharing', () => {
  class Svc { constructor(public config: object) {} }
  const config = { port: 1 };
  const got = roundtrip({ config, svc: new Svc(config), big: 2n }) as { config: object; svc: { config: object } };
  assert.equal(got.svc.config, got.config);
  assert.deepEqual(got, structuredClone({ config, svc: new Svc(config), big: 2n }));
});

// --- random values, held against structuredClone --------------------------------

/** A value to build: plain data, BigInts, objects with getters, arrays, Maps, class instances, references to objects built earlier (shared, or cycles). */
type Spec =
  | { k: 'prim'; v: string | number | boolean | null | undefined }
  | { k: 'big'; v: bigint }
  | { k: 'obj' | 'inst'; props: [string, Spec, boolean][] }
  | { k: 'arr'; items: Spec[] }
  | { k: 'map'; entries: [string, Spec][] }
  | { k: 'ref'; i: number };

const arbSpec: fc.Arbitrary<Spec> = fc.letrec<{ spec: Spec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ k: fc.constant('prim' as const), v: fc.oneof(fc.string({ maxLength: 6 }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined)) }),
    fc.record({ k: fc.constant('big' as const), v: fc.bigInt() }),
    fc.record({ k: fc.constantFrom('obj' as const, 'inst' as const), props: fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), tie('spec'), fc.boolean()), { maxLength: 4, selector: (p) => p[0] }) }),
    fc.record({ k: fc.constant('arr' as const), items: fc.array(tie('spec'), { maxLength: 4 }) }),
    fc.record({ k: fc.constant('map' as const), entries: fc.array(fc.tuple(fc.string({ maxLength: 3 }), tie('spec')), { maxLength: 3 }) }),
    fc.record({ k: fc.constant('ref' as const), i: fc.nat(7) }),
  ),
})).spec;

class Inst { [k: string]: unknown }

/** Builds spec's value; every getter calls count. Containers are registered before their contents, so a ref may name an ancestor (a cycle). */
function build(spec: Spec, count: () => void, made: object[] = []): unknown {
  switch (spec.k) {
    case 'prim': case 'big': return spec.v;
    case 'ref': return made.length === 0 ? 0 : made[spec.i % made.length];
    case 'arr': { const a: unknown[] = []; made.push(a); for (const s of spec.items) a.push(build(s, count, made)); return a; }
    case 'map': { const m = new Map<string, unknown>(); made.push(m); for (const [k, s] of spec.entries) m.set(k, build(s, count, made)); return m; }
    default: {
      const o: Record<string, unknown> = spec.k === 'inst' ? new Inst() : {};
      made.push(o);
      for (const [k, s, getter] of spec.props) {
        const v = build(s, count, made);
        if (getter) Object.defineProperty(o, k, { get() { count(); return v; }, enumerable: true, configurable: true });
        else o[k] = v;
      }
      return o;
    }
  }
}

/** An object's own property values and Map entries (no getter called). */
function inside(x: object): unknown[] {
  if (x instanceof Map) return [...x.keys(), ...x.values()];
  return Object.values(Object.getOwnPropertyDescriptors(x)).map((d) => d.value as unknown);
}
const has_own_getter = (x: object): boolean => Object.values(Object.getOwnPropertyDescriptors(x)).some((d) => d.get !== undefined);

/**
 * msg-codec.ts v8_subject's one case where the walk's getters run again
 * (to keep an object one object), said from the built value by walks of
 * its own: an object reached without entering a class instance is also
 * reached from inside one, or a class instance (or an object inside one)
 * has an own getter.
 */
function instance_case(v: unknown): boolean {
  const plain = new Set<object>(), insts: object[] = [];
  const walk = (x: unknown): void => {
    if (typeof x !== 'object' || x === null || plain.has(x)) return;
    if (x instanceof Inst) { insts.push(x); return; }
    plain.add(x);
    if (x instanceof Map) { for (const k of inside(x)) walk(k); return; }
    for (const d of Object.values(Object.getOwnPropertyDescriptors(x))) walk(d.get !== undefined ? (d.get as () => unknown)() : d.value);
  };
  walk(v);
  const seen = new Set<object>(), stack: unknown[] = [...insts];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null || seen.has(x)) continue;
    seen.add(x);
    if (plain.has(x) || has_own_getter(x)) return true;
    stack.push(...inside(x));
  }
  return false;
}

test('random values with getters, BigInts, class instances and shared references: what structuredClone gives, each getter as often', () => {
  let twice = 0, runs = 0;
  fc.assert(fc.property(arbSpec, (spec) => {
    runs++;
    const r = both((c) => build(spec, c));
    assert.deepEqual(r.got, r.want);
    if (r.ours === r.sc) return;
    // The one case left (msg-codec.ts v8_subject): the walk's getters at most once more.
    assert.ok(instance_case(build(spec, () => {})), `a getter ran ${r.ours} times against ${r.sc}, and no class instance shares an object or has a getter`);
    assert.ok(r.ours <= 2 * r.sc, `a getter ran ${r.ours} times against ${r.sc}`);
    twice++;
  }), { seed: 0x5eed, numRuns: 400 });
  console.log(`${runs} random values; ${twice} in the one case where the walk's getters run again`);
  assert.ok(twice < runs / 10, `${twice} of ${runs} values had a getter run again`);
});

test('a getter that deletes its own key, with a BigInt after it: the value it returned is sent, as structuredClone sends it', () => {
  // (Whether the walk ran a getter was told afterwards from the object, which had lost it: V8 then walked the original, without the key.)
  const r = both((c) => { const o: Record<string, unknown> = { a: 44, get b() { c(); delete o.b; return 40; }, c: 7n }; return o; });
  assert.deepEqual(r.want, { a: 44, b: 40, c: 7n });
  assert.deepEqual(r.got, r.want);
  assert.equal(r.ours, 1);
});
