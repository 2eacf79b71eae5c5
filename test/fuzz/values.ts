/**
 * Hostile argument values, as fast-check arbitraries of *specs*.
 *
 * Why specs and not values: a dangerous argument often depends on the
 * thread that makes the call (its port, its kqueue, a descriptor it closed,
 * its child LWP), and objects with getters or Proxies that re-enter the
 * kernel must be built fresh for each call, in the calling LWP. So an
 * arbitrary yields a {@link Spec}: a printable description (what fast-check
 * shows in a counterexample and what the watchdog prints for a hang) and a
 * `make(ctx)` that builds the value at call time. Specs are immutable, so
 * fast-check can replay and shrink them.
 *
 * Safety rule of the generators (not a weakening of the checks): a blocking
 * call must never get a *valid* long timeout, since a correct kernel would
 * then rightly block. Timeouts are therefore either short and valid
 * (<= 2 ms), or invalid; a getter that answers differently on each read
 * answers a short valid value FIRST, so a kernel that reads once is safe
 * and one that reads twice is caught.
 */
import fc from 'fast-check';
import * as sys from '../../src/sys/index.js';
import type { Ctx } from './ctx.js';

export interface Spec {
  readonly d: string;
  make(ctx: Ctx): unknown;
}

function spec(d: string, make: (ctx: Ctx) => unknown): Spec {
  return { d, make, [fc.toStringMethod]: () => d } as Spec;
}
export const lit = (d: string, v: unknown): Spec => spec(d, () => v);

/** Thrown by hostile getters; a syscall may let it through unchanged. */
export class UserThrow extends Error {
  constructor() { super('thrown by a user getter'); this.name = 'UserThrow'; }
}

/* ------------------------------------------------------------ primitives */

const NUMS: readonly [string, number][] = [
  ['NaN', NaN], ['-0', -0], ['0', 0], ['1', 1], ['-1', -1], ['0.5', 0.5], ['Infinity', Infinity],
  ['-Infinity', -Infinity], ['2^31', 2 ** 31], ['2^31-1', 2 ** 31 - 1], ['-2^31', -(2 ** 31)],
  ['-2^31-1', -(2 ** 31) - 1], ['2^32', 2 ** 32], ['2^32-1', 2 ** 32 - 1], ['2^53', 2 ** 53],
  ['-2^53', -(2 ** 53)], ['MAX_VALUE', Number.MAX_VALUE], ['MIN_VALUE', Number.MIN_VALUE], ['1e9', 1e9],
  ['999999999', 999_999_999], ['2^63', 2 ** 63],
];
const OTHERS: readonly [string, () => unknown][] = [
  ["'1'", () => '1'], ["''", () => ''], ["'abc'", () => 'abc'], ['Symbol()', () => Symbol('fuzz')],
  ['1n', () => 1n], ['2n**64n', () => 2n ** 64n], ['undefined', () => undefined], ['null', () => null],
  ['true', () => true], ['{}', () => ({})], ['[]', () => []], ['()=>1', () => () => 1],
  ['new Number(1)', () => new Number(1)], ['{valueOf:()=>1}', () => ({ valueOf: () => 1 })],
];

/** Hostile numbers (all of type number). */
export const hostileNumber: fc.Arbitrary<Spec> = fc.constantFrom(...NUMS).map(([d, v]) => lit(d, v));
/** Values of the wrong JS type. */
export const wrongType: fc.Arbitrary<Spec> = fc.constantFrom(...OTHERS).map(([d, f]) => spec(d, f));
/** Any hostile primitive or wrong-typed value. */
export const hostile: fc.Arbitrary<Spec> = fc.oneof({ weight: 3, arbitrary: hostileNumber }, { weight: 2, arbitrary: wrongType });

export const int = (min: number, max: number): fc.Arbitrary<Spec> => fc.integer({ min, max }).map((v) => lit(String(v), v));
export const oneOfInts = (...vs: number[]): fc.Arbitrary<Spec> => fc.constantFrom(...vs).map((v) => lit(String(v), v));
/** A good value most of the time, a hostile one otherwise. */
export const orHostile = (good: fc.Arbitrary<Spec>, goodWeight = 3): fc.Arbitrary<Spec> =>
  fc.oneof({ weight: goodWeight, arbitrary: good }, { weight: 1, arbitrary: hostile });

