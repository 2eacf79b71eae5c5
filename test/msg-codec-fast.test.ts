/**
 * The message codec against structuredClone, for values whose encoding the
 * fast format got wrong (found by reading msg-fast-enc.ts against V8's
 * serializer): a shape whose key block holds a non-ASCII key, copied where
 * its alignment padding no longer fits; a Map or Set that a getter of one of
 * its values changes while it is written; a key that a getter deletes before
 * it is read; a detached ArrayBuffer. Each is checked at the codec (what the receiver decodes from the
 * bytes a sender made) and, where the kernel path differs, through a port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port } from '../src/index.js';
import { msg_encode, msg_decode } from '../src/ports/msg-codec.js';

/** What a receiver decodes from a copy of the bytes msg_encode makes now (its result is a scratch). */
function roundtrip(v: unknown): unknown { return msg_decode(Uint8Array.from(msg_encode(v))); }

let uniq = 0;
/** A key list no decoder of this thread has seen (its shape cache is per thread and lives for the process). */
function fresh(base: string): string { return `${base}${uniq++}`; }

test('a shape with a non-ASCII key decodes wherever its key block lands (UTF-16 padding)', () => {
  for (const base of ['é', 'ключ', '✓', '\ud83d\ude80', 'a\ud800']) {
    const k = fresh(base), k2 = fresh('plain');
    const mk = (): Record<string, number> => ({ [k]: 1, [k2]: 2 });
    // Seen twice at the top level: a shape (its header made at byte 1 of that message).
    msg_encode(mk());
    msg_encode(mk());
    // The header copied into messages where it starts at other offsets; decoded by a receiver that never saw it.
    const vals: unknown[] = [[mk()], [0, mk()], { x: mk() }, { xy: 'z', w: mk() }, [true, mk()], mk()];
    for (const v of vals) assert.deepEqual(roundtrip(v), structuredClone(v), `${JSON.stringify(base)} in ${JSON.stringify(v)}`);
  }
});

test('a Map or Set changed by a getter of one of its values is sent as it was when the encoding began', () => {
  const mapDel = (): Map<string, unknown> => { const m = new Map<string, unknown>(); m.set('a', { get x() { m.delete('b'); return 1; } }); m.set('b', 2); m.set('c', 3); return m; };
  const mapAdd = (): Map<string, unknown> => { const m = new Map<string, unknown>(); m.set('a', { get x() { m.set('z', 9); return 1; } }); m.set('b', 2); return m; };
  const setDel = (): Set<unknown> => { const s = new Set<unknown>(); const b = [2]; s.add({ get x() { s.delete(b); return 1; } }); s.add(b); s.add('c'); return s; };
  const setAdd = (): Set<unknown> => { const s = new Set<unknown>(); s.add({ get x() { s.add('late'); return 1; } }); s.add('c'); return s; };
  for (const [what, mk] of [['Map delete', mapDel], ['Map add', mapAdd], ['Set delete', setDel], ['Set add', setAdd]] as const) {
    // Alone, and followed by another value (entries written past the count were read as that value).
    assert.deepEqual(roundtrip(mk()), structuredClone(mk()), what);
    assert.deepEqual(roundtrip([mk(), 'after']), structuredClone([mk(), 'after']), `${what}, then a value`);
  }
});

test('a key a getter deletes before it is read is left out, as structured clone leaves it out', () => {
  const k = fresh('gone');
  const mk = (proto: boolean): Record<string, unknown> => {
    const o: Record<string, unknown> = proto ? {} : Object.create(null) as Record<string, unknown>;
    Object.defineProperty(o, 'a', { enumerable: true, configurable: true, get() { delete o[k]; return 1; } });
    o[k] = 2;
    o.c = 3;
    return o;
  };
  // First sighting (written key by key), then as a shape, with and without a prototype.
  for (let i = 0; i < 3; i++) {
    for (const proto of [true, false]) {
      assert.deepEqual(roundtrip(mk(proto)), structuredClone(mk(proto)), `sighting ${i}, proto ${proto}`);
      assert.deepEqual(roundtrip([mk(proto), 'after']), structuredClone([mk(proto), 'after']), `sighting ${i}, proto ${proto}, nested`);
    }
  }
  // An own undefined is still sent as one.
  const u = { [fresh('u')]: undefined, b: 1 };
  assert.deepEqual(roundtrip(u), structuredClone(u));
  assert.ok(Object.hasOwn(roundtrip(u) as object, Object.keys(u)[0]!));
});

