/**
 * The fast message format's decoder (the format: msg-fast.ts): reads a
 * message straight from kernel memory (or a copy), builds objects of a
 * known key block with one compiled object literal (a two-way hash table of
 * decoder shapes), checks every count against the message end (forged bytes
 * give EIO in msg-sys.ts, never a read past the message).
 */
import { SHAPE_PROMOTE, type AnyTyped, FAST, K_BUFFER, K_DATAVIEW, T_ABSENT, T_ARRAYX, T_BACKREF, T_HELD, T_AB, T_ARRAY, T_ASCII, T_ASCII8, T_DATE, T_F64, T_FALSE, T_INT, T_MAP, T_NULL, T_OBJECT, T_SAB, T_SET, T_SHAPE, T_SHVIEW, T_TRUE, T_UNDEF, T_UTF16, T_VIEW, type TypedCtor, VIEWS, typed } from './msg-fast.js';


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

/** The memory `d` views (kept apart: a view's .buffer is a call each time). */
let dmem: ArrayBufferLike | undefined;

/** Switches the decoder to the memory `ab` (a no-op when it reads it already). */
function use_memory(ab: ArrayBufferLike): void {
  if (dmem === ab) return;
  dmem = ab;
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

/**
 * `n` more bytes from dp, or the message is forged or truncated: checked
 * before a read whose result acts (a string made, a SharedArrayBuffer looked
 * up, which may wait seconds for an id that names none), so that no value is
 * built from the bytes past the message (the memory past it is other
 * messages' in kernel memory); a number read past it is caught by the check
 * at the end.
 */
function need(n: number): void {
  if (dp + n > dend) throw new Error(`${n} bytes at ${dp} past the message end`);
}

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
    need(1);
    const n = d[dp]!;
    need(1 + n);
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
  need(2 * n);
  const s = (dbuf as unknown as FastSlices).ucs2Slice(dp, dp + 2 * n); dp += 2 * n;
  return s;
}

function rview(shared: boolean): ArrayBufferView {
  const k = d[dp++]!;
  const ctor = VIEWS[k] ?? Uint8Array;
  const per = (ctor as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (shared) {
    need(12);
    const sab = sabOf(ru32()); const off = ru32(), n = ru32();
    return ctor === Buffer ? Buffer.from(sab, off, n) : new (ctor as typeof Uint8Array)(sab, off, n / per);
  }
  const n = rcount();
  dp = dstart + ((dp - dstart + 7) & ~7);
  need(n);
  const at = dp;
  dp += n;
  // In place, as Node's v8.deserialize does, when reading a private copy aligned for it; from kernel memory, copied.
  if (!inKernel && at % per === 0) return ctor === Buffer ? Buffer.from(d.buffer, at, n) : new (ctor as typeof Uint8Array)(d.buffer, at, n / per);
  if (k !== K_BUFFER && k !== K_DATAVIEW && at % per === 0) {
    // A fresh array (small ones live on V8's heap: no backing store to allocate) filled from the input's view of its kind.
    const T = ctor as TypedCtor;
    let src = typedIn[k];
    if (src === undefined) src = typedIn[k] = typed(T, d.buffer, 0, Math.floor(d.byteLength / per));
    const cnt = n / per, t = new T(cnt);
    if (cnt <= COPY_ELEMS_MAX && k < K_DATAVIEW) {
      // A few elements one by one: no subarray made per message. Numbers
      // other than NaN survive a load and a store exactly (-0 and the
      // infinities too); a NaN may not keep its bits (a float32 one is
      // quieted on its way through a double), which structured clone keeps,
      // so an array holding one is copied by set() after all.
      const s = src as unknown as Float64Array, d0 = at / per, tt = t as unknown as Float64Array;
      let i = 0;
      for (; i < cnt; i++) { const x = s[d0 + i]!; if (x !== x) break; tt[i] = x; }
      if (i === cnt) return t;
    }
    (t as unknown as AnyTyped).set(src.subarray(at / per, (at + n) / per));
    return t;
  }
  const ab = copy_out(at, n);
  return ctor === Buffer ? Buffer.from(ab) : new (ctor as typeof Uint8Array)(ab, 0, n / per);
}

/** Typed arrays of numbers up to this many elements are copied element by element (rview). */
const COPY_ELEMS_MAX = 32;

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
  const at = dp;
  // The shape of the last message first: a stream of like messages compares
  // its key block once, with no hash of it.
  let c = lastShape;
  if (block_equal(c, n, at, bl) && c.build !== undefined) { dp += bl; return c; }
  const slot = block_hash(at, bl);
  c = decShapes[slot];
  if (!block_equal(c, n, at, bl)) {
    c = decShapes[slot ^ 1];
    if (!block_equal(c, n, at, bl)) return dec_shape_new(n, bl, slot);
  }
  dp += bl;
  if (c.build === undefined && ++c.hits >= SHAPE_PROMOTE) c.build = make_build(c.keys);
  lastShape = c;
  return c;
}
let lastShape: DecShape | undefined;

