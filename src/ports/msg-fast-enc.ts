/**
 * The fast message format's encoder (the format and its rules: msg-fast.ts):
 * one reusable scratch buffer per thread, a shape per key list seen twice
 * (its key block precomputed, its values read by a function compiled for
 * it), and placeholders for what the format does not cover (msg-fast.ts
 * "Each getter runs once"), which V8's serializer finishes.
 */
import { types } from 'node:util';
import { SHAPE_PROMOTE, type AnyTyped, FAST, K_BUFFER, K_DATAVIEW, T_ABSENT, T_ARRAYX, T_BACKREF, T_HELD, T_AB, T_ARRAY, T_ASCII, T_ASCII8, T_DATE, T_F64, T_FALSE, T_INT, T_MAP, T_NULL, T_OBJECT, T_SAB, T_SET, T_SHAPE, T_SHVIEW, T_TRUE, T_UNDEF, T_UTF16, T_VIEW, type TypedCtor, VIEWS, type ViewCtor, typed, typedName, VIEW_NAMES } from './msg-fast.js';

/** Thrown inside the encoder when the walk must stop: a value V8 refuses (refuse), or no SharedArrayBuffer ids. */
const GIVE_UP: unique symbol = Symbol('give up');

// --- encoding -------------------------------------------------------------------

let buf = new Uint8Array(64 * 1024);
let dv = new DataView(buf.buffer);
/** The scratch as words (a post copies a small message out word by word: fast_scratch_words). */
let buf32 = new Int32Array(buf.buffer);
/** Views of the scratch buffer by view kind (made when first needed, remade when it grows). */
let typedOut: (AnyTyped | undefined)[] = [];
let pos = 0;
/** Where the message being encoded starts in the scratch (a batch holds several back to back). */
let mstart = 0;

// Objects met so far in this value, numbered in the order met (T_BACKREF
// names them so): a short array scanned linearly (no identity hash to make
// for each fresh object, which a Map would), a Map past SEEN_LINEAR of them.
const SEEN_LINEAR = 32;
const seenArr: (object | undefined)[] = new Array<object | undefined>(SEEN_LINEAR).fill(undefined);
let nseen = 0;
const seenMap = new Map<object, number>();

/** Records an object and returns -1, or the number of its first sighting when met before (V8 keeps the identity). */
function mark(o: object): number {
  if (nseen < SEEN_LINEAR) {
    for (let i = 0; i < nseen; i++) if (seenArr[i] === o) return i;
    seenArr[nseen++] = o;
    return -1;
  }
  if (nseen === SEEN_LINEAR) for (let i = 0; i < SEEN_LINEAR; i++) seenMap.set(seenArr[i]!, i);
  const i = seenMap.get(o);
  if (i !== undefined) return i;
  seenMap.set(o, nseen++);
  return -1;
}

/** The objects met, in the order met. */
function marked(): object[] {
  return nseen > SEEN_LINEAR ? [...seenMap.keys()] : seenArr.slice(0, nseen) as object[];
}

function unmark(): void {
  for (let i = 0; i < nseen && i < SEEN_LINEAR; i++) seenArr[i] = undefined;
  if (nseen > SEEN_LINEAR) seenMap.clear();
  nseen = 0;
}

// --- placeholders (msg-fast.ts "Each getter runs once") ----------------------

/** Values kept by reference (T_HELD) in this walk. */
const held: unknown[] = [];
/** Whether this walk wrote a placeholder. */
let kept = false;
/** A value V8 refuses, met by this walk (which stopped there), or NONE. */
const NONE: unique symbol = Symbol('none');
let refused: unknown = NONE;

