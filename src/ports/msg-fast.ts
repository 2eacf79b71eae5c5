/**
 * The fast path of message serialization: a compact format for the values
 * messages mostly are (plain objects and arrays, strings, numbers, booleans,
 * null/undefined, typed arrays, ArrayBuffers, Dates, Maps, Sets, and
 * SharedArrayBuffers and views over them, shared by id), written into one
 * reusable scratch buffer of this thread. Anything else (class instances,
 * RegExps, Errors, BigInts, boxed primitives, sparse arrays or arrays with
 * extra properties, an object met twice: cycles and shared references)
 * makes the fast path give up, and the whole value goes through V8's
 * serializer (msg-codec.ts), which has the structured clone algorithm's
 * exact semantics for all of them.
 *
 * Why not V8's serializer for everything: measured on this machine, building
 * a v8.Serializer costs ~4 us by itself (a C++ object with handles; it
 * cannot be reused, since its back-reference map is never reset), which is
 * the whole budget of a message that must beat postMessage five times over.
 * What this encoder writes is exactly what structured clone would keep: own
 * enumerable string keys of plain objects, in order; -0 and NaN; lone
 * surrogates (UTF-16 code units, never UTF-8 for strings that are not
 * ASCII).
 *
 * Where the time went, and why the format is the way it is (profiled, the
 * issue's small object `{ id, name, tags: [8 strings], values:
 * Float64Array(8) }`: CPU time ~1.6 us to encode and ~0.95 us to decode
 * before, ~1.0 us and ~0.45 us now; ~0.3 us of the encoding is V8 giving the
 * fresh Float64Array a backing store when its .buffer is read, the only way
 * to tell a view over a SharedArrayBuffer, which V8's serializer pays too):
 *  - Objects of one key list (a shape: a key list seen twice) are written as
 *    the shape's header and key block, copied from the encoder's shape
 *    cache, and their values, read by a function compiled for the shape; the
 *    decoder finds the key block in its own cache (a hash of its bytes,
 *    compared byte for byte) and builds the object with one object literal
 *    compiled for the shape (so V8 gives every object of the shape one
 *    hidden class at once, instead of a keyed store and a map transition per
 *    key). No state is shared between threads: every message carries its
 *    key blocks, a few bytes. Key lists seen once compile nothing.
 *  - Short ASCII strings are made by one String.fromCharCode call with the
 *    bytes as arguments (~18 ns for 10 characters; a loop of `+=` or a call
 *    into C++ is 60-100 ns); longer ones natively (latin1 / UTF-16).
 *  - Typed arrays are copied with TypedArray.prototype.set between views of
 *    their own type (a memcpy), 8-aligned from the message start (the
 *    payload is 8-aligned in kernel memory), without a view per message on
 *    the decoding side: the views of the kernel memory are made once.
 *  - Reads and writes of numbers go through one DataView of each buffer.
 *
 * Format: byte 0 is FAST (V8's output starts with 0xFF), then one value:
 * a tag byte and its data, little-endian.
 */
const FAST = 0x01;
const T_UNDEF = 0, T_NULL = 1, T_FALSE = 2, T_TRUE = 3, T_INT = 4, T_F64 = 5, T_ASCII = 6, T_UTF16 = 7,
  T_ARRAY = 8, T_OBJECT = 9, T_VIEW = 10, T_DATE = 11, T_MAP = 12, T_SET = 13, T_SAB = 14, T_SHVIEW = 15, T_AB = 16,
  T_SHAPE = 17, T_ASCII8 = 18;

const VIEWS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, DataView, Buffer, BigInt64Array, BigUint64Array] as const;
type ViewCtor = (typeof VIEWS)[number];
type TypedCtor = Exclude<ViewCtor, typeof DataView | typeof Buffer>;
/** What the codec does with a typed array of any kind (number or bigint elements alike). */
interface AnyTyped { set(src: AnyTyped, off?: number): void; subarray(a: number, b: number): AnyTyped }
function typed(ctor: TypedCtor, ab: ArrayBufferLike, off?: number, n?: number): AnyTyped {
  return new (ctor as typeof Uint8Array)(ab, off, n) as unknown as AnyTyped;
}
const K_DATAVIEW = 9, K_BUFFER = 10;