function dec_shape_new(n: number, bl: number, slot: number): DecShape {
  const at = dp;
  const keys: string[] = [];
  for (let i = 0; i < n; i++) { need(1); keys.push(rstr(d[dp++]!)); }
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
    need(1);
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
  if (dp >= dend) throw new Error(`a value at ${dp} past the message end`);
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
    case T_SAB: need(4); return sabOf(ru32());
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

// --- a walk's record, decoded in the thread that made it ------------------------

/*
 * The record of an encoder's walk that wrote placeholders (msg-fast.ts
 * "Each getter runs once"), read back into the copy V8's serializer then
 * walks: the values the walk read, the held values in their places, every
 * object of the walk once (T_BACKREF names the n-th object met, in the
 * encoder's marking order: each container is numbered before its contents,
 * so it is made empty and numbered first, then filled, and a cycle back to
 * it finds it), T_ABSENT keys left out. Views are copies (the scratch is
 * reused).
 */
let objs: unknown[] = [];
let heldVals: readonly unknown[] = [];

/** Numbers an object of the walk (held objects too: the encoder marked them; a held BigInt it did not). */
function numbered<T>(v: T): T {
  if (typeof v === 'object' && v !== null) objs.push(v);
  return v;
}

/** Sets o[k] to the next value, or leaves k out for T_ABSENT. */
function kput(o: Record<string, unknown>, k: string): void {
  need(1);
  if (d[dp] === T_ABSENT) { dp++; return; }
  const v = kvalue();
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function kvalue(): unknown {
  need(1);
  const tag = d[dp]!;
  switch (tag) {
    case T_SHAPE: {
      dp++;
      const n = rcount(), bl = rcount(), keys = dec_shape(n, bl).keys;
      const o = numbered({} as Record<string, unknown>);
      for (let i = 0; i < keys.length; i++) kput(o, keys[i]!);
      return o;
    }
    case T_OBJECT: {
      dp++;
      const n = rcount(), o = numbered({} as Record<string, unknown>);
      for (let i = 0; i < n; i++) { need(1); kput(o, rstr(d[dp++]!)); }
      return o;
    }
    case T_ARRAY: case T_ARRAYX: {
      dp++;
      const n = rcount(), m = tag === T_ARRAYX ? rcount() : 0, a = numbered(new Array<unknown>(n));
      for (let i = 0; i < n; i++) a[i] = kvalue();
      for (let i = 0; i < m; i++) { need(1); kput(a as unknown as Record<string, unknown>, rstr(d[dp++]!)); }
      return a;
    }
    case T_MAP: {
      dp++;
      const n = rcount(), m = numbered(new Map<unknown, unknown>());
      for (let i = 0; i < n; i++) { const k = kvalue(); m.set(k, kvalue()); }
      return m;
    }
    case T_SET: {
      dp++;
      const n = rcount(), s = numbered(new Set<unknown>());
      for (let i = 0; i < n; i++) s.add(kvalue());
      return s;
    }
    case T_HELD: {
      dp++; need(4);
      const i = ru32();
      if (i >= heldVals.length) throw new Error(`held value ${i} of ${heldVals.length}`);
      return numbered(heldVals[i]);
    }
    case T_BACKREF: {
      dp++; need(4);
      const i = ru32();
      if (i >= objs.length) throw new Error(`object ${i} of ${objs.length} met again`);
      return objs[i];
    }
    default: return numbered(rvalue()); // a primitive, or an object with nothing in it to number (a view, a Date, a buffer)
  }
}

/**
 * Decodes a walk's record, bytes [at, end) of `mem` (this thread's encoding
 * scratch), with its held values: the copy of the value that V8's
 * serializer walks (msg-codec.ts v8_subject).
 */
export function fast_decode_kept(mem: ArrayBufferLike, at: number, end: number, held: readonly unknown[], sab: (id: number) => SharedArrayBuffer): unknown {
  use_memory(mem);
  inKernel = true; // views copied: the scratch is written again by the next encode
  dp = at + 1;
  dstart = at;
  dend = end;
  sabOf = sab;
  objs = [];
  heldVals = held;
  try {
    const v = kvalue();
    if (dp !== end) throw new Error(`record overrun: read ${dp - at} of ${end - at} bytes`);
    return v;
  } finally {
    objs = [];
    heldVals = [];
    dmem = undefined; // (inKernel was forced: the next decode of this memory sets it again)
  }
}