/** Keeps a value the format does not carry by reference, for V8's serializer. */
function hold(x: unknown): void {
  ensure(5); buf[pos++] = T_HELD; u32(held.length);
  held.push(x);
  kept = true;
}
/** Stops the walk at a value V8 refuses: V8 then refuses it, with its own error, and nothing after it is read (as in structured clone). */
function refuse(x: unknown): never {
  refused = x;
  throw GIVE_UP;
}
/** Whether key k is still o's (a getter read earlier may have deleted it); writes T_ABSENT when not. */
function present(o: object, k: string): boolean {
  if (Object.hasOwn(o, k)) return true;
  ensure(1); buf[pos++] = T_ABSENT;
  kept = true;
  return false;
}

/**
 * What a walk that needs V8's serializer left for it (fast_kept_take): the
 * value, and either the value V8 refuses that stopped it, or the walk's
 * record (scratch bytes [at, end), with its held values) and, when it held
 * any, the objects it met in order.
 */
export interface Kept { value: unknown; refused: unknown; at: number; end: number; held: unknown[]; walked: object[] }
let keptLast: Kept | undefined;
const NO_OBJECTS: object[] = [];
/**
 * What the last walk left for V8's serializer if it was of `v` (by
 * identity), else undefined; forgets it either way. Valid until the next
 * encode in this thread (the record is in the scratch).
 */
export function fast_kept_take(v: unknown): Kept | undefined {
  const k = keptLast;
  keptLast = undefined;
  return k !== undefined && k.value === v ? k : undefined;
}
/** Whether `k` was stopped by a value V8 refuses (then k.refused is it). */
export function fast_kept_refused(k: Kept): boolean { return k.refused !== NONE; }
/** The scratch's memory (what a Kept's at and end index). */
export function fast_scratch_memory(): ArrayBuffer { return buf.buffer as ArrayBuffer; }
let sabId: (sab: SharedArrayBuffer) => number = () => { throw GIVE_UP; };

function grow(n: number): void {
  let len = buf.length * 2;
  while (len < pos + n) len *= 2;
  const nb = new Uint8Array(len);
  nb.set(buf.subarray(0, pos));
  buf = nb;
  dv = new DataView(nb.buffer);
  buf32 = new Int32Array(nb.buffer);
  typedOut = [];
}

function ensure(n: number): void { if (pos + n > buf.length) grow(n); }

function u32(v: number): void { ensure(4); dv.setUint32(pos, v, true); pos += 4; }

/** Strings longer than this are checked and copied natively; shorter ones byte by byte in JS (no call into C++). */
const LONG = 32;

/** Buffer's own write methods (what write(s, off, enc) calls after its argument checks). */
interface FastWrites { latin1Write(s: string, off: number, len: number): number; ucs2Write(s: string, off: number, len: number): number }
let bufAsBuffer: Buffer | undefined, bufAsBufferOf: Uint8Array | undefined;
function out_buffer(): FastWrites {
  if (bufAsBufferOf !== buf) { bufAsBuffer = Buffer.from(buf.buffer, 0, buf.length); bufAsBufferOf = buf; }
  return bufAsBuffer as unknown as FastWrites;
}

function str(s: string): void {
  const n = s.length;
  ensure(6 + 2 * n);
  if (n <= LONG) {
    // Every code unit stored (a Uint8Array keeps its low byte) and or-ed
    // together, ASCII or not decided once at the end, with the scratch and
    // the position in locals (the module's variables are loaded again at
    // every store otherwise): ~18 ns for a word of 5 letters, ~26 before.
    const b = buf;
    let p = pos;
    b[p] = T_ASCII8; b[p + 1] = n; p += 2;
    let or = 0;
    for (let i = 0; i < n; i++) { const c = s.charCodeAt(i); or |= c; b[p++] = c; }
    if (or >= 0x80) { utf16(s, n); return; }
    pos = p;
    return;
  }
  if (Buffer.byteLength(s) === n) {
    // A long ASCII string (its UTF-8 length is its length): one native copy.
    buf[pos++] = T_ASCII;
    dv.setUint32(pos, n, true); pos += 4;
    pos += out_buffer().latin1Write(s, pos, n);
    return;
  }
  utf16(s, n);
}

