/**
 * Serialization of structured messages (Port.post / receive), chosen by
 * measurement: the fast encoder of msg-fast.ts for plain values, and V8's
 * value serializer (node:v8) for everything else. Measured (CPU ns per op,
 * this 2-CPU VM, the small object incl. ~600 ns to make it / a 1 KiB
 * string): v8.serialize 9100 / 2150, msgpackr's structured clone pack
 * 2800 / 560, msg-fast 2560 / 300; decode v8 2800 / 800, msgpackr 1800 /
 * 230, msg-fast 730 / 270. V8's is the structured clone algorithm itself
 * (Maps, Sets, Dates, RegExps, Errors, BigInts, typed arrays, cycles) and
 * built in, but a v8.Serializer costs ~4 us to build and cannot be reused;
 * msgpackr is as fast as msg-fast to encode but slower to decode, is a
 * dependency, and has no way to carry a SharedArrayBuffer by reference.
 *
 * SharedArrayBuffers are shared, not copied. A SAB cannot be reached from
 * shared memory by a number; each thread must be handed the object once.
 * Every thread that loads the class layer opens the BroadcastChannel
 * 'ukern:sab' (msg_channel_open); a sender gives each SAB a process-wide id (a kernel word),
 * posts `{ id, sab }` on the channel before it queues the message (again for
 * every message that carries it), and writes the id in the message. A
 * receiver looks the id up in its registry; an unknown id drains its
 * channel synchronously (receiveMessageOnPort accepts a BroadcastChannel on
 * Node 20) until it comes. Channel messages that arrive while the thread's
 * event loop runs are filed too (the channel is unref'd: it keeps no thread
 * alive), so the channel's queue does not grow in a thread that never
 * receives.
 *
 * A receiver whose channel was not open when the SAB was announced (its
 * worker was still starting: an LWP created just before or after the post,
 * in a process with no warm worker) asks for it: it posts `{ want: id }`
 * and waits on a kernel word (msg_sab_have_word) for up to SAB_WANT_MS,
 * draining its channel at each wake. Every thread that holds the SAB
 * announces it again when it sees the request, from its event loop or
 * while it drains its own channel, and moves the word. The LWP that
 * announced it (recorded in kernel memory with the id) is also nudged
 * (lwp_nudge): blocked in a synchronous kernel sleep (a waitSync, a
 * port_get), it answers from inside the sleep. A holder that waits outside
 * the kernel or runs JavaScript that never returns to its loop for the
 * whole wait cannot answer: the receive then fails with EIO, saying so.
 * The registry keeps the SAB_KEEP most recently announced or received SABs
 * (each an object holding a shared backing store).
 *
 * The wire trick. Node 20's v8.Deserializer cannot map a SAB id back to the
 * object (it has no GetSharedArrayBufferFromId), so the serializer, asked
 * for a SAB's id, first writes V8's host-object tag: V8 then writes its
 * SharedArrayBuffer tag ('u') and the id, which the deserializer reads as a
 * host object whose first varint is 0x75 ('u'). Back-references to the same
 * SAB resolve as usual (both sides count it as one object). Typed arrays
 * and DataViews over a SAB are host objects of our own tag (view type,
 * SAB id, offset, length): shared too. Other views are copied as
 * DefaultSerializer does, but deserialized into memory of their own (never
 * views of the input buffer, which Node's default does).
 */
import type * as V8 from 'node:v8';
import { types } from 'node:util';
import { v8_module, BroadcastChannel, receiveMessageOnPort } from '../kern/host.js';
import { msg_sab_id, msg_sab_have_word, msg_sab_holder_set, msg_sab_holder } from './msg-arena.js';
import { lwp_nudge } from '../lwp/kapi.js';
import { on_nudge } from '../kern/proc.js';
import { cur } from '../kern/hdr.js';
import { I32 } from '../kern/kmem.js';
import { SysError } from '../kern/errno.js';
import { fast_encode, fast_encode_at, fast_pad_at, fast_put_at, fast_scratch, fast_kept_take, fast_kept_refused, fast_scratch_memory } from './msg-fast-enc.js';
import { fast_decode_at, fast_decode_kept, fast_is_at } from './msg-fast-dec.js';
// VIEWS' order is Node's serializer's view tags (its arrayBufferViewTypeToIndex), which this format keeps.
import { VIEWS, view_slots } from './msg-fast.js';