/** User data words: any number is valid. */
export const userWord: fc.Arbitrary<Spec> = orHostile(fc.oneof(int(-5, 5), hostileNumber), 4);

/* ------------------------------------------------------------ descriptors */

/** A descriptor: own port/kqueue (right or wrong kind), a closed one, a timer id, or hostile. */
export const fd: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(3).map((i) => spec(`port#${i}`, (c) => c.port(i))) },
  { weight: 4, arbitrary: fc.nat(3).map((i) => spec(`kq#${i}`, (c) => c.kq(i))) },
  { weight: 2, arbitrary: fc.nat(3).map((i) => spec(`closed#${i}`, (c) => c.closedFd(i))) },
  { weight: 1, arbitrary: fc.nat(3).map((i) => spec(`timer#${i}`, (c) => c.timer(i))) },
  { weight: 2, arbitrary: hostile },
);
export const timerId: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(3).map((i) => spec(`timer#${i}`, (c) => c.timer(i))) },
  { weight: 1, arbitrary: fc.nat(3).map((i) => spec(`port#${i}`, (c) => c.port(i))) },
  { weight: 2, arbitrary: hostile },
);

/**
 * Lids that are safe to suspend/detach/wait for: own children, self, and
 * numbers that name no LWP. (Suspending LWP 1 or a peer fuzzer would stall
 * the run without any kernel fault: that is not a finding.)
 */
const foreignFree: fc.Arbitrary<Spec> = fc.constantFrom(
  // 0 (and -0) is lwp_wait's "any LWP": with several fuzzers it would collect a
  // finished peer; it gets its own call, made only when that cannot happen.
  ...NUMS.filter(([, v]) => !(Number.isInteger(v) && v >= 0 && v <= 0x10000) && !Object.is(v, -0)),
).map(([d, v]) => lit(d, v));
export const ownLid: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(3).map((i) => spec(`child#${i}`, (c) => c.child(i))) },
  { weight: 1, arbitrary: fc.constant(spec('self', () => sys.lwp_self())) },
  { weight: 2, arbitrary: fc.oneof(foreignFree, wrongType) },
);
/** Own children and numbers that name no LWP, not self (suspending or detaching oneself only stalls the run). */
export const childLid: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(3).map((i) => spec(`child#${i}`, (c) => c.child(i))) },
  { weight: 2, arbitrary: fc.oneof(foreignFree, wrongType) },
);
/** Lids for calls that cannot stall anybody (unpark, wakeup, kill 0, continue): peers too. */
export const anyLid: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 3, arbitrary: ownLid },
  { weight: 1, arbitrary: fc.nat(3).map((i) => spec(`peer#${i}`, (c) => c.pick(c.peers, i, 0x7fff))) },
  { weight: 1, arbitrary: fc.constant(lit('1', 1)) },
);

/* ------------------------------------------------------------ re-entry */

/** A kernel call made from inside a getter or Proxy trap, on the caller's own objects. */
export const REENTRY: readonly [string, (c: Ctx) => unknown][] = [
  ['port_send(port#0)', (c) => sys.port_send(c.port(), 1, 1)],
  ['port_get(port#0,0)', (c) => sys.port_get(c.port(), { tv_sec: 0, tv_nsec: 0 })],
  ['port_alert(port#0)', (c) => sys.port_alert(c.port(), sys.PORT_ALERT_SET, 1, 2)],
  ['kevent(kq#0,[USER trigger],1,0)', (c) => sys.kevent(c.kq(), [sys.EV_SET(7, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR, sys.NOTE_TRIGGER, 0, 0)], 1, { tv_sec: 0, tv_nsec: 0 })],
  ['kevent(kq#0,null,4,0)', (c) => sys.kevent(c.kq(), null, 4, { tv_sec: 0, tv_nsec: 0 })],
  ['timer_gettime(timer#0)', (c) => sys.timer_gettime(c.timer())],
  ['timer_settime(timer#0,1ms)', (c) => sys.timer_settime(c.timer(), 0, { it_value: { tv_sec: 0, tv_nsec: 1e6 }, it_interval: { tv_sec: 0, tv_nsec: 0 } })],
  ['lwp_unpark(self)', () => sys.lwp_unpark(sys.lwp_self())],
  ['lwp_self()', () => sys.lwp_self()],
  ['clock_gettime(MONOTONIC)', () => sys.clock_gettime(sys.CLOCK_MONOTONIC)],
  ['close(kq#0)', (c) => { const k = c.kq(); sys.close(k); c.closed.push(k); }],
  ['port_create()', (c) => { c.ports.push(sys.port_create()); }],
];
export const reentry: fc.Arbitrary<number> = fc.nat(REENTRY.length - 1);