/** A string that is not ASCII: UTF-16 code units (keeps lone surrogates, as structured clone does). */
function utf16(s: string, n: number): void {
  buf[pos++] = T_UTF16;
  dv.setUint32(pos, n, true); pos += 4;
  if (((pos - mstart) & 1) !== 0) buf[pos++] = 0;
  pos += out_buffer().ucs2Write(s, pos, 2 * n);
}

// The encoder's shapes: key lists seen before, found by their first key.
// A key list becomes a shape (its header encoded once, its values' writer
// compiled) the SHAPE_PROMOTE-th time it is seen; before, and past
// SHAPES_MAX key lists, or for lists too long or with `__proto__`, objects
// are written key by key (T_OBJECT). So objects of one-off key lists (a
// dictionary keyed by ids, say) cost no compiling, on either side.
/**
 * A key list: its keys, how often seen; once a shape, its header (T_SHAPE,
 * key count, block length, key block), the header again as little-endian
 * words (its last one padded with zeros: see plain_object) and its values'
 * writer.
 */
interface EncShape { keys: string[]; hits: number; indexed: boolean; head: Uint8Array | undefined; headWords: Int32Array | undefined; write: ((o: Record<string, unknown>, v: (x: unknown) => void, u: (o: object, k: string) => boolean) => void) | undefined }
const SHAPES_MAX = 1024;
/** Objects with more keys than this are written key by key (a literal per shape stays small). */
const SHAPE_KEYS_MAX = 64;
const encShapes = new Map<string, EncShape[]>();
let nEncShapes = 0;

const ASCII = /^[\x00-\x7f]*$/;
function is_ascii(k: string): boolean { return ASCII.test(k); }

function same_keys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

let lastShape: EncShape | undefined;

/** The shape of key list `keys`, or undefined while it is not one (see above). */
function enc_shape(keys: string[]): EncShape | undefined {
  if (lastShape !== undefined && same_keys(lastShape.keys, keys)) return lastShape;
  const sh = enc_shape_lookup(keys);
  if (sh === undefined || sh.head === undefined) return undefined;
  lastShape = sh;
  return sh;
}

function enc_shape_lookup(keys: string[]): EncShape | undefined {
  const list = encShapes.get(keys[0]!);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) {
      const sh = list[i]!;
      if (!same_keys(sh.keys, keys)) continue;
      if (sh.head === undefined && ++sh.hits >= SHAPE_PROMOTE) shape_make(sh);
      return sh;
    }
  }
  if (nEncShapes >= SHAPES_MAX || keys.length > SHAPE_KEYS_MAX || keys.includes('__proto__')) return undefined;
  // A key that is not ASCII is written as UTF-16 code units, padded to an
  // even offset from the message start (utf16): its key block's bytes depend
  // on where the block lands, so a header made at one offset and copied to
  // another was misread by a receiver that had not seen it (EIO, or other
  // keys). Such a key list is kept (found again at once) but never becomes a
  // shape: its hits stay -Infinity.
  const c0 = keys[0]!.charCodeAt(0);
  const sh: EncShape = { keys, hits: keys.every(is_ascii) ? 1 : -Infinity, indexed: c0 >= 0x30 && c0 <= 0x39, head: undefined, headWords: undefined, write: undefined };
  if (list === undefined) encShapes.set(keys[0]!, [sh]); else list.push(sh);
  nEncShapes++;
  return sh;
}

/** Makes key list sh a shape: its header encoded (at the end of the scratch, which it leaves as it was) and its writer. */
function shape_make(sh: EncShape): void {
  const at = pos, keys = sh.keys;
  ensure(9);
  buf[pos] = T_SHAPE;
  pos += 9;
  for (let i = 0; i < keys.length; i++) str(keys[i]!);
  dv.setUint32(at + 1, keys.length, true);
  dv.setUint32(at + 5, pos - at - 9, true);
  const head = sh.head = buf.slice(at, pos);
  const padded = new Uint8Array((head.length + 3) & ~3);
  padded.set(head);
  const pdv = new DataView(padded.buffer), words = sh.headWords = new Int32Array(padded.length >> 2);
  for (let i = 0; i < words.length; i++) words[i] = pdv.getInt32(4 * i, true);
  pos = at;
  sh.write = make_write(keys);
}