const HOST_TAG = Buffer.from([0x5c]); // V8's kHostObject
const TAG_SAB = 0x75;                  // V8's kSharedArrayBuffer, read back as our host object's first varint
const TAG_SHARED_VIEW = 200;           // our own: a view over a SAB
const SAB_KEEP = 4096;
/** How long a receiver waits for a SharedArrayBuffer it asked for (ms). */
const SAB_WANT_MS = 2000;


// --- the SAB registry of this thread ---------------------------------------

const sentIds = new WeakMap<SharedArrayBuffer, number>();
const known = new Map<number, SharedArrayBuffer>();
let channel: BroadcastChannel | undefined;

interface SabNote { id: number; sab: SharedArrayBuffer }
function is_note(m: unknown): m is SabNote {
  return typeof m === 'object' && m !== null && typeof (m as SabNote).id === 'number' && (m as SabNote).sab instanceof SharedArrayBuffer;
}
interface SabWant { want: number }
function is_want(m: unknown): m is SabWant { return typeof m === 'object' && m !== null && typeof (m as SabWant).want === 'number'; }

/** A message of the channel: a SAB filed, or a request for one answered when this thread has it. */
function channel_message(m: unknown): void {
  if (is_note(m)) { file(m.id, m.sab); return; }
  if (!is_want(m)) return;
  const sab = known.get(m.want);
  if (sab === undefined) return;
  open().postMessage({ id: m.want, sab });
  Atomics.add(I32, msg_sab_have_word(), 1);
  Atomics.notify(I32, msg_sab_have_word());
}

function file(id: number, sab: SharedArrayBuffer): void {
  known.delete(id);
  known.set(id, sab);
  if (known.size > SAB_KEEP) known.delete(known.keys().next().value!);
}

/**
 * Opens this thread's channel. The class layer (port.ts) calls it at load,
 * so that every thread that may receive listens before anything is posted;
 * kernel-only threads (lwp0, the clock thread), which never run their event
 * loop for long, do not open one (their channel's queue would only grow).
 */
export function msg_channel_open(): BroadcastChannel { return open(); }

function open(): BroadcastChannel {
  if (channel !== undefined) return channel;
  const ch = new BroadcastChannel('ukern:sab');
  ch.onmessage = (ev: unknown): void => { channel_message((ev as { data: unknown }).data); };
  ch.unref();
  channel = ch;
  return ch;
}

/** The id of a SAB this thread sends, announced to every thread. */
function announce(sab: SharedArrayBuffer): number {
  let id = sentIds.get(sab);
  if (id === undefined) { id = msg_sab_id(); sentIds.set(sab, id); }
  msg_sab_holder_set(id, cur.lid);
  file(id, sab);
  open().postMessage({ id, sab });
  return id;
}

// Nudged by a receiver (lwp_nudge), in a sleep or at a syscall: answer the requests waiting on the channel.
on_nudge(() => { if (channel !== undefined) drain(0); }); // (id 0 names no SAB: answer, file, look for nothing)

/** Files (and answers) what this thread's channel holds now; the SAB of `id` if it came. */
function drain(id: number): SharedArrayBuffer | undefined {
  const ch = open();
  for (;;) {
    const m = receiveMessageOnPort(ch);
    if (m === undefined) return known.get(id);
    channel_message(m.message);
  }
}