test('a detached ArrayBuffer, or a view of one, is a DataCloneError', () => {
  /** `mk`'s value over a buffer then detached (transferred away). */
  const detached = <T>(mk: (ab: ArrayBuffer) => T): T => { const ab = new ArrayBuffer(8); const v = mk(ab); structuredClone(ab, { transfer: [ab] }); return v; };
  for (const [what, v] of [['ArrayBuffer', detached((ab) => ab)], ['view', detached((ab) => new Uint8Array(ab, 2))], ['DataView', detached((ab) => new DataView(ab))]] as const) {
    assert.throws(() => structuredClone(v), { name: 'DataCloneError' }, `structuredClone of a detached ${what}`);
    assert.throws(() => msg_encode(v), { name: 'DataCloneError' }, `a detached ${what}`);
  }
  // Empty ones are not detached: sent as they are.
  assert.deepEqual(roundtrip(new ArrayBuffer(0)), new ArrayBuffer(0));
  assert.deepEqual(roundtrip(new Float64Array(0)), new Float64Array(0));
});

test('through a port: a Map changed mid-encode and a relocated non-ASCII shape arrive as structuredClone has them', () => {
  const port = new Port();
  try {
    const k = fresh('ü');
    msg_encode({ [k]: 1 });
    msg_encode({ [k]: 1 }); // a shape now, its header made at byte 1
    const m = new Map<string, unknown>();
    m.set('a', { get x() { m.delete('b'); return 1; } });
    m.set('b', 2);
    const want = structuredClone(m);
    const sent: unknown[] = [[{ [k]: 1 }], { [k]: 2 }];
    port.postSync(sent[0]);
    port.postSync(sent[1]);
    m.set('b', 2);
    port.postSync([m, 'after']);
    assert.deepEqual(port.receiveSync({ timeout: 1000 }), sent[0]);
    assert.deepEqual(port.receiveSync({ timeout: 1000 }), sent[1]);
    assert.deepEqual(port.receiveSync({ timeout: 1000 }), [want, 'after']);
  } finally {
    port.close();
  }
});

test('a truncated message is EIO, and nothing past its end is acted on (no SharedArrayBuffer looked up there)', () => {
  const v = { id: 7, s: 'short', l: 'x'.repeat(40), u: 'ünï', arr: [1, -0, 2.5, null, true], f: new Float64Array([1, 2]), d: new Date(5), m: new Map([[1, 'a']]), st: new Set(['b']), ab: new Uint8Array([1, 2, 3]).buffer, sab: new SharedArrayBuffer(8) };
  const whole = Uint8Array.from(msg_encode(v));
  assert.deepEqual(msg_decode(whole), structuredClone(v));
  for (let k = 1; k < whole.length; k++) {
    assert.throws(() => msg_decode(whole.subarray(0, k)), { code: 'EIO' }, `first ${k} of ${whole.length} bytes`);
  }
  // [ 'abc', <a SharedArrayBuffer id that names none> ], cut after 'abc': the id lies past the end.
  const forged = Uint8Array.from([0x01, 8, 2, 0, 0, 0, 18, 3, 97, 98, 99, 14, 0x39, 0x30, 0, 0x70]);
  assert.throws(() => msg_decode(forged.subarray(0, 11)), (e: Error & { code?: string }) => e.code === 'EIO' && !/SharedArrayBuffer/.test(e.message), 'looked past the end for a SharedArrayBuffer');
});