/**
 * The writer of a shape's values: a load of each key by name (a named load
 * site per key, which V8 caches for the objects' one hidden class, where a
 * loop's `o[keys[i]]` is one keyed site for every key of every shape). The
 * keys are JSON string literals.
 */
function make_write(keys: string[]): NonNullable<EncShape['write']> {
  const body = keys.map((k) => { const q = JSON.stringify(k); return `x = o[${q}]; if (x !== undefined || u(o, ${q})) v(x);`; }).join(' ');
  return new Function('o', 'v', 'u', `let x; ${body}`) as NonNullable<EncShape['write']>;
}

/*
 * A key that reads undefined: one a getter of an earlier value deleted is
 * T_ABSENT (structured clone leaves such a key out; the shape's header
 * names it: present()); an own undefined is sent.
 */

/** Headers up to this many words are copied word by word, longer ones by set(). */
const HEAD_WORDS_MAX = 64;

function plain_object(o: Record<string, unknown>): void {
  const keys = Object.keys(o);
  const n = keys.length;
  const sh = n === 0 ? undefined : enc_shape(keys);
  // An arguments object is refused by structured clone; its prototype is
  // Object.prototype and its keys are its indices, so it came here. Told
  // by a call into C++ only where it can be: on the path of key lists that
  // are no shape (an empty one included), and for shapes whose first key
  // starts with a digit (integer keys come first, so every arguments object
  // with an element has such a key list); the small object pays nothing.
  if ((sh === undefined || sh.indexed) && isArgumentsObject(o)) refuse(o);
  if (sh !== undefined) {
    const head = sh.head!, hl = head.length;
    if (hl <= HEAD_WORDS_MAX * 4) {
      // A word at a time through the DataView (unaligned stores are fine),
      // scratch and position in locals: a byte loop over the module's
      // variables cost ~2 ns a byte (~40 ns of a { id, name }), a call of
      // set() ~20 ns. The last word's padding lands past the header, where
      // the values go next (or nothing: bytes past the end are no part of
      // the message).
      ensure(hl + 3);
      const words = sh.headWords!, d = dv, p = pos;
      for (let i = 0; i < words.length; i++) d.setInt32(p + 4 * i, words[i]!, true);
    } else {
      ensure(hl);
      buf.set(head, pos);
    }
    pos += hl;
    sh.write!(o, value, present);
    return;
  }
  ensure(5);
  buf[pos++] = T_OBJECT;
  const at = pos;
  u32(n);
  let m = n;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const x = o[k];
    // A key a getter of an earlier value deleted is left out, as structured
    // clone leaves it out (V8 skips a key it no longer finds); the count is
    // then patched.
    if (x === undefined && !Object.hasOwn(o, k)) { m--; continue; }
    str(k);
    value(x);
  }
  if (m !== n) dv.setUint32(at, m, true);
}

const { isProxy, isArgumentsObject } = types;

function obj(o: object): void {
  const seen = mark(o);
  if (seen >= 0) { ensure(5); buf[pos++] = T_BACKREF; u32(seen); kept = true; return; }
  // A view first: ArrayBuffer.isView reads the object's internal slot, so a
  // Proxy is never one, and most messages' views need no other test.
  if (ArrayBuffer.isView(o)) { view(o); return; }
  // A Proxy is refused by structured clone (a DataCloneError, before any of
  // its traps runs), so V8's serializer gets it, before anything here
  // (Object.getPrototypeOf, Object.keys, a property read) runs a trap: sent
  // as the plain object or array its traps made it look like, a reactive
  // object (Vue's, MobX's) crossed where postMessage throws. No cheaper
  // test can tell (every reflective operation runs a trap, and Array.isArray
  // sees through a Proxy): a call into C++, ~25 ns, paid once per plain
  // object and array (measured with the small object: see the commit).
  if (isProxy(o)) refuse(o);
  if (Array.isArray(o)) { array(o); return; }
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto === Object.prototype || proto === null) { plain_object(o as Record<string, unknown>); return; }
  other(o, proto);
}