/** The SAB of an id: this thread's registry, its channel, else asked for from the threads that hold it (see the header). */
function lookup(id: number): SharedArrayBuffer {
  let sab = known.get(id) ?? drain(id);
  if (sab !== undefined) return sab;
  const w = msg_sab_have_word(), end = performance.now() + SAB_WANT_MS;
  open().postMessage({ want: id });
  // Its announcer may be blocked in a kernel sleep, where its event loop cannot answer: nudged, it answers there.
  const holder = msg_sab_holder(id);
  if (holder !== 0 && holder !== cur.lid) lwp_nudge(holder);
  for (let left = SAB_WANT_MS; sab === undefined && left > 0; left = end - performance.now()) {
    const g = Atomics.load(I32, w);
    sab = drain(id);
    if (sab === undefined) Atomics.wait(I32, w, g, Math.min(left, 20));
  }
  if (sab === undefined) throw new SysError('EIO', 'port_receive', `SharedArrayBuffer #${id} of this message never reached this thread: no thread that holds it answered within ${SAB_WANT_MS} ms (each keeps the last ${SAB_KEEP})`);
  return sab;
}

// --- serializer ----------------------------------------------------------------

/**
 * The serializer classes, made at the first message V8's format carries
 * (node:v8 costs a fresh main thread ~1.5 ms to load: kern/host.ts).
 */