/** Thrown inside the encoder when the value needs V8's serializer. */
const GIVE_UP: unique symbol = Symbol('give up');

// --- encoding -------------------------------------------------------------------

let buf = new Uint8Array(64 * 1024);
let dv = new DataView(buf.buffer);
/** Views of the scratch buffer by view kind (made when first needed, remade when it grows). */
let typedOut: (AnyTyped | undefined)[] = [];
let pos = 0;
/** Where the message being encoded starts in the scratch (a batch holds several back to back). */
let mstart = 0;

// Objects met so far in this value: a short array scanned linearly (no
// identity hash to make for each fresh object, which a Set would), a Set past
// SEEN_LINEAR of them.
const SEEN_LINEAR = 32;
const seenArr: (object | undefined)[] = new Array<object | undefined>(SEEN_LINEAR).fill(undefined);
let nseen = 0;
const seenSet = new Set<object>();

/** Records an object; gives up on a second reference to one (V8 keeps the identity). */
function mark(o: object): void {
  if (nseen < SEEN_LINEAR) {
    for (let i = 0; i < nseen; i++) if (seenArr[i] === o) throw GIVE_UP;
    seenArr[nseen++] = o;
    return;
  }
  if (nseen === SEEN_LINEAR) for (let i = 0; i < SEEN_LINEAR; i++) seenSet.add(seenArr[i]!);
  if (seenSet.has(o)) throw GIVE_UP;
  seenSet.add(o);
  nseen++;
}

function unmark(): void {
  for (let i = 0; i < nseen && i < SEEN_LINEAR; i++) seenArr[i] = undefined;
  if (nseen > SEEN_LINEAR) seenSet.clear();
  nseen = 0;
}
let sabId: (sab: SharedArrayBuffer) => number = () => { throw GIVE_UP; };

function grow(n: number): void {
  let len = buf.length * 2;
  while (len < pos + n) len *= 2;
  const nb = new Uint8Array(len);
  nb.set(buf.subarray(0, pos));
  buf = nb;
  dv = new DataView(nb.buffer);
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
    const start = pos;
    buf[pos++] = T_ASCII8;
    buf[pos++] = n;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) { pos = start; utf16(s, n); return; }
      buf[pos + i] = c;
    }
    pos += n;
    return;
  }
  if (Buffer.byteLength(s, 'utf8') === n) {
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
/** A key list: its keys, how often seen; once a shape, its header (T_SHAPE, key count, block length, key block) and its values' writer. */
interface EncShape { keys: string[]; hits: number; head: Uint8Array | undefined; write: ((o: Record<string, unknown>, v: (x: unknown) => void) => void) | undefined }
const SHAPES_MAX = 1024;
/** Sightings of a key list that make it a shape. */
const SHAPE_PROMOTE = 2;
/** Objects with more keys than this are written key by key (a literal per shape stays small). */
const SHAPE_KEYS_MAX = 64;
const encShapes = new Map<string, EncShape[]>();
let nEncShapes = 0;

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
  const sh: EncShape = { keys, hits: 1, head: undefined, write: undefined };
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
  sh.head = buf.slice(at, pos);
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
  const body = keys.map((k) => `v(o[${JSON.stringify(k)}]);`).join(' ');
  return new Function('o', 'v', body) as NonNullable<EncShape['write']>;
}

function plain_object(o: Record<string, unknown>): void {
  const keys = Object.keys(o);
  const n = keys.length;
  const sh = n === 0 ? undefined : enc_shape(keys);
  if (sh !== undefined) {
    const head = sh.head!, hl = head.length;
    ensure(hl);
    if (hl <= 64) for (let i = 0; i < hl; i++) buf[pos + i] = head[i]!; // (a call of set() costs more for a few bytes)
    else buf.set(head, pos);
    pos += hl;
    sh.write!(o, value);
    return;
  }
  ensure(5);
  buf[pos++] = T_OBJECT;
  u32(n);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    str(k);
    value(o[k]);
  }
}

