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
 * the whole budget of a message that must beat postMessage five times over;
 * this encoder costs a few hundred ns for the issue's small object. What it
 * writes is exactly what structured clone would keep: own enumerable string
 * keys of plain objects, in order; -0 and NaN; lone surrogates (UTF-16 code
 * units, never UTF-8 for strings that are not ASCII).
 *
 * Format: byte 0 is FAST (V8's output starts with 0xFF), then one value:
 * a tag byte and its data, little-endian, lengths as u32.
 */
const FAST = 0x01;
const T_UNDEF = 0, T_NULL = 1, T_FALSE = 2, T_TRUE = 3, T_INT = 4, T_F64 = 5, T_ASCII = 6, T_UTF16 = 7,
  T_ARRAY = 8, T_OBJECT = 9, T_VIEW = 10, T_DATE = 11, T_MAP = 12, T_SET = 13, T_SAB = 14, T_SHVIEW = 15, T_AB = 16;

const VIEWS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, DataView, Buffer, BigInt64Array, BigUint64Array] as const;
type ViewCtor = (typeof VIEWS)[number];

/** Thrown inside the encoder when the value needs V8's serializer. */
const GIVE_UP: unique symbol = Symbol('give up');

let buf = Buffer.allocUnsafeSlow(64 * 1024);
let pos = 0;
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

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  let len = buf.length * 2;
  while (len < pos + n) len *= 2;
  const nb = Buffer.allocUnsafeSlow(len);
  buf.copy(nb, 0, 0, pos);
  buf = nb;
}

function u32(v: number): void { ensure(4); buf.writeUInt32LE(v, pos); pos += 4; }

function str(s: string): void {
  const n = s.length;
  ensure(6 + 2 * n);
  if (n > LONG && Buffer.byteLength(s, 'utf8') === n) {
    // A long ASCII string (its UTF-8 length is its length): one native copy.
    buf[pos++] = T_ASCII;
    buf.writeUInt32LE(n, pos); pos += 4;
    pos += (buf as unknown as FastWrites).latin1Write(s, pos, n);
    return;
  }
  const start = pos;
  buf[pos++] = T_ASCII;
  buf.writeUInt32LE(n, pos); pos += 4;
  if (n <= LONG) {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) { pos = start; utf16(s, n); return; }
      buf[pos + i] = c;
    }
    pos += n;
    return;
  }
  pos = start;
  utf16(s, n);
}

/** A string that is not ASCII: UTF-16 code units (keeps lone surrogates, as structured clone does). */
function utf16(s: string, n: number): void {
  buf[pos++] = T_UTF16;
  buf.writeUInt32LE(n, pos); pos += 4;
  if ((pos & 1) !== 0) buf[pos++] = 0;
  pos += buf.write(s, pos, 'utf16le');
}

/** Strings longer than this are checked and copied natively; shorter ones byte by byte in JS (no call into C++). */
const LONG = 32;

/** Buffer's own write method for latin1 (what write(s, off, 'latin1') calls after its argument checks). */
interface FastWrites { latin1Write(s: string, off: number, len: number): number }

function obj(o: object): void {
  mark(o);
  if (Array.isArray(o)) {
    if (Object.getPrototypeOf(o) !== Array.prototype) throw GIVE_UP;
    const n = o.length;
    if (Object.keys(o).length !== n) throw GIVE_UP; // holes or extra properties
    ensure(5);
    buf[pos++] = T_ARRAY;
    u32(n);
    for (let i = 0; i < n; i++) value(o[i]);
    return;
  }
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto === Object.prototype || proto === null) {
    const keys = Object.keys(o);
    ensure(5);
    buf[pos++] = T_OBJECT;
    u32(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      str(k);
      value((o as Record<string, unknown>)[k]);
    }
    return;
  }
  if (ArrayBuffer.isView(o)) { view(o); return; }
  if (o instanceof Date && proto === Date.prototype) { ensure(9); buf[pos++] = T_DATE; buf.writeDoubleLE(o.getTime(), pos); pos += 8; return; }
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

function view(v: ArrayBufferView): void {
  const k = VIEWS.indexOf(v.constructor as ViewCtor);
  if (k < 0 || Object.getPrototypeOf(v) !== (v.constructor as { prototype: object }).prototype) throw GIVE_UP;
  const n = v.byteLength;
  if (v.buffer instanceof SharedArrayBuffer) {
    ensure(14); buf[pos++] = T_SHVIEW; buf[pos++] = k;
    u32(sabId(v.buffer)); u32(v.byteOffset); u32(n);
    return;
  }
  ensure(14 + n);
  buf[pos++] = T_VIEW; buf[pos++] = k;
  u32(n);
  while ((pos & 7) !== 0) buf[pos++] = 0; // aligned (from the message start) for a view in place on decode
  buf.set(new Uint8Array(v.buffer, v.byteOffset, n), pos);
  pos += n;
}