function reenter(i: number, c: Ctx): void {
  // The re-entrant call's own SysError is an ordinary outcome; anything
  // else escapes into the outer call, where it is judged.
  try { REENTRY[i]![1](c); } catch (e) { if (!(e instanceof sys.SysError)) throw e; }
}

/* ------------------------------------------------------------ objects */

/**
 * Properties of user objects read more than once during the current call.
 * Copy-in reads each property once (src/kern/copyin.ts); a second read is
 * where a getter that answers differently gets in, so it is a finding by
 * itself, whether or not the second answer happened to break anything.
 */
export const doubleReads: string[] = [];

type Mode = 'plain' | 'getter' | 'flip' | 'proxy' | 'reenter' | 'throw' | 'nullproto' | 'inherited' | 'frozen' | 'revoked' | 'revokes';
const modes: fc.Arbitrary<Mode> = fc.constantFrom<Mode>(
  'plain', 'plain', 'plain', 'getter', 'flip', 'flip', 'proxy', 'reenter', 'reenter', 'throw', 'nullproto', 'inherited', 'frozen',
  'revoked', 'revokes',
);

/** What a flipping getter answers after its first read. */
const FLIP_TO: readonly unknown[] = [NaN, -1, 2 ** 53, 'x', undefined, null, 1e9, Symbol('flip')];

/**
 * An object with the given fields, built in one of several hostile ways:
 * accessor properties, getters that change answer after the first read,
 * Proxies, getters that re-enter the kernel, getters that throw, values
 * inherited from the prototype, null prototypes, frozen objects.
 */
export function object(fields: Readonly<Record<string, fc.Arbitrary<Spec>>>, accept?: (vals: Record<string, unknown>) => boolean): fc.Arbitrary<Spec> {
  const keys = Object.keys(fields);
  let rec = fc.record(fields as Record<string, fc.Arbitrary<Spec>>);
  if (accept !== undefined) rec = rec.filter((r) => accept(Object.fromEntries(keys.map((k) => [k, peek(r[k]!)]))));
  return fc.tuple(rec, modes, reentry, fc.nat(FLIP_TO.length - 1)).map(([vals, mode, ri, fi]) => {
    const body = keys.map((k) => `${k}: ${vals[k]!.d}`).join(', ');
    const tag = mode === 'plain' ? '' : mode === 'reenter' ? `/reenter ${REENTRY[ri]![0]}` : mode === 'flip' ? `/flip->${String(FLIP_TO[fi])}` : `/${mode}`;
    return spec(`{${body}}${tag}`, (c) => build(keys, keys.map((k) => vals[k]!.make(c)), mode, c, ri, FLIP_TO[fi]));
  });
}