function obj(o: object): void {
  mark(o);
  if (Array.isArray(o)) {
    if (Object.getPrototypeOf(o) !== Array.prototype) throw GIVE_UP;
    const n = o.length;
    // Dense, with no other own enumerable property, or V8's serializer:
    // exactly n values and every index present (a hole and an extra
    // property would make the count right). Object.values makes no string
    // per index (Object.keys: ~110 ns for 8 elements, this ~80), and its
    // values are the elements, so each getter runs once, as in structured
    // clone.
    const vals = Object.values(o);
    if (vals.length !== n) throw GIVE_UP;
    for (let i = 0; i < n; i++) if (!(i in o)) throw GIVE_UP;
    ensure(5);
    buf[pos++] = T_ARRAY;
    u32(n);
    for (let i = 0; i < n; i++) value(vals[i]);
    return;
  }
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto === Object.prototype || proto === null) { plain_object(o as Record<string, unknown>); return; }
  if (ArrayBuffer.isView(o)) { view(o); return; }
  other(o, proto);
}

/** Dates, Maps, Sets, (Shared)ArrayBuffers; anything else gives up. */
function other(o: object, proto: unknown): void {
  if (o instanceof Date && proto === Date.prototype) { ensure(9); buf[pos++] = T_DATE; dv.setFloat64(pos, o.getTime(), true); pos += 8; return; }
  if (o instanceof Map && proto === Map.prototype) {
    ensure(5); buf[pos++] = T_MAP; u32(o.size);
    for (const [k, v] of o) { value(k); value(v); }
    return;
  }
  if (o instanceof Set && proto === Set.prototype) {
    ensure(5); buf[pos++] = T_SET; u32(o.size);
    for (const v of o) value(v);
    return;
  }
  if (o instanceof SharedArrayBuffer && proto === SharedArrayBuffer.prototype) { ensure(1); buf[pos++] = T_SAB; u32(sabId(o)); return; }
  if (o instanceof ArrayBuffer && proto === ArrayBuffer.prototype) {
    const n = o.byteLength;
    ensure(5 + n); buf[pos++] = T_AB; u32(n);
    buf.set(new Uint8Array(o), pos); pos += n;
    return;
  }
  throw GIVE_UP;
}

function view_kind(v: ArrayBufferView): number {
  const c = v.constructor;
  // The common kinds first (no scan of the list).
  const k = c === Float64Array ? 8 : c === Uint8Array ? 1 : c === Int32Array ? 5 : VIEWS.indexOf(c as ViewCtor);
  if (k < 0 || Object.getPrototypeOf(v) !== (c as { prototype: object }).prototype) throw GIVE_UP;
  return k;
}