function make_codec() {
  const v8 = v8_module();
  /** Node's own host-object writer (typed arrays, Buffers, DataViews), not in @types/node. */
  const defaultWriteHost = (v8.DefaultSerializer.prototype as unknown as { _writeHostObject(this: V8.Serializer, o: object): void })._writeHostObject;

  class MsgSerializer extends v8.DefaultSerializer {
    _getSharedArrayBufferId(sab: SharedArrayBuffer): number {
      this.writeRawBytes(HOST_TAG);
      return announce(sab);
    }

    /**
     * A view (V8 hands every typed array and DataView here), read through
     * its internal slots (view_slots), not its constructor and prototype
     * getters as Node's writer does: a view whose prototype a program
     * changed (Object.setPrototypeOf) is one to structured clone, which
     * sends it as its own kind, where Node's writer threw "Unserializable
     * host object" (and the fast path, before it deferred to this, had sent
     * it as a plain object of its indices). The format is Node's (tag =
     * the view's kind, length, bytes), which the deserializer reads.
     */
    _writeHostObject(o: object): void {
      if (!ArrayBuffer.isView(o)) { defaultWriteHost.call(this, o); return; }
      const v = view_slots(o);
      if (v.buffer instanceof SharedArrayBuffer) {
        this.writeUint32(TAG_SHARED_VIEW);
        this.writeUint32(v.kind);
        this.writeUint32(announce(v.buffer));
        this.writeUint32(v.offset);
        this.writeUint32(v.length);
        return;
      }
      this.writeUint32(v.kind);
      this.writeUint32(v.length);
      this.writeRawBytes(new Uint8Array(v.buffer, v.offset, v.length));
    }
  }

  class MsgDeserializer extends v8.DefaultDeserializer {
    _readHostObject(): object {
      const tag = this.readUint32();
      if (tag === TAG_SAB) return lookup(this.readUint32());
      if (tag === TAG_SHARED_VIEW) {
        const ctor = VIEWS[this.readUint32()] ?? Uint8Array;
        const sab = lookup(this.readUint32());
        const off = this.readUint32(), len = this.readUint32();
        const per = (ctor as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
        return ctor === Buffer ? Buffer.from(sab, off, len) : new (ctor as typeof Uint8Array)(sab, off, len / per);
      }
      const ctor = VIEWS[tag];
      if (ctor === undefined) throw new SysError('EIO', 'port_receive', `message has an unknown host object (${tag})`);
      const len = this.readUint32();
      const bytes = this.readRawBytes(len);
      // A copy of its own: never a view of the input buffer.
      const mem = new ArrayBuffer(len);
      new Uint8Array(mem).set(new Uint8Array(bytes.buffer, bytes.byteOffset, len));
      if (ctor === Buffer) return Buffer.from(mem);
      const per = (ctor as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      return new (ctor as typeof Uint8Array)(mem, 0, len / per);
    }
  }
  return { MsgSerializer, MsgDeserializer };
}
let codec: ReturnType<typeof make_codec> | undefined;
const codec_classes = (): ReturnType<typeof make_codec> => (codec ??= make_codec());

/**
 * Serializes a value (throws DataCloneError-like errors for functions,
 * symbols and the like: an Error whose name is 'DataCloneError'): the fast
 * format when it can (msg-fast.ts), else V8's. The result may be this
 * thread's scratch buffer: valid until the next msg_encode in this thread
 * (copy it to keep it across an await).
 */
export function msg_encode(value: unknown): Uint8Array {
  // (While a batch is encoded, the scratch holds it: a getter of one of its values posting goes through V8's serializer.)
  const f = batchBusy ? undefined : fast_encode(value, announce);
  return f !== undefined ? f : v8_encode(value);
}

/**
 * Serializes a value for an immediate post: into this thread's fast-format
 * scratch (fast_scratch_bytes / fast_scratch_words, from byte 0), returning
 * the length there, or -1 when the value needs V8's serializer (then
 * {@link msg_encode_v8}; the scratch is garbage). The bytes are valid until
 * the next encode in this thread. (No view of the result is made: a typed
 * array made per message was a sixth of a small object's encoding.)
 */
export function msg_encode_fast(value: unknown): number {
  return batchBusy ? -1 : fast_encode_at(value, announce, 0);
}

/** V8's serialization of a value (what msg_encode falls back to; throws DataCloneError). */
export function msg_encode_v8(value: unknown): Uint8Array { return v8_encode(value); }

/** V8's serialization of a value (for what the fast format does not carry). */
function v8_encode(value: unknown): Uint8Array {
  const s = new (codec_classes().MsgSerializer)();
  s.writeHeader();
  try {
    s.writeValue(v8_subject(value));
  } catch (e) {
    throw data_clone_error(e);
  }
  return s.releaseBuffer();
}

/**
 * What V8's serializer walks for a value the fast encoder just walked and
 * left to it (msg-fast.ts "Each getter runs once"), so that no getter runs
 * twice:
 *  - the value V8 refuses that stopped the walk: V8 refuses it alone, with
 *    the error it gives it in place;
 *  - else the copy decoded from the walk's record, the held values in
 *    their places: what the walk read, as it read it (a getter may have
 *    changed or deleted itself, or another key, since: the copy is what
 *    structured clone would have sent).
 * But for one case: a held object (a class instance, an Error with a
 * cause) through whose own properties an object of the walk can be reached
 * (or that has getters of its own, which may return one). V8 would walk
 * that object as the original inside the held one and as its copy
 * elsewhere: two objects where structured clone keeps one. The original
 * value goes to V8 then, identities kept, and the getters the walk ran (if
 * any: {config, svc: new Service(config)} has none) run again: the one case
 * where a getter runs twice. (Whether the walk ran a getter cannot be told
 * afterwards: a getter may have deleted itself.)
 */
function v8_subject(value: unknown): unknown {
  const k = fast_kept_take(value);
  if (k === undefined) return value;
  if (fast_kept_refused(k)) return k.refused;
  if (k.held.length > 0) {
    const held = new Set(k.held);
    if (reaches(k.held, new Set(k.walked.filter((o) => !held.has(o))))) return value;
  }
  return fast_decode_kept(fast_scratch_memory(), k.at, k.end, k.held, lookup);
}

/**
 * Whether one of the objects in `from`, or one reached from them through
 * own data properties and Map and Set entries (no user code runs: no getter
 * is called, no Proxy asked), is in `copied`, or has an own getter (what it
 * returns is unknown until V8 calls it).
 */
function reaches(from: readonly unknown[], copied: Set<object>): boolean {
  const seen = new Set<object>(), stack = [...from];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== 'object' || x === null || seen.has(x)) continue;
    seen.add(x);
    if (copied.has(x)) return true;
    // A Proxy is refused by V8 before it reads anything; views and buffers hold no object.
    if (isProxy(x) || ArrayBuffer.isView(x) || isAnyArrayBuffer(x)) continue;
    if (isMap(x)) for (const [key, v] of Map.prototype.entries.call(x) as IterableIterator<[unknown, unknown]>) stack.push(key, v);
    else if (isSet(x)) for (const v of Set.prototype.values.call(x) as IterableIterator<unknown>) stack.push(v);
    for (const key of Reflect.ownKeys(x)) {
      const d = Object.getOwnPropertyDescriptor(x, key);
      if (d === undefined) continue;
      if (d.get !== undefined) return true;
      stack.push(d.value);
    }
  }
  return false;
}