/**
 * An array: dense, with no other own enumerable property (T_ARRAY), or
 * with other properties too (T_ARRAYX); one with holes or of another
 * prototype is held for V8's serializer before any of its elements is read.
 * Object.values makes no string per index (Object.keys: ~110 ns for 8
 * elements, this ~80), and its values are the elements, so each getter
 * runs once, as in structured clone. (Read all at once, not one by one as
 * each is written: an accessor of the array's own that changes another
 * object of the value does so before the elements before it are written,
 * where structured clone writes them first. Arrays with accessors of their
 * own are rare; telling them would cost every array a key list.)
 */
function array(o: unknown[]): void {
  if (Object.getPrototypeOf(o) !== Array.prototype) { hold(o); return; }
  const n = o.length;
  for (let i = 0; i < n; i++) if (!(i in o)) { hold(o); return; }
  const vals = Object.values(o);
  if (vals.length === n) {
    ensure(5);
    buf[pos++] = T_ARRAY;
    u32(n);
    for (let i = 0; i < n; i++) value(vals[i]);
    return;
  }
  // Properties past the indices (Object.values lists them after the
  // elements, in the order Object.keys names them), or keys a getter of an
  // element added or deleted meanwhile: then V8's serializer reads it.
  const keys = Object.keys(o);
  if (keys.length !== vals.length || vals.length < n) { hold(o); return; }
  ensure(9);
  buf[pos++] = T_ARRAYX;
  u32(n); u32(vals.length - n);
  for (let i = 0; i < n; i++) value(vals[i]);
  for (let i = n; i < vals.length; i++) { str(keys[i]!); value(vals[i]); }
  kept = true;
}

/** Dates, Maps, Sets, (Shared)ArrayBuffers; anything else is held for V8's serializer. */
function other(o: object, proto: unknown): void {
  if (o instanceof Date && proto === Date.prototype) { ensure(9); buf[pos++] = T_DATE; dv.setFloat64(pos, o.getTime(), true); pos += 8; return; }
  // A Map's or Set's entries are copied before any is written: a getter of
  // a value (user code) may add or delete entries, and structured clone
  // sends them as they were (V8 copies them first); written as iterated,
  // the count no longer matched the entries (EIO, or an entry read as the
  // next value).
  if (o instanceof Map && proto === Map.prototype) {
    const kv: unknown[] = [];
    for (const [k, v] of o) kv.push(k, v);
    ensure(5); buf[pos++] = T_MAP; u32(kv.length >> 1);
    for (let i = 0; i < kv.length; i++) value(kv[i]);
    return;
  }
  if (o instanceof Set && proto === Set.prototype) {
    const vs = Array.from(o);
    ensure(5); buf[pos++] = T_SET; u32(vs.length);
    for (let i = 0; i < vs.length; i++) value(vs[i]);
    return;
  }
  if (o instanceof SharedArrayBuffer && proto === SharedArrayBuffer.prototype) { ensure(1); buf[pos++] = T_SAB; u32(sabId(o)); return; }
  if (o instanceof ArrayBuffer && proto === ArrayBuffer.prototype) {
    const n = o.byteLength;
    if (n === 0) { hold(o); return; } // empty, or detached: V8's serializer refuses a detached one (a DataCloneError)
    ensure(5 + n); buf[pos++] = T_AB; u32(n);
    buf.set(new Uint8Array(o), pos); pos += n;
    return;
  }
  hold(o);
}