function view(v: ArrayBufferView): void {
  const k = view_kind(v);
  const n = v.byteLength;
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
  buf[pos++] = T_VIEW; buf[pos++] = k;
  dv.setUint32(pos, n, true); pos += 4;
  while (((pos - mstart) & 7) !== 0) buf[pos++] = 0; // aligned from the message start (8-aligned in kernel memory) for a view in place on decode
  if (k !== K_DATAVIEW && k !== K_BUFFER && k !== 1 && pos % (VIEWS[k] as TypedCtor).BYTES_PER_ELEMENT === 0) {
    // Same type to same type: a memcpy, no view of the source to make.
    let t = typedOut[k];
    if (t === undefined) t = typedOut[k] = typed(VIEWS[k] as TypedCtor, buf.buffer);
    t.set(v as unknown as AnyTyped, pos / (VIEWS[k] as TypedCtor).BYTES_PER_ELEMENT);
  } else {
    buf.set(k === 1 ? v as Uint8Array : new Uint8Array(ab, v.byteOffset, n), pos);
  }
  pos += n;
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
    default: throw GIVE_UP; // bigint, symbol, function: V8 clones or refuses them
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
  try {
    ensure(1);
    buf[pos++] = FAST;
    value(v);
  } catch (e) {
    if (e === GIVE_UP) return -1;
    throw e;
  } finally {
    unmark();
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

/** Bytes [0, end) of this thread's scratch (valid until its next use). */
export function fast_scratch(end: number): Uint8Array { return buf.subarray(0, end); }

// --- decoding: from a private copy, or from kernel memory itself ---------------

/** The memory being read, as bytes and as a DataView (absolute offsets into its buffer). */
let d: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
let ddv: DataView<ArrayBufferLike> = new DataView(d.buffer);
let dbuf: Buffer = Buffer.alloc(0);
/** Views of the input's buffer by kind, made once per buffer (kernel memory: once). */
let typedIn: (AnyTyped | undefined)[] = [];
let dp = 0;
/** The end of the message being read: counts are checked against it (a forged count allocates nothing huge). */
let dend = 0;
/** Where it starts: alignment is counted from there, as the encoder counts it. */
let dstart = 0;
let inKernel = false;
let sabOf: (id: number) => SharedArrayBuffer = () => { throw new Error('no SharedArrayBuffer lookup'); };

/** Switches the decoder to the memory `ab` (a no-op when it reads it already). */
function use_memory(ab: ArrayBufferLike): void {
  if (d.buffer === ab) return;
  d = new Uint8Array(ab);
  ddv = new DataView(ab);
  dbuf = Buffer.from(ab);
  typedIn = [];
  inKernel = ab instanceof SharedArrayBuffer;
}

/** Buffer's own slice methods (what toString(encoding) calls after it has looked the encoding up). */
interface FastSlices { latin1Slice(start: number, end: number): string; ucs2Slice(start: number, end: number): string }

/** Bytes [at, at + n) of the input's memory as an ArrayBuffer of their own (never shared). */
function copy_out(at: number, n: number): ArrayBuffer {
  const ab = new ArrayBuffer(n);
  new Uint8Array(ab).set(d.subarray(at, at + n));
  return ab;
}

function ru32(): number { const v = ddv.getUint32(dp, true); dp += 4; return v; }

/** A count of items, each at least one byte: more than the bytes left is a forged message. */
function rcount(): number {
  const n = ru32();
  if (n > dend - dp) throw new Error(`count ${n} past the message end at ${dp - 4}`);
  return n;
}

/** A short ASCII string: one fromCharCode call with the bytes as arguments (no `+=` chain, no call into C++). */
function ascii_short(b: Uint8Array, a: number, n: number): string {
  const f = String.fromCharCode;
  switch (n) {
    case 0: return '';
    case 1: return f(b[a]!);
    case 2: return f(b[a]!, b[a + 1]!);
    case 3: return f(b[a]!, b[a + 1]!, b[a + 2]!);
    case 4: return f(b[a]!, b[a + 1]!, b[a + 2]!, b[a + 3]!);
    case 5: return f(b[a]!, b[a + 1]!, b[a + 2]!, b[a + 3]!, b[a + 4]!);
    case 6: return f(b[a]!, b[a + 1]!, b[a + 2]!, b[a + 3]!, b[a + 4]!, b[a + 5]!);
    case 7: return f(b[a]!, b[a + 1]!, b[a + 2]!, b[a + 3]!, b[a + 4]!, b[a + 5]!, b[a + 6]!);
    case 8: return f(b[a]!, b[a + 1]!, b[a + 2]!, b[a + 3]!, b[a + 4]!, b[a + 5]!, b[a + 6]!, b[a + 7]!);
    default: return f(b[a]!, b[a + 1]!, b[a + 2]!, b[a + 3]!, b[a + 4]!, b[a + 5]!, b[a + 6]!, b[a + 7]!) + ascii_short(b, a + 8, n - 8);
  }
}

/** ASCII strings up to this length are made in JS (a call into C++ costs more than a few bytes). */
const SHORT = 24;

function rstr(tag: number): string {
  if (tag === T_ASCII8) {
    const n = d[dp]!;
    const s = n <= SHORT ? ascii_short(d, dp + 1, n) : (dbuf as unknown as FastSlices).latin1Slice(dp + 1, dp + 1 + n);
    dp += 1 + n;
    return s;
  }
  const n = rcount();
  if (tag === T_ASCII) {
    const s = (dbuf as unknown as FastSlices).latin1Slice(dp, dp + n);
    dp += n;
    return s;
  }
  if (tag !== T_UTF16) throw new Error(`bad string tag ${tag} at ${dp - 5}`);
  if (((dp - dstart) & 1) !== 0) dp++;
  const s = (dbuf as unknown as FastSlices).ucs2Slice(dp, dp + 2 * n); dp += 2 * n;
  return s;
}

function rview(shared: boolean): ArrayBufferView {
  const k = d[dp++]!;
  const ctor = VIEWS[k] ?? Uint8Array;
  const per = (ctor as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (shared) {
    const sab = sabOf(ru32()); const off = ru32(), n = ru32();
    return ctor === Buffer ? Buffer.from(sab, off, n) : new (ctor as typeof Uint8Array)(sab, off, n / per);
  }
  const n = rcount();
  dp = dstart + ((dp - dstart + 7) & ~7);
  const at = dp;
  dp += n;
  // In place, as Node's v8.deserialize does, when reading a private copy aligned for it; from kernel memory, copied.
  if (!inKernel && at % per === 0) return ctor === Buffer ? Buffer.from(d.buffer, at, n) : new (ctor as typeof Uint8Array)(d.buffer, at, n / per);
  if (k !== K_BUFFER && k !== K_DATAVIEW && at % per === 0) {
    // A fresh array (small ones live on V8's heap: no backing store to allocate) filled from the input's view of its kind.
    const T = ctor as TypedCtor;
    let src = typedIn[k];
    if (src === undefined) src = typedIn[k] = typed(T, d.buffer, 0, Math.floor(d.byteLength / per));
    const t = new T(n / per);
    (t as unknown as AnyTyped).set(src.subarray(at / per, (at + n) / per));
    return t;
  }
  const ab = copy_out(at, n);
  return ctor === Buffer ? Buffer.from(ab) : new (ctor as typeof Uint8Array)(ab, 0, n / per);
}

// The decoder's shapes: key blocks seen before (a copy of their bytes, their
// keys) in a two-way table by a hash of the block (a collision replaces the
// less used entry). A block seen SHAPE_PROMOTE times gets a builder compiled
// (one object literal); before, its objects are built key by key.
type Build = (r: () => unknown) => Record<string, unknown>;
interface DecShape { n: number; bytes: Uint8Array; keys: string[]; hits: number; build: Build | undefined }
const DSHAPE_BITS = 11;
const decShapes: (DecShape | undefined)[] = new Array<DecShape | undefined>(1 << DSHAPE_BITS).fill(undefined);

function block_hash(at: number, len: number): number {
  let h = len;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ d[at + i]!, 0x9e3779b1);
  return h >>> (32 - DSHAPE_BITS);
}

function block_equal(sh: DecShape | undefined, n: number, at: number, len: number): sh is DecShape {
  if (sh === undefined || sh.n !== n || sh.bytes.length !== len) return false;
  const b = sh.bytes;
  for (let i = 0; i < len; i++) if (b[i] !== d[at + i]) return false;
  return true;
}

/**
 * The builder of an object with keys `keys`: one object literal, values in
 * key order (an object literal's values are evaluated left to right). The
 * keys are JSON string literals (valid JS string literals); `__proto__` is
 * never one (the encoder writes such objects key by key; a block with it is
 * refused).
 */
function make_build(keys: string[]): Build {
  const props = keys.map((k) => `${JSON.stringify(k)}: r()`).join(', ');
  return new Function('r', `return { ${props} };`) as Build;
}

/** The shape whose key block (n keys, bl bytes) starts at dp; dp past the block. */
function dec_shape(n: number, bl: number): DecShape {
  const at = dp, slot = block_hash(at, bl);
  let c = decShapes[slot];
  if (!block_equal(c, n, at, bl)) {
    c = decShapes[slot ^ 1];
    if (!block_equal(c, n, at, bl)) return dec_shape_new(n, bl, slot);
  }
  dp += bl;
  if (c.build === undefined && ++c.hits >= SHAPE_PROMOTE) c.build = make_build(c.keys);
  return c;
}

function dec_shape_new(n: number, bl: number, slot: number): DecShape {
  const at = dp;
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(rstr(d[dp++]!));
  if (dp !== at + bl) throw new Error(`bad key block at ${at}`);
  if (keys.includes('__proto__')) throw new Error(`a shape with __proto__ at ${at}`);
  const sh: DecShape = { n, bytes: d.slice(at, at + bl), keys, hits: 1, build: undefined };
  const a = decShapes[slot], b = decShapes[slot ^ 1];
  decShapes[a === undefined || (b !== undefined && a.hits <= b.hits) ? slot : slot ^ 1] = sh;
  return sh;
}

/** An object of shape sh: its compiled builder, or key by key. */
function shape_object(sh: DecShape): Record<string, unknown> {
  if (sh.build !== undefined) return sh.build(rvalue);
  const o: Record<string, unknown> = {};
  const keys = sh.keys;
  for (let i = 0; i < keys.length; i++) o[keys[i]!] = rvalue();
  return o;
}

function robject(): Record<string, unknown> {
  const n = rcount();
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = rstr(d[dp++]!);
    if (k === '__proto__') Object.defineProperty(o, k, { value: rvalue(), enumerable: true, writable: true, configurable: true });
    else o[k] = rvalue();
  }
  return o;
}

function rarray(): unknown[] {
  const n = rcount();
  const a = new Array<unknown>(n);
  for (let i = 0; i < n; i++) a[i] = rvalue();
  return a;
}

function rvalue(): unknown {
  const tag = d[dp++]!;
  switch (tag) {
    case T_UNDEF: return undefined;
    case T_NULL: return null;
    case T_FALSE: return false;
    case T_TRUE: return true;
    case T_INT: { const v = ddv.getInt32(dp, true); dp += 4; return v; }
    case T_F64: { const v = ddv.getFloat64(dp, true); dp += 8; return v; }
    case T_ASCII8: case T_ASCII: case T_UTF16: return rstr(tag);
    case T_SHAPE: { const n = rcount(), bl = rcount(); return shape_object(dec_shape(n, bl)); }
    case T_ARRAY: return rarray();
    case T_OBJECT: return robject();
    case T_VIEW: return rview(false);
    default: return rvalue_rare(tag);
  }
}

function rvalue_rare(tag: number): unknown {
  switch (tag) {
    case T_SHVIEW: return rview(true);
    case T_DATE: { const t = ddv.getFloat64(dp, true); dp += 8; return new Date(t); }
    case T_MAP: { const n = rcount(); const m = new Map<unknown, unknown>(); for (let i = 0; i < n; i++) { const k = rvalue(); m.set(k, rvalue()); } return m; }
    case T_SET: { const n = rcount(); const s = new Set<unknown>(); for (let i = 0; i < n; i++) s.add(rvalue()); return s; }
    case T_SAB: return sabOf(ru32());
    case T_AB: { const n = rcount(); const ab = copy_out(dp, n); dp += n; return ab; }
    default: throw new Error(`bad tag ${tag} at ${dp - 1}`);
  }
}

/**
 * Decodes fast-format bytes [off, off + len) of `mem`: a private copy or
 * kernel memory itself (then nothing of the result refers to it: strings and
 * typed arrays are copied). `sab` finds a SharedArrayBuffer by id. Reading
 * past the message is an error (a RangeError from the views, or a check).
 */
export function fast_decode_at(mem: ArrayBufferLike, off: number, len: number, sab: (id: number) => SharedArrayBuffer): unknown {
  use_memory(mem);
  dp = off + 1;
  dstart = off;
  dend = off + len;
  sabOf = sab;
  const v = rvalue();
  if (dp > off + len) throw new Error(`message overrun: read ${dp - off} of ${len} bytes`);
  return v;
}

/** Whether the message at byte `off` of `mem` is in the fast format (V8's starts with 0xFF). */
export function fast_is_at(mem: ArrayBufferLike, off: number): boolean {
  use_memory(mem);
  return d[off] === FAST;
}

/** {@link fast_decode_at} of a byte view. */
export function fast_decode(bytes: Uint8Array, sab: (id: number) => SharedArrayBuffer): unknown {
  return fast_decode_at(bytes.buffer, bytes.byteOffset, bytes.byteLength, sab);
}