const { isProxy, isMap, isSet, isAnyArrayBuffer } = types;

const batchEnds: number[] = [];
let batchBusy = false;

/**
 * Serializes a batch of values back to back into this thread's encoding
 * scratch (no copy per message: each value is encoded in place, aligned
 * from its own start): message i is bytes [ends[i - 1], ends[i]) (ends[-1]
 * = 0). Every value is encoded before anything is queued, so a value that
 * cannot be cloned throws before any of the batch is posted. The result is
 * valid until the next msg_encode or msg_encode_many in this thread (`ends`
 * too). A batch encoded while another is (a getter of a value posting) gets
 * buffers of its own.
 */
export function msg_encode_many(values: readonly unknown[]): { bytes: Uint8Array; ends: number[] } {
  if (batchBusy) return encode_many_private(values);
  batchBusy = true;
  try {
    let at = 0;
    batchEnds.length = 0;
    for (let i = 0; i < values.length; i++) {
      const end = fast_encode_at(values[i], announce, at);
      // A fast message ends padded to 8 (trailing bytes the decoder never reads), so that the next starts aligned.
      at = end >= 0 ? (i + 1 < values.length ? fast_pad_at(end) : end) : fast_put_at(v8_encode(values[i]), at);
      batchEnds.push(at);
    }
    return { bytes: fast_scratch(at), ends: batchEnds };
  } finally {
    batchBusy = false;
  }
}

function encode_many_private(values: readonly unknown[]): { bytes: Uint8Array; ends: number[] } {
  const parts = values.map((v) => Buffer.from(msg_encode(v))); // (msg_encode's result is a scratch: copied)
  const ends: number[] = [];
  let at = 0;
  for (const p of parts) { at += p.byteLength; ends.push(at); }
  return { bytes: Buffer.concat(parts), ends };
}

/** Deserializes a message's bytes (EIO for bytes that are not a message). */
export function msg_decode(bytes: Uint8Array): unknown { return msg_decode_at(bytes.buffer, bytes.byteOffset, bytes.byteLength); }

/**
 * Deserializes the message in bytes [off, off + len) of `mem` (kernel memory
 * itself, without a view made per message: nothing of the value refers to
 * it), EIO for bytes that are not a message.
 */
export function msg_decode_at(mem: ArrayBufferLike, off: number, len: number): unknown {
  if (len > 0 && fast_is_at(mem, off)) return fast_at(mem, off, len);
  // V8's format from kernel memory: a private copy first (its deserializer reads lazily from its input).
  const bytes = new Uint8Array(mem, off, len);
  const d = new (codec_classes().MsgDeserializer)(mem instanceof SharedArrayBuffer ? bytes.slice() : bytes);
  try {
    d.readHeader();
    return d.readValue();
  } catch (e) {
    if (e instanceof SysError) throw e;
    throw new SysError('EIO', 'port_receive', `message cannot be deserialized: ${(e as Error).message}`);
  }
}

function fast_at(mem: ArrayBufferLike, off: number, len: number): unknown {
  try { return fast_decode_at(mem, off, len, lookup); } catch (e) {
    if (e instanceof SysError) throw e;
    throw new SysError('EIO', 'port_receive', `message cannot be decoded: ${(e as Error).message}`);
  }
}

/**
 * The error of a value that cannot be cloned: what structuredClone and
 * postMessage throw, a DOMException named DataCloneError (code 25), with
 * V8's message (the serializer's own error, a plain Error, is its cause).
 */
function data_clone_error(e: unknown): Error {
  if (e instanceof DOMException && e.name === 'DataCloneError') return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new DOMException(msg, { name: 'DataCloneError', cause: e });
}