function value(v: unknown): void {
  switch (typeof v) {
    case 'number':
      ensure(9);
      if ((v | 0) === v && (v !== 0 || 1 / v > 0)) { buf[pos++] = T_INT; buf.writeInt32LE(v, pos); pos += 4; } else { buf[pos++] = T_F64; buf.writeDoubleLE(v, pos); pos += 8; }
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
  if (busy) return undefined; // a getter posting while its object is encoded: the scratch is in use
  busy = true;
  pos = 0;
  sabId = id;
  try {
    ensure(1);
    buf[pos++] = FAST;
    value(v);
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  } finally {
    unmark();
    busy = false;
  }
  return buf.subarray(0, pos);
}

/** Whether bytes are in the fast format. */
export function is_fast(b: Uint8Array): boolean { return b[0] === FAST; }

// --- decoding: from a private copy (never kernel memory) ---------------------

const EMPTY = Buffer.alloc(0);
let d: Buffer = EMPTY;
let dp = 0;
let sabOf: (id: number) => SharedArrayBuffer = () => { throw new Error('no SharedArrayBuffer lookup'); };

/** ASCII strings up to this length are made in JS (a call into C++ costs more than a few bytes). */
const SHORT = 16;

/** Buffer's own slice methods (what toString(encoding) calls after it has looked the encoding up). */
interface FastSlices { latin1Slice(start: number, end: number): string; ucs2Slice(start: number, end: number): string }

/** Bytes [at, at + n) of the input's memory as an ArrayBuffer of their own (never shared). */
function copy_out(at: number, n: number): ArrayBuffer {
  const ab = new ArrayBuffer(n);
  new Uint8Array(ab).set(new Uint8Array(d.buffer, at, n));
  return ab;
}

function ru32(): number { const v = d.readUInt32LE(dp); dp += 4; return v; }

// Short ASCII strings repeat (keys, tags): a table of the last string seen per
// hash of its bytes, checked byte by byte, saves making a string (an
// allocation per character, or a call into C++) for most of them.
const SCACHE_BITS = 12;
const scache: (string | undefined)[] = new Array<string | undefined>(1 << SCACHE_BITS).fill(undefined);

function short_ascii(at: number, n: number): string {
  const b = d;
  let h = n;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[at + i]!, 0x9e3779b1);
  const slot = (h >>> (32 - SCACHE_BITS));
  const c = scache[slot];
  if (c !== undefined && c.length === n) {
    let i = 0;
    while (i < n && c.charCodeAt(i) === b[at + i]) i++;
    if (i === n) return c;
  }
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[at + i]!);
  scache[slot] = s;
  return s;
}

function rstr(tag: number): string {
  const n = ru32();
  if (tag === T_ASCII) {
    const s = n <= SHORT ? short_ascii(dp, n) : (d as unknown as FastSlices).latin1Slice(dp, dp + n);
    dp += n;
    return s;
  }
  if ((dp & 1) !== 0) dp++;
  const s = (d as unknown as FastSlices).ucs2Slice(dp, dp + 2 * n); dp += 2 * n;
  return s;
}

function rview(shared: boolean): ArrayBufferView {
  const ctor = VIEWS[d[dp++]!] ?? Uint8Array;
  const per = (ctor as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (shared) {
    const sab = sabOf(ru32()); const off = ru32(), n = ru32();
    return ctor === Buffer ? Buffer.from(sab, off, n) : new (ctor as typeof Uint8Array)(sab, off, n / per);
  }
  const n = ru32();
  dp = (dp + 7) & ~7;
  const at = d.byteOffset + dp;
  dp += n;
  // In place, as Node's v8.deserialize does, when reading a private copy aligned for it; from kernel memory, copied.
  if (!inKernel && at % per === 0) return ctor === Buffer ? Buffer.from(d.buffer, at, n) : new (ctor as typeof Uint8Array)(d.buffer, at, n / per);
  if (ctor !== Buffer && ctor !== DataView && at % per === 0) {
    // A fresh array (small ones live on V8's heap: no backing store to allocate) filled from a view of the input.
    const T = ctor as typeof Uint8Array;
    const t = new T(n / per);
    t.set(new T(d.buffer, at, n / per));
    return t;
  }
  const ab = copy_out(at, n);
  return ctor === Buffer ? Buffer.from(ab) : new (ctor as typeof Uint8Array)(ab, 0, n / per);
}

function rvalue(): unknown {
  const tag = d[dp++]!;
  switch (tag) {
    case T_UNDEF: return undefined;
    case T_NULL: return null;
    case T_FALSE: return false;
    case T_TRUE: return true;
    case T_INT: { const v = d.readInt32LE(dp); dp += 4; return v; }
    case T_F64: { const v = d.readDoubleLE(dp); dp += 8; return v; }
    case T_ASCII: case T_UTF16: return rstr(tag);
    case T_ARRAY: {
      const n = ru32();
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) a[i] = rvalue();
      return a;
    }
    case T_OBJECT: {
      const n = ru32();
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = rstr(d[dp++]!);
        if (k === '__proto__') Object.defineProperty(o, k, { value: rvalue(), enumerable: true, writable: true, configurable: true });
        else o[k] = rvalue();
      }
      return o;
    }
    case T_VIEW: return rview(false);
    case T_SHVIEW: return rview(true);
    case T_DATE: { const t = d.readDoubleLE(dp); dp += 8; return new Date(t); }
    case T_MAP: { const n = ru32(); const m = new Map<unknown, unknown>(); for (let i = 0; i < n; i++) { const k = rvalue(); m.set(k, rvalue()); } return m; }
    case T_SET: { const n = ru32(); const s = new Set<unknown>(); for (let i = 0; i < n; i++) s.add(rvalue()); return s; }
    case T_SAB: return sabOf(ru32());
    case T_AB: { const n = ru32(); const ab = copy_out(d.byteOffset + dp, n); dp += n; return ab; }
    default: throw new Error(`bad tag ${tag} at ${dp - 1}`);
  }
}

let inKernel = false;

/**
 * Decodes fast-format bytes, a private copy or kernel memory itself (then
 * nothing of the result refers to it: strings and typed arrays are copied).
 * `sab` finds a SharedArrayBuffer by id.
 */
export function fast_decode(bytes: Uint8Array, sab: (id: number) => SharedArrayBuffer): unknown {
  d = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  inKernel = bytes.buffer instanceof SharedArrayBuffer;
  dp = 1;
  sabOf = sab;
  try {
    return rvalue();
  } finally {
    d = EMPTY;
  }
}
