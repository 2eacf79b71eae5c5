/**
 * Batched posts (Port.postMany / postManySync) and the fast codec's edges:
 * a batch is one run of events in FIFO order with plain events; a batch
 * that finds room for part of it queues that part and awaits the rest; a
 * value that cannot be cloned or a message the arena can never hold queues
 * nothing; several producer LWPs posting batches of seeded sizes deliver
 * every message once and in order per producer, the arena drained to one
 * block. The codec: objects of many shapes (more than the encoder caches),
 * keys of every kind, and forged bytes (a sys-layer port_post of bytes that
 * are not a message) decode to the values or to EIO, never past the message.
 * Every wait here has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, Lwp, PORT_SOURCE_MSG, PORT_SOURCE_USER } from '../src/index.js';
import type { port_event_t } from '../src/ports/types.js';
import { port_post, msg_inbox_size } from '../src/ports/msg-sys.js';
import * as sys from '../src/sys/index.js';
import { assertArenaEmpty } from './msg-helpers.js';
import { msg_arena_size } from '../src/ports/msg-arena.js';
import { seed, rng, within } from './helpers.js';

const FIX = new URL('./fixtures/messages-batch.js', import.meta.url);


test('postManySync: one run in FIFO order with plain events, each message its own event; an empty batch queues nothing', () => {
  const port = new Port();
  port.sendSync(1, 100);
  assert.equal(port.postManySync([{ a: 1 }, 'two', [3], new Float64Array([4.5])]), 4);
  port.sendSync(1, 101);
  assert.equal(port.postManySync([]), 0);
  assert.equal(port.pending, 6);
  const evs = port.getnSync(10, 6, { timeout: 1000 });
  assert.deepEqual(evs.map((e) => e.portev_source), [PORT_SOURCE_USER, PORT_SOURCE_MSG, PORT_SOURCE_MSG, PORT_SOURCE_MSG, PORT_SOURCE_MSG, PORT_SOURCE_USER]);
  assert.deepEqual(evs.slice(1, 5).map((e) => e.message), [{ a: 1 }, 'two', [3], new Float64Array([4.5])]);
  assert.equal((evs[5] as port_event_t).portev_user, 101);
  port.close();
  assertArenaEmpty('after a batch');
});

test('a batch of values of every kind back to back (typed arrays after odd-length messages, V8-serialized ones between): each decodes', () => {
  const port = new Port();
  const batch: unknown[] = ['a', new Float64Array([1.5, -2]), 'abc', new Uint16Array([1, 2, 3]), 'é', new Map([[1, 2]]),
    new Float64Array([2.5]), /re/g, new Int32Array([7]), 'h\ud800', new BigInt64Array([5n]), { k: new Float32Array([0.5]) }];
  assert.equal(port.postManySync(batch), batch.length);
  for (let i = 0; i < batch.length; i++) assert.deepEqual(port.receiveSync({ timeout: 1000 }), batch[i], `value ${i}`);
  port.close();
  assertArenaEmpty('after the mixed batch');
});

test('a getter of a batched value that posts: its message goes first, the batch after it, intact', () => {
  const port = new Port();
  const tricky = { get x(): number { port.postSync({ inner: 'posted from a getter' }); return 1; }, y: 'after' };
  const viaV8 = new Map<string, unknown>([['m', { get z(): number { port.postSync([1, 2, 3]); return 2; } }]]);
  assert.equal(port.postManySync(['first', tricky, 'middle', viaV8, 'last']), 5);
  const got: unknown[] = [];
  while (port.pending > 0) got.push(port.receiveSync({ timeout: 1000 }));
  assert.deepEqual(got, [{ inner: 'posted from a getter' }, [1, 2, 3], 'first', { x: 1, y: 'after' }, 'middle', new Map([['m', { z: 2 }]]), 'last']);
  port.close();
  assertArenaEmpty('after the getters');
});

test('postMany: a batch larger than the arena queues what fits and awaits the rest; receivers free room; order kept', async () => {
  const port = new Port();
  const big = (i: number): { i: number; s: string } => ({ i, s: 'b'.repeat(msg_arena_size() / 4 - 4096) }); // a quarter-arena block each
  const batch = Array.from({ length: 10 }, (_, i) => big(i));
  assert.equal(port.postManySync(batch), 4, 'a full arena holds four');
  assert.throws(() => port.postManySync(batch.slice(4)), (e: { code?: string }) => e.code === 'EAGAIN');
  const sending = port.postMany(batch.slice(4));
  const got: number[] = [];
  await within((async () => {
    while (got.length < 10) got.push((await port.receive({ timeout: 10_000 }) as { i: number }).i);
  })(), 20_000, 'receiving the batch');
  await within(sending, 5000, 'the awaited rest');
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // timeout: the part that fits is queued, the rest is EAGAIN; the error says how many were
  await assert.rejects(port.postMany(batch.slice(0, 6), { timeout: 20 }), (e: { code?: string; posted?: number }) => e.code === 'EAGAIN' && e.posted === 4);
  assert.equal(port.pending, 4);
  // an abort while waiting for room: the same count; none fits: 0
  const ac = new AbortController();
  const aborted = port.postMany(batch.slice(0, 2), { signal: ac.signal });
  ac.abort();
  await assert.rejects(aborted, (e: { name?: string; posted?: number }) => e.name === 'AbortError' && e.posted === 0);
  await assert.rejects(port.postMany(batch.slice(0, 2), { timeout: 0 }), (e: { code?: string; posted?: number }) => e.code === 'EAGAIN' && e.posted === 0);
  assert.equal(port.pending, 4);
  assert.deepEqual([0, 1, 2, 3].map(() => (port.receiveSync({ timeout: 1000 }) as { i: number }).i), [0, 1, 2, 3]);
  const part = port.postMany(batch.slice(0, 6), { signal: AbortSignal.timeout(50) });
  await assert.rejects(part, (e: { posted?: number }) => e.posted === 4, 'an abort after part of the batch was queued');
  assert.equal(port.pending, 4);
  port.close();
  assertArenaEmpty('after the large batch');
});

test('a batch with a value that cannot be cloned, or a message the arena can never hold, queues nothing; bad arguments', async () => {
  const port = new Port();
  assert.throws(() => port.postManySync([{ a: 1 }, () => 2]), { name: 'DataCloneError' });
  await assert.rejects(port.postMany([1, Symbol('s')]), { name: 'DataCloneError' });
  assert.throws(() => port.postManySync([1, 'h'.repeat(msg_arena_size())]), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => port.postManySync('abc' as unknown as unknown[]), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(port.postMany([1], { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(port.postMany([1], { signal: ac.signal }), { name: 'AbortError' });
  assert.equal(port.pending, 0);
  assertArenaEmpty('after the refused batches');
  port.close();
  assert.throws(() => port.postManySync([1]), (e: { code?: string }) => e.code === 'EBADF');
  assertArenaEmpty('after a batch to a closed port');
});

test('seeded multi-producer stress with batches: 4 producer LWPs, batches of 1-40, exactly once, in order per producer, arena empty at the end', async () => {
  const s = seed();
  const r = rng(s);
  const P = 4, N = 4000;
  const port = new Port();
  const prods = Array.from({ length: P }, (_, p) => Lwp.create<number>({
    module: FIX, export: 'produceBatches',
    arg: { fd: port.fd, p, n: N, seed: Math.floor(r() * 2 ** 31) + 1, maxBatch: 40, maxPad: 2000 },
  }));
  const next = new Array<number>(P).fill(0);
  await within((async () => {
    for (let got = 0; got < P * N;) {
      const evs = await port.getn(1 + Math.floor(r() * 64), 1, { timeout: 30_000 });
      for (const ev of evs) {
        assert.equal(ev.portev_source, PORT_SOURCE_MSG);
        const v = ev.message as { p: number; i: number };
        assert.equal(v.i, next[v.p], `seed ${s}: producer ${v.p} sent ${v.i} where ${next[v.p]} was due`);
        next[v.p]!++;
        got++;
      }
      if (r() < 0.02) await new Promise((res) => setTimeout(res, 1)); // let the arena fill now and then
    }
  })(), 120_000, `seed ${s}: stress`);
  for (const p of prods) await within(p.wait(), 30_000, 'producer');
  assert.deepEqual(next, new Array(P).fill(N));
  assert.equal(port.pending, 0);
  port.close();
  assertArenaEmpty(`seed ${s}: after the batch stress`);
});

test('the codec: more shapes than the encoder caches, keys of every kind, nested shapes, round-trip in order', () => {
  const port = new Port();
  const values: unknown[] = [];
  for (let i = 0; i < 1500; i++) values.push({ [`k${i}`]: i, common: [i, { x: i, y: `v${i}` }] });
  values.push({ b: 1, a: 2 }, { a: 2, b: 1 }, { 2: 'two', 1: 'one', z: 0 }, { 'ключ': 1, '😀': [2], '': 3, 'a b': null });
  values.push({ outer: { inner: { leaf: new Int16Array([1, -2]) } }, list: [{ q: 1 }, { q: 2 }, { r: 3 }] });
  values.push(JSON.parse('{"x": 1, "__proto__": {"polluted": true}}') as unknown);
  values.push(Array.from({ length: 70 }, (_, i) => i).reduce<Record<string, number>>((o, i) => { o[`w${i}`] = i; return o; }, {}));
  for (let off = 0; off < values.length; off += 100) {
    assert.equal(port.postManySync(values.slice(off, off + 100)), Math.min(100, values.length - off));
    for (let i = off; i < Math.min(off + 100, values.length); i++) {
      const got = port.receiveSync({ timeout: 1000 });
      assert.deepEqual(got, values[i], `value ${i}`);
      assert.deepEqual(Object.keys(got as object), Object.keys(values[i] as object), `key order of value ${i}`);
    }
  }
  const proto = values[values.length - 2];
  port.postSync(proto);
  const back = port.receiveSync() as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype, 'an own __proto__ key stays a key');
  assert.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { polluted: true });
  port.close();
  assertArenaEmpty('after the shapes');
});

test('arrays as structured clone has them: a hole plus an extra property (the same count as a dense array), accessors read once', () => {
  const port = new Port();
  const holey = [1, , 3] as unknown[] & { x?: number }; // eslint-disable-line no-sparse-arrays
  holey.x = 5;
  let reads = 0;
  const acc: unknown[] = [1, 2];
  Object.defineProperty(acc, 1, { get() { reads++; return 'got'; }, enumerable: true });
  for (const v of [holey, acc]) { port.postSync(v); assert.deepEqual(port.receiveSync({ timeout: 1000 }), structuredClone(v)); }
  assert.equal(reads, 2, 'the accessor ran once per post (once more for structuredClone)');
  port.close();
  assertArenaEmpty('after the arrays');
});

test('typed arrays whose prototype names another kind (Object.setPrototypeOf): their own kind decides, as in structured clone, never a wrong value or a TypeError', () => {
  const port = new Port();
  // The fast encoder took the kind from the prototype: this one went as one double (Float64Array [1]).
  const u8AsF64 = new Uint8Array([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  Object.setPrototypeOf(u8AsF64, Float64Array.prototype);
  port.postSync(u8AsF64);
  assert.deepEqual(port.receiveSync({ timeout: 1000 }), structuredClone(u8AsF64));
  port.postManySync([u8AsF64, 'after']);
  assert.deepEqual(port.receiveSync({ timeout: 1000 }), new Uint8Array([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]));
  assert.equal(port.receiveSync({ timeout: 1000 }), 'after');
  // A DataView given a typed array's prototype and the other way round made
  // the fast encoder throw a TypeError from a getter of the wrong kind. V8's
  // serializer path refuses them (it reads .buffer through the prototype):
  // a DataCloneError, or the value structured clone gives.
  const dvAsU8 = new DataView(new Uint8Array([5, 6, 7, 8]).buffer);
  Object.setPrototypeOf(dvAsU8, Uint8Array.prototype);
  const u8AsDv = new Uint8Array([1, 2]);
  Object.setPrototypeOf(u8AsDv, DataView.prototype);
  for (const v of [dvAsU8, u8AsDv]) {
    let got: unknown;
    try { port.postSync(v); got = port.receiveSync({ timeout: 1000 }); } catch (e) { got = e; }
    if (got instanceof Error) assert.equal(got.name, 'DataCloneError', String(got));
    else assert.deepEqual(got, structuredClone(v));
  }
  port.close();
  assertArenaEmpty('after the views');
});

test('postSync and postManySync copy a message out of the encoding scratch whole words at a time up to 512 bytes, with set() past that, and writes a long ASCII string straight into its block: every length around the limit, odd lengths, after the scratch regrew', () => {
  const port = new Port();
  // { s } with s of n characters encodes as about n + 16 bytes: n 470..530 puts it on both sides of 512;
  // a bare string longer than 32 ASCII characters takes the path that skips the scratch.
  const lens = [0, 1, 2, 3, 4, 5, 7, 31, 32, 33, ...Array.from({ length: 61 }, (_, i) => 470 + i), 1000, 4093];
  const str = (n: number): string => String.fromCharCode(97 + (n % 26)).repeat(n);
  const vals = (n: number): unknown[] => [str(n), { s: str(n) }, 'é'.repeat(n), { n, s: str(n % 7) }];
  const run = (what: string): void => {
    for (const n of lens) for (const v of vals(n)) port.postSync(v);
    assert.equal(port.postManySync(lens.flatMap(vals)), 4 * lens.length); // the same as one batch: the batch's word copies
    for (const n of [...lens, ...lens]) {
      for (const v of vals(n)) assert.deepEqual(port.receiveSync({ timeout: 1000 }), v, `${what}: ${JSON.stringify(v).slice(0, 40)} (${n})`);
    }
    // A batch's last message is not padded: its length is any number of bytes.
    for (const n of lens) assert.equal(port.postManySync([{ s: str(n) }, { s: str(n + 1) }]), 2);
    for (const n of lens) for (const m of [n, n + 1]) assert.deepEqual(port.receiveSync({ timeout: 1000 }), { s: str(m) }, `${what}: batch of ${n}`);
  };
  run('first');
  port.postSync({ big: 'z'.repeat(200_000) }); // larger than the scratch: it grows (its word view with it)
  assert.equal((port.receiveSync({ timeout: 1000 }) as { big: string }).big.length, 200_000);
  run('after the scratch grew');
  port.close();
  assertArenaEmpty('after the copies');
});

test('small typed arrays of numbers decoded element by element keep every bit: NaN payloads (then set()), -0, infinities, integer extremes; longer ones too', () => {
  const port = new Port();
  const f64 = new Float64Array([1.5, -0, Infinity, -Infinity, 0, 2 ** -1074, NaN, 3]);
  new DataView(f64.buffer).setUint32(6 * 8, 0xdeadbeef, true); // a NaN with a payload of its own
  new DataView(f64.buffer).setUint32(6 * 8 + 4, 0x7ff80001, true);
  const f32 = new Float32Array([0.25, -0, NaN]);
  new DataView(f32.buffer).setUint32(2 * 4, 0x7f80beef, true); // a signaling NaN: a float32 load and store (through a double) would quiet it
  const vals: ArrayBufferView[] = [
    f64, f32, new Float64Array([-0, 1e308, -5e-324]),
    new Int8Array([-128, 127]), new Uint8ClampedArray([0, 255]), new Int16Array([-32768, 32767]), new Uint16Array([65535]),
    new Int32Array([-(2 ** 31), 2 ** 31 - 1]), new Uint32Array([2 ** 32 - 1, 0]), new Uint8Array([0, 1, 255]),
    new Float64Array(32).map((_, i) => i - 0.5), new Float64Array(33).map((_, i) => -i), new Int32Array(100).map((_, i) => i * 3),
  ];
  const bytes = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  for (const v of vals) {
    port.postSync({ v });
    const back = (port.receiveSync({ timeout: 1000 }) as { v: ArrayBufferView }).v;
    assert.equal(back.constructor, v.constructor);
    assert.ok(bytes(back).equals(bytes(v)), `${v.constructor.name}(${(v as Uint8Array).length}): ${bytes(back).toString('hex')} != ${bytes(v).toString('hex')}`);
  }
  port.close();
  assertArenaEmpty('after the typed arrays');
});

test('forged message bytes (a sys-layer port_post): EIO on receipt, nothing read past the message, kernel memory intact', () => {
  const port = new Port();
  const forged = [
    [1, 8, 0xff, 0xff, 0xff, 0x7f],          // an array of 2^31 elements in 6 bytes
    [1, 17, 1, 0, 0, 0, 200, 0, 0, 0, 18, 1, 97], // a shape whose key block runs past the end
    [1, 17, 2, 0, 0, 0, 3, 0, 0, 0, 18, 1, 97, 4, 0, 0, 0, 0], // a shape of 2 keys in a block of 1
    [1, 6, 0, 0, 0x10, 0],                    // a 1 MiB string in 6 bytes
    [1, 10, 8, 64, 0, 0, 0],                  // a Float64Array of 64 bytes, none there
    [1, 99],                                  // an unknown tag
    [1, 8, 2, 0, 0, 0, 4, 1, 0, 0, 0],        // an array of 2, 1 element there
  ];
  for (const f of forged) port_post(port.fd, new Uint8Array(f));
  for (const f of forged) {
    assert.throws(() => port.receiveSync({ timeout: 1000 }), (e: { code?: string }) => e.code === 'EIO', `forged ${JSON.stringify(f)}`);
  }
  port.postSync({ after: 'forged' });
  assert.deepEqual(port.receiveSync({ timeout: 1000 }), { after: 'forged' });
  port.close();
  assertArenaEmpty('after forged bytes');
});

test('messages(): a queued run is taken one event per step; an aborted signal ends a step that would not wait', async () => {
  const port = new Port();
  port.postManySync(Array.from({ length: 20 }, (_, i) => i));
  const seen: unknown[] = [];
  for await (const v of port.messages()) { seen.push(v); if (seen.length === 5) break; }
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  assert.equal(port.pending, 15, 'leaving the loop took nothing more');
  const ac = new AbortController();
  const it = port.messages({ signal: ac.signal });
  assert.deepEqual(await it.next(), { value: 5, done: false });
  ac.abort(new Error('stop'));
  await assert.rejects(it.next(), (e: Error) => e.name === 'AbortError');
  assert.equal(port.pending, 14);
  port.close();
  assertArenaEmpty('after messages()');
});

test('the inbox: messages taken by sys-layer gets and never picked up stay bounded by the arena size (oldest dropped); the class still receives', () => {
  const port = new Port();
  const before = msg_inbox_size();
  const big = (i: number): string => String(i).repeat(Math.floor(msg_arena_size() * 0.3)); // ~30 % of the arena each
  for (let round = 0; round < 3; round++) {
    port.postManySync([big(1), big(2)]);
    const evs = sys.port_getn(port.fd, 2, 2, { tv_sec: 1, tv_nsec: 0 });
    assert.equal(evs.length, 2);
    const now = msg_inbox_size();
    assert.ok(now.bytes - before.bytes <= msg_arena_size(), `round ${round}: the inbox holds ${now.bytes} B, more than the arena`);
  }
  assert.ok(msg_inbox_size().messages - before.messages <= 3, 'the oldest were dropped');
  port.postManySync([{ a: 1 }, { a: 2 }]);
  const first = port.getnSync(1, 1, { timeout: 1000 })[0]!; // taken: in the inbox behind the stale entries
  assert.deepEqual(first.message, { a: 1 });
  assert.deepEqual(port.receiveSync({ timeout: 1000 }), { a: 2 });
  port.close();
  assertArenaEmpty('after the unpicked messages');
});