/** A view's kind (an index of VIEWS), or -1 for one V8's serializer must have. */
function view_kind(v: ArrayBufferView): number {
  const c = v.constructor;
  // The common kinds first (no scan of the list).
  const k = c === Float64Array ? 8 : c === Uint8Array ? 1 : c === Int32Array ? 5 : VIEWS.indexOf(c as ViewCtor);
  if (k < 0 || Object.getPrototypeOf(v) !== (c as { prototype: object }).prototype) return -1;
  // The prototype names a kind; the view's own must be that one: a
  // Uint8Array given Float64Array.prototype (Object.setPrototypeOf) was
  // written as 8 bytes of one double, where structured clone gives back a
  // Uint8Array of 8 (and a view given DataView.prototype made the encoder
  // throw). V8's serializer has them.
  return typedName.call(v) === VIEW_NAMES[k] ? k : -1;
}

/** Bytes per element of each view kind (VIEWS' order; a constant array, no load from a constructor). */
const VIEW_BPE = VIEWS.map((c) => (c === DataView ? 1 : (c as TypedCtor).BYTES_PER_ELEMENT));

/** A DataView's length; 0 for one over a detached buffer (its getter throws a TypeError there, where structured clone's error is a DataCloneError). */
function dataview_length(v: ArrayBufferView): number {
  try { return v.byteLength; } catch { return 0; }
}

function view(v: ArrayBufferView): void {
  const k = view_kind(v);
  const n = k < 0 ? 0 : k === K_DATAVIEW ? dataview_length(v) : v.byteLength;
  if (n === 0) { hold(v); return; } // (an odd kind, empty, or over a detached buffer: see other())
  // (Reading .buffer makes V8 give a small on-heap typed array a backing
  // store of its own, ~200 ns; V8's serializer does the same. It is the only
  // way to tell a view over a SharedArrayBuffer, which is shared.)
  const ab = v.buffer;
  if (ab instanceof SharedArrayBuffer) {
    ensure(14); buf[pos++] = T_SHVIEW; buf[pos++] = k;
    u32(sabId(ab)); u32(v.byteOffset); u32(n);
    return;
  }
  ensure(14 + n);
  const b = buf;
  let p = pos;
  b[p] = T_VIEW; b[p + 1] = k;
  dv.setUint32(p + 2, n, true); p += 6;
  while (((p - mstart) & 7) !== 0) b[p++] = 0; // aligned from the message start (8-aligned in kernel memory) for a view in place on decode
  const bpe = VIEW_BPE[k]!;
  if (k !== K_DATAVIEW && k !== K_BUFFER && k !== 1 && p % bpe === 0) {
    // Same type to same type: a memcpy, no view of the source to make.
    let t = typedOut[k];
    if (t === undefined) t = typedOut[k] = typed(VIEWS[k] as TypedCtor, b.buffer);
    t.set(v as unknown as AnyTyped, p / bpe);
  } else {
    b.set(k === 1 ? v as Uint8Array : new Uint8Array(ab, v.byteOffset, n), p);
  }
  pos = p + n;
}

function value(v: unknown): void {
  switch (typeof v) {
    case 'number':
      ensure(9);
      if ((v | 0) === v && (v !== 0 || 1 / v > 0)) { buf[pos++] = T_INT; dv.setInt32(pos, v, true); pos += 4; } else { buf[pos++] = T_F64; dv.setFloat64(pos, v, true); pos += 8; }
      return;
    case 'string': str(v); return;
    case 'boolean': ensure(1); buf[pos++] = v ? T_TRUE : T_FALSE; return;
    case 'undefined': ensure(1); buf[pos++] = T_UNDEF; return;
    case 'object':
      if (v === null) { ensure(1); buf[pos++] = T_NULL; return; }
      obj(v);
      return;
    case 'bigint': hold(v); return;
    default: refuse(v); // symbol, function
  }
}