function build(keys: string[], vals: unknown[], mode: Mode, c: Ctx, ri: number, flipTo: unknown): object {
  const plain = (): Record<string, unknown> => { const o: Record<string, unknown> = {}; keys.forEach((k, i) => { o[k] = vals[i]; }); return o; };
  switch (mode) {
    case 'plain': return plain();
    case 'nullproto': return Object.assign(Object.create(null) as object, plain());
    case 'inherited': return Object.create(plain()) as object;
    case 'frozen': return Object.freeze(plain());
    case 'proxy': {
      const t = plain();
      return new Proxy(t, { get: (o, k) => (typeof k === 'string' ? o[k] : undefined), has: (o, k) => k in o });
    }
    // A revoked Proxy: every read throws V8's TypeError (no code); copy-in must make it EFAULT.
    case 'revoked': { const r = Proxy.revocable(plain(), {}); r.revoke(); return r.proxy; }
    // Revoked by its own first read: the read after it throws, halfway through the copy.
    case 'revokes': {
      const r = Proxy.revocable(plain(), { get: (o, k) => { r.revoke(); return (o as Record<string | symbol, unknown>)[k]; } });
      return r.proxy;
    }
    default: {
      const o = {};
      keys.forEach((k, i) => {
        let reads = 0;
        Object.defineProperty(o, k, {
          enumerable: true,
          get: () => {
            if (++reads === 2) doubleReads.push(k);
            if (mode === 'throw') throw new UserThrow();
            if (mode === 'reenter') reenter(ri, c);
            if (mode === 'flip' && reads > 1) return flipTo;
            return vals[i];
          },
        });
      });
      return o;
    }
  }
}

/** An object spec, or sometimes a hostile non-object in its place. */
export const objectOr = (fields: Readonly<Record<string, fc.Arbitrary<Spec>>>, w = 6): fc.Arbitrary<Spec> =>
  fc.oneof({ weight: w, arbitrary: object(fields) }, { weight: 1, arbitrary: hostile });

/* ------------------------------------------------------------ arrays */

/**
 * An array of n holes. Made long first, then cut to n: V8 then keeps its
 * elements in a dictionary, where growing an empty array to n allocates
 * and fills n slots (24 ms for 2^20 + 1; a quarter of the fuzz run's CPU
 * went there). Nothing the kernel can see differs: the same length, every
 * index absent.
 */
function holes(n: number): unknown[] {
  const a: unknown[] = [];
  if (n > 4096) a.length = 2 ** 32 - 1;
  a.length = n;
  return a;
}

/**
 * An array of element specs: plain, sparse with a huge length, a Proxy
 * whose length lies, an array whose element getters re-enter the kernel,
 * or a hostile non-array.
 */
