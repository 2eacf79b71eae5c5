/**
 * The fast path of message serialization: a compact format for the values
 * messages mostly are (plain objects and arrays, strings, numbers, booleans,
 * null/undefined, typed arrays, ArrayBuffers, Dates, Maps, Sets, and
 * SharedArrayBuffers and views over them, shared by id), written into one
 * reusable scratch buffer of this thread. Anything else (class instances,
 * RegExps, Errors, BigInts, boxed primitives, sparse arrays or arrays with
 * extra properties, an object met twice: cycles and shared references)
 * sends the whole value through V8's serializer (msg-codec.ts), which has
 * the structured clone algorithm's exact semantics for all of them; what
 * V8 refuses (functions, symbols, Proxies, arguments objects) is refused
 * at once, with V8's own error.
 *
 * Each getter runs once. The encoder walks the value once, as structured
 * clone does, reading every property it needs; a value it meets that the
 * format does not carry does not stop that walk (stopping, and letting V8
 * walk the whole value again, ran every getter read before it twice): it
 * writes a placeholder, local to this thread and never sent, and goes on:
 * T_HELD (the value itself, kept by reference, for V8 to serialize),
 * T_BACKREF (the n-th object of the walk met again, in the encoder's
 * marking order), T_ABSENT (a key of a shape that a getter read earlier
 * deleted: structured clone leaves it out) and T_ARRAYX (an array with
 * properties other than its indices). A walk that wrote any is decoded in
 * the same thread (msg-fast-dec.ts fast_decode_kept) into a copy made of
 * the values that walk read, the held values in their places, and that
 * copy is what V8's serializer walks: it holds no getter of the walked
 * part, so none runs again (msg-codec.ts v8_subject says when V8 walks
 * the original instead: no getter was read, or an identity needs it).
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
export const FAST = 0x01;
export const T_UNDEF = 0, T_NULL = 1, T_FALSE = 2, T_TRUE = 3, T_INT = 4, T_F64 = 5, T_ASCII = 6, T_UTF16 = 7,
  T_ARRAY = 8, T_OBJECT = 9, T_VIEW = 10, T_DATE = 11, T_MAP = 12, T_SET = 13, T_SAB = 14, T_SHVIEW = 15, T_AB = 16,
  T_SHAPE = 17, T_ASCII8 = 18;
/** The placeholders of a walk that V8's serializer finishes (above): in this thread's scratch only, never in a message. */
export const T_HELD = 19, T_BACKREF = 20, T_ABSENT = 21, T_ARRAYX = 22;

export const VIEWS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, DataView, Buffer, BigInt64Array, BigUint64Array] as const;
export type ViewCtor = (typeof VIEWS)[number];
export type TypedCtor = Exclude<ViewCtor, typeof DataView | typeof Buffer>;
/** What the codec does with a typed array of any kind (number or bigint elements alike). */
export interface AnyTyped { set(src: AnyTyped, off?: number): void; subarray(a: number, b: number): AnyTyped }
export function typed(ctor: TypedCtor, ab: ArrayBufferLike, off?: number, n?: number): AnyTyped {
  return new (ctor as typeof Uint8Array)(ab, off, n) as unknown as AnyTyped;
}
export const K_DATAVIEW = 9, K_BUFFER = 10;

/**
 * The getter of %TypedArray%.prototype[Symbol.toStringTag]: a typed array's
 * own kind (from its internal slot: 'Float64Array', ...), undefined for
 * anything else (a DataView). Neither it nor the getters below look at the
 * prototype, which a program may have changed (Object.setPrototypeOf): a
 * view's kind and memory are its internal slots', as structured clone
 * reads them.
 */
export const typedName = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype) as object, Symbol.toStringTag)!.get! as (this: unknown) => string | undefined;
/** The kind each view kind has inside (a Buffer is a Uint8Array; a DataView none). */
export const VIEW_NAMES = VIEWS.map((c) => (c === DataView ? undefined : c === Buffer ? 'Uint8Array' : c.name));
type Getter<T> = (this: unknown) => T;
const getter = <T>(proto: object, key: string): Getter<T> => Object.getOwnPropertyDescriptor(proto, key)!.get! as Getter<T>;
const TA = Object.getPrototypeOf(Int8Array.prototype) as object;
const taBuffer = getter<ArrayBufferLike>(TA, 'buffer'), taOffset = getter<number>(TA, 'byteOffset'), taLength = getter<number>(TA, 'byteLength');
const dvBuffer = getter<ArrayBufferLike>(DataView.prototype, 'buffer'), dvOffset = getter<number>(DataView.prototype, 'byteOffset'), dvLength = getter<number>(DataView.prototype, 'byteLength');
/** A view's kind (an index of VIEWS), buffer, offset and length, from its internal slots whatever its prototype. */
export function view_slots(v: ArrayBufferView): { kind: number; buffer: ArrayBufferLike; offset: number; length: number } {
  const name = typedName.call(v);
  if (name === undefined) return { kind: K_DATAVIEW, buffer: dvBuffer.call(v), offset: dvOffset.call(v), length: dvLength.call(v) };
  // A Buffer keeps its kind while it is one to its prototype too (as Node's serializer sends it).
  const kind = v instanceof Buffer ? K_BUFFER : VIEW_NAMES.indexOf(name);
  return { kind, buffer: taBuffer.call(v), offset: taOffset.call(v), length: taLength.call(v) };
}


/** Sightings of a key list that make it a shape. */
export const SHAPE_PROMOTE = 2;