/**
 * Encodes `v` into this thread's scratch buffer and returns a view of it
 * (valid until the next call in this thread), or undefined when the value
 * needs V8's serializer. `id` names a SharedArrayBuffer for the receiver.
 */
let busy = false;

export function fast_encode(v: unknown, id: (sab: SharedArrayBuffer) => number): Uint8Array | undefined {
  const end = fast_encode_at(v, id, 0);
  return end < 0 ? undefined : buf.subarray(0, end);
}

/**
 * Encodes `v` into this thread's scratch at byte `at` (a batch: messages
 * back to back, each aligned from its own start) and returns where it ends,
 * or -1 when the value needs V8's serializer (the scratch from `at` on is
 * then garbage) or the scratch is in use (a getter of the value posting).
 * The scratch up to `at` is kept.
 */
export function fast_encode_at(v: unknown, id: (sab: SharedArrayBuffer) => number, at: number): number {
  if (busy) return -1;
  busy = true;
  pos = mstart = at;
  sabId = id;
  keptLast = undefined;
  try {
    ensure(1);
    buf[pos++] = FAST;
    value(v);
    if (kept) { keptLast = { value: v, refused: NONE, at, end: pos, held: held.slice(), walked: held.length > 0 ? marked() : NO_OBJECTS }; return -1; }
  } catch (e) {
    if (e !== GIVE_UP) throw e;
    if (refused !== NONE) keptLast = { value: v, refused, at, end: at, held: [], walked: NO_OBJECTS };
    return -1;
  } finally {
    unmark();
    if (kept) { held.length = 0; kept = false; }
    refused = NONE;
    busy = false;
  }
  return pos;
}

/** Zeros from `at` to the next multiple of 8 (a batch's next message starts aligned); returns that. */
export function fast_pad_at(at: number): number {
  pos = at;
  ensure(8);
  while ((pos & 7) !== 0) buf[pos++] = 0;
  return pos;
}

/** Copies bytes (a message V8's serializer made) into the scratch at byte `at`; returns where they end. */
export function fast_put_at(bytes: Uint8Array, at: number): number {
  pos = at;
  ensure(bytes.byteLength);
  buf.set(bytes, at);
  return at + bytes.byteLength;
}

/**
 * A string message that needs no scratch: longer than LONG and ASCII (its
 * UTF-8 length is its length, as str() decides). Its message is
 * {@link fast_ascii_bytes} bytes, written by {@link fast_ascii_put}.
 */
export function fast_is_long_ascii(s: string): boolean { return s.length > LONG && Buffer.byteLength(s) === s.length; } // (utf8, the default: no encoding name to look up)
export function fast_ascii_bytes(s: string): number { return s.length + 6; }
/** Writes the message of long ASCII string s (as fast_encode writes it) at byte `at` of `mem`. */
export function fast_ascii_put(mem: Buffer, at: number, s: string): void {
  const n = s.length;
  mem[at] = FAST;
  mem[at + 1] = T_ASCII;
  // The length byte by byte (writeUInt32LE checks its arguments first: a call per message).
  mem[at + 2] = n & 0xff; mem[at + 3] = (n >>> 8) & 0xff; mem[at + 4] = (n >>> 16) & 0xff; mem[at + 5] = n >>> 24;
  (mem as unknown as FastWrites).latin1Write(s, at + 6, n);
}

/** Bytes [0, end) of this thread's scratch (valid until its next use). */
export function fast_scratch(end: number): Uint8Array { return buf.subarray(0, end); }

/**
 * This thread's whole scratch as bytes and as words (valid until its next
 * use: a grow replaces it), for a post that copies a message out of it
 * without making a view of [0, end) first. Its length is a power of two
 * and at least 64 KiB, so a copy of whole words up to `end` stays inside.
 */
export function fast_scratch_bytes(): Uint8Array { return buf; }
export function fast_scratch_words(): Int32Array { return buf32; }

// --- decoding: from a private copy, or from kernel memory itself ---------------