export function array(elem: fc.Arbitrary<Spec>, maxLen: number, limit: number): fc.Arbitrary<Spec> {
  const plain = fc.array(elem, { maxLength: maxLen }).map((es) =>
    spec(`[${es.map((e) => e.d).join(', ')}]`, (c) => es.map((e) => e.make(c))));
  const longs = [limit + 1, 2 ** 32 - 1, 100_000];
  const sparse = fc.constantFrom(...longs).map((n) => spec(`sparse[length ${n}]`, () => holes(n)));
  const lying = fc.tuple(fc.array(elem, { minLength: 1, maxLength: 3 }), fc.constantFrom(...longs, -1, NaN)).map(([es, n]) =>
    spec(`proxy[${es.map((e) => e.d).join(', ')}]/length->${n}`, (c) => {
      const a = es.map((e) => e.make(c));
      let reads = 0;
      return new Proxy(a, { get: (t, k) => (k === 'length' ? (reads++ === 0 ? t.length : n) : Reflect.get(t, k)) });
    }));
  const reent = fc.tuple(fc.array(elem, { minLength: 1, maxLength: 3 }), reentry).map(([es, ri]) =>
    spec(`[${es.map((e) => e.d).join(', ')}]/reenter ${REENTRY[ri]![0]}`, (c) => {
      const a: unknown[] = [];
      es.forEach((e, i) => {
        const v = e.make(c);
        let reads = 0;
        Object.defineProperty(a, i, { enumerable: true, get: () => { if (++reads === 2) doubleReads.push(`[${i}]`); reenter(ri, c); return v; } });
      });
      return a;
    }));
  // Revoked, or revoked by the read of its length (its elements then unreadable).
  const revoked = fc.tuple(fc.array(elem, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([es, atOnce]) =>
    spec(`revoked${atOnce ? '' : '-on-length'}[${es.map((e) => e.d).join(', ')}]`, (c) => {
      const r = Proxy.revocable(es.map((e) => e.make(c)), atOnce ? {} : { get: (t, k) => { if (k === 'length') r.revoke(); return Reflect.get(t, k); } });
      if (atOnce) r.revoke();
      return r.proxy;
    }));
  return fc.oneof({ weight: 8, arbitrary: plain }, { weight: 1, arbitrary: sparse }, { weight: 1, arbitrary: lying },
    { weight: 2, arbitrary: reent }, { weight: 1, arbitrary: revoked }, { weight: 1, arbitrary: hostile });
}

/* ------------------------------------------------------------ time */

const NS_FIELD = fc.oneof(int(0, 2_000_000), oneOfInts(0, 999_999_999, 1e9, -1), hostile);
const SEC_FIELD = fc.oneof(int(0, 1), oneOfInts(0, -1, 9_223_372_035, 9_223_372_036), hostile);

/** True when {tv_sec, tv_nsec} is a valid timespec longer than 2 ms (would really block). */
function longValid(s: unknown, ns: unknown): boolean {
  return typeof s === 'number' && typeof ns === 'number' && Number.isInteger(s) && Number.isInteger(ns) &&
    ns >= 0 && ns < 1e9 && s >= 0 && (s > 0 || ns > 2_000_000);
}
/** The value of a spec that does not depend on the thread (time fields). */
function peek(s: Spec): unknown { return s.make(undefined as unknown as Ctx); }

/**
 * Hostile values for a timeout argument, but for undefined and null: in a
 * timeout those mean "wait for ever" (a valid wait that would hold the LWP
 * until the run's hang watchdog fires), not bad input.
 */
export const hostileTimeout: fc.Arbitrary<Spec> =
  fc.oneof(hostileNumber, fc.constantFrom(...OTHERS.filter(([d]) => d !== 'undefined' && d !== 'null')).map(([d, f]) => spec(d, f)));

/** A relative timeout for a blocking call: zero, short, or invalid; never long and valid. */
export const timeout: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(lit('{0,0}', { tv_sec: 0, tv_nsec: 0 })) },
  { weight: 1, arbitrary: fc.constant(spec('{0,1ms}', () => ({ tv_sec: 0, tv_nsec: 1_000_000 }))) },
  {
    weight: 3,
    arbitrary: object({ tv_sec: SEC_FIELD, tv_nsec: NS_FIELD }, (v) => !longValid(v.tv_sec, v.tv_nsec)),
  },
  { weight: 1, arbitrary: hostileTimeout },
);

/** An absolute CLOCK_REALTIME time for lwp_park: past, now + <= 2 ms, or invalid. */
export const abstime: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(lit('{0,0} (past)', { tv_sec: 0, tv_nsec: 0 })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2_000_000 }).map((ns) => spec(`now+${ns}ns`, () => realtimePlus(ns))) },
  // Any integer tv_sec >= 1 would be a real future time (1970 + 1 s is past, but
  // 2^31 is 2038): only 0, negative or invalid seconds.
  { weight: 2, arbitrary: object({ tv_sec: fc.oneof(oneOfInts(-1, 0), hostile), tv_nsec: NS_FIELD },
    (v) => !(typeof v.tv_sec === 'number' && Number.isInteger(v.tv_sec) && v.tv_sec >= 1)) },
  { weight: 1, arbitrary: hostileNumber },
);
function realtimePlus(ns: number): sys.Timespec {
  const t = sys.clock_gettime(sys.CLOCK_REALTIME);
  const n = t.tv_nsec + ns;
  return { tv_sec: t.tv_sec + Math.floor(n / 1e9), tv_nsec: n % 1e9 };
}

/** A timespec for calls that do not block (timer values, clock_settime): anything. */
export const anyTimespec: fc.Arbitrary<Spec> = objectOr({
  tv_sec: fc.oneof(int(0, 3), oneOfInts(-1, 9_223_372_035, 9_223_372_036), hostile),
  tv_nsec: fc.oneof(int(0, 5_000_000), oneOfInts(999_999_999, 1e9, -1), hostile),
});
