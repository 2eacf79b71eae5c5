/**
 * Structured messages through a port, the kernel half (internal: not part
 * of the `ukern/sys` contract, which pins src/sys/index.ts; the Port class
 * is the API). A message is serialized bytes in a block of the message
 * arena (msg-arena.ts) plus an ordinary event slot on the port's queue,
 * so messages and `port_send` events keep one FIFO order.
 *
 * The slot is a source slot of PORT_SOURCE_MSG (a value outside the
 * contract's PORT_SOURCE_* range, so no C-style program mistakes it for one
 * of its own) with a delivery callback: `portev_object` is the block's key,
 * `portev_events` the payload's length, `portev_user` 0. The callback runs
 * in the getter's own take (take.ts), with no lock held: it decodes the
 * payload straight from kernel memory into this thread's inbox (no copy:
 * the decoder copies what it keeps) and frees the block, in the same
 * kernel call that took the event (the take's blocks go back to the arena
 * as one chain at its end: msg_take_end). A thread can still die between
 * the take and that end (a worker terminated, a thread that exits in a
 * delivery): from the take under the port lock until the chain is on the
 * arena's free stack, the blocks are named in the getter's LWP's in-flight
 * record (msg-arena.ts, as a poster's blocks are until their events are
 * published; a pass of a take detaches at most MSG_INFLIGHT_MAX messages,
 * a record's worth: take.ts take_passes), and the LWP's reaping frees
 * them (the exit hook below; kstat msg.reaped). Such a message is lost to
 * the program: it was taken, its event is off the port, and the value
 * decoded in the dead thread's inbox dies with it; nobody can receive it
 * now, but its memory comes back. The Port class then picks the value out
 * of the inbox by key. A
 * sys-layer program that takes a message event with port_get(n) sees it as
 * such an event; its value waits in the inbox, which keeps at most
 * what the arena holds, `msg_arena` bytes counted by block (oldest dropped).
 *
 * The event rides the poster's send lane of the port when it has one (or
 * can claim it: lane.ts), as port_send's events do: an entry of source
 * PORT_SOURCE_MSG (lane-locked.ts) with the block's key and length, pushed
 * with plain stores and no port lock, and no wake-up for a getter spinning
 * on the lane (ports/spin.ts prespin). Taken with the port's other lane
 * entries, it is delivered the same way, after the lock (take.ts,
 * take-general.ts); a close discards it and frees its block (the lane's
 * discard hook below). Only a post with no lane of its own (another thread
 * owns the port's lane, or the lane pool is empty) takes the port lock and
 * a slot. Why: with a slot per message the lock word, the port struct and a
 * futex wake-up of the getter, which slept every ~15 messages of a 1 -> 1
 * stream, were ~25 % of the producer's time (profiled), and a ping-pong's
 * getter could not spin on a lane (the regime that takes plain events'
 * round trip from ~15 us to ~2).
 *
 * The callback must exist in every thread that may take from a port, so this
 * module is loaded by ports/sys.ts (as close.ts is).
 */
import { I32, F64, SAB } from '../kern/kmem.js';
import { SysError, AbortError, without_stack } from '../kern/errno.js';
import { hold_scope_current, hold_in } from '../kern/keepalive.js';
import { sysenter } from '../kern/sysent.js';
import { fd_get, DTYPE_PORT } from '../kern/fdtab.js';
import { E, P, KF_CALLBACK, kev_set_object, kev_object } from './mem.js';
import { PORT_ALLOC_DEFAULT } from './consts.js';
import { port_enter, port_exit, slot_alloc_locked, enqueue_locked, port_readable_notify } from './queue.js';
import { port_source_register, type PortDelivery } from './source.js';
import { lane_push_source, lane_send_source_locked, lane_before_locked } from './lane.js';
import { lane_set_discard } from './lane-locked.js';
import {
  msg_alloc, msg_alloc_many, msg_block, msg_key, msg_free, msg_free_defer, msg_length, msg_payload_offset, msg_order, msg_block_bytes, msg_max_payload, msg_arena_size,
  kmem_buffer, msg_room_armed, msg_count_discarded, msg_room_word, msg_waiters_word,
  msg_inflight, msg_inflight_list, msg_inflight_reap, msg_free_unposted, msg_take_end, MSG_INFLIGHT_MAX, PORT_SOURCE_MSG,
} from './msg-arena.js';
import { on_lwp_exit } from '../kern/proc.js';
import { ArgRangeError } from '../kern/copyin.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { msg_decode_at, msg_encode_fast, msg_encode_v8 } from './msg-codec.js';
import { fast_scratch_bytes, fast_scratch_words, fast_is_long_ascii, fast_ascii_bytes, fast_ascii_put } from './msg-fast-enc.js';
import { wait_for_room, room_wait, type RoomOther, type SendWaitOptions } from './room.js';

/** portev_source of a message event (outside illumos' PORT_SOURCE_* values, 1..7; defined by msg-arena.ts). */
export { PORT_SOURCE_MSG };

/** Why a post could not be queued now: EAGAIN with this on the error. */
export type MsgFullReason = 'arena' | 'port';
/** A post's EAGAIN: which resource was full (the awaitable post waits on that one). */
export class MsgFullError extends SysError {
  constructor(readonly reason: MsgFullReason, syscall: string, detail: string) { super('EAGAIN', syscall, detail); }
}

/** A MsgFullError, a status (kern/errno.ts status_error): made without a stack trace. */
function msg_full(reason: MsgFullReason, syscall: string, detail: string): MsgFullError {
  return without_stack(() => new MsgFullError(reason, syscall, detail));
}

/**
 * Checks a payload size against the arena (before any lock): a message the
 * arena can never hold is a RangeError with code ERR_OUT_OF_RANGE, not
 * EAGAIN, since waiting can never make room for it. Returns its order.
 */
export function msg_size_check(len: number, syscall: string): number {
  const max = msg_max_payload();
  if (len > max) throw new ArgRangeError(syscall, `message of ${len} bytes serialized: the msg_arena boot option (${msg_arena_size()} bytes) holds at most ${max}`);
  return msg_order(len);
}

/**
 * Queues a message of `bytes` on port `fd` (one kernel call: a block, the
 * copy, one slot under the port lock). EAGAIN (a MsgFullError) when the
 * arena or the port is full; EBADF / EBADFD as port_send. The bytes are the
 * caller's own copy (serialized before the call), read after no lock.
 */
export function port_msg_send(fd: number, bytes: Uint8Array, syscall: string): void {
  sysenter();
  const len = bytes.byteLength;
  const b = msg_block_get(len, syscall);
  kmem_buffer().set(bytes, msg_payload_offset(b));
  msg_queue(fd, b, len, syscall);
}

/** Messages up to this many bytes are copied out of the scratch word by word (a call of set() and a view cost more). */
const COPY_WORDS_MAX = 512;

/** Copies `len` bytes from word `from` of `w` into block b's payload, whole words (both ends have room for the last). */
function copy_words(w: Int32Array, from: number, b: number, len: number): void {
  const m = I32, to = b + 2, n = (len + 3) >> 2;
  for (let i = 0; i < n; i++) m[to + i] = w[from + i]!;
}

/**
 * port_msg_send of the first `len` bytes of this thread's encoding scratch
 * (msg_encode_fast): copied straight into the block, with no view of them
 * made first.
 */
function port_msg_send_scratch(fd: number, len: number, syscall: string): void {
  sysenter();
  const b = msg_block_get(len, syscall);
  if (len <= COPY_WORDS_MAX) {
    // Whole words: the payload is 8-aligned in a block of at least len + 8
    // bytes rounded up to a power of two, and the scratch is longer than len
    // rounded up to a word (fast_scratch_words), so both ends stay inside.
    copy_words(fast_scratch_words(), 0, b, len);
  } else {
    kmem_buffer().set(fast_scratch_bytes().subarray(0, len), msg_payload_offset(b));
  }
  msg_queue(fd, b, len, syscall);
}

/**
 * port_msg_send of a long ASCII string (fast_is_long_ascii): its message is
 * written straight into its block, with no scratch and no second copy.
 */
function port_msg_send_ascii(fd: number, str: string, syscall: string): void {
  sysenter();
  const len = fast_ascii_bytes(str);
  const b = msg_block_get(len, syscall);
  fast_ascii_put(kmem_buffer(), msg_payload_offset(b), str);
  msg_queue(fd, b, len, syscall);
}

/** A block for a payload of `len` bytes (its length recorded): RangeError when the arena can never hold it, EAGAIN when full now. */
function msg_block_get(len: number, syscall: string): number {
  const order = msg_size_check(len, syscall);
  const b = msg_alloc(len, order);
  if (b === 0) throw msg_full('arena', syscall, `message arena full (${len} bytes wanted)`);
  return b;
}

/**
 * Queues block b (its payload written) as one message event on port `fd`;
 * frees it when that fails. Through this thread's send lane of the port
 * when it has one (lane.ts: an entry of source PORT_SOURCE_MSG, no port
 * lock, no wake-up of a getter that spins on the lane), else under the
 * port lock, claiming the port's lane if it is free, else as a slot. The
 * block's in-flight key (msg-arena.ts) is zeroed as the event is published:
 * by the lane's publishing store, or under the port lock.
 */
function msg_queue(fd: number, b: number, len: number, syscall: string): void {
  const key = msg_key(b), ki = msg_inflight();
  if (lane_push_source(fd, len, key, PORT_SOURCE_MSG, ki)) return;
  let h: number;
  try {
    lane_before_locked(fd);
    h = port_enter(fd, syscall);
  } catch (e) { msg_free_unposted(b, ki); throw e; }
  if (lane_send_source_locked(h, fd, len, key, PORT_SOURCE_MSG, ki)) return;
  let s: number;
  try {
    s = slot_alloc_locked(h, PORT_ALLOC_DEFAULT, PORT_SOURCE_MSG, syscall); // EAGAIN drops the lock
  } catch (e) {
    msg_free_unposted(b, ki);
    if (e instanceof SysError && e.code === 'EAGAIN') {
      // The slot's EAGAIN, of this syscall, already says what was full: its
      // message as it is (as the detail, it nested: "port_post: EAGAIN (port_post: EAGAIN (...))").
      const full = msg_full('port', syscall, '');
      full.message = e.message;
      throw full;
    }
    throw e;
  }
  I32[s + E.flags] = PORT_ALLOC_DEFAULT | KF_CALLBACK;
  I32[s + E.events] = len;
  kev_set_object(s, key);
  const tell = enqueue_locked(h, s);
  F64[ki] = 0; // published (under the lock: a thread that dies holding it panics the kernel)
  port_exit(h);
  if (tell) port_readable_notify(h);
}

// A batch's scratch: per message its order and block key (reused: no arrays per batch).
const bOrders: number[] = [], bKeys: number[] = [], bLens: number[] = [];

/**
 * Queues the messages of a batch on port `fd` in order, as one run of
 * events: message i is bytes [ends[i - 1], ends[i]) of `bytes` (ends[-1] =
 * 0). Blocks for all of them come from one hold of the arena lock, the slots
 * from one hold of the port lock (one wake-up of a getter, one readiness
 * notice), so a batch costs the kernel entries of one message. Queues as
 * many as there is room for, in order: returns how many (the caller posts
 * the rest later). EAGAIN (a MsgFullError) when not even the first fits;
 * a message the arena can never hold is a RangeError before anything is
 * queued; EBADF / EBADFD as port_send. The bytes are read after no lock.
 * The blocks' keys are in flight (msg-arena.ts) in this thread's record,
 * or, for a batch bigger than it holds, in a list block of the arena (when
 * the arena has none for it, only the record's worth is posted).
 */
export function port_msg_send_many(fd: number, bytes: Uint8Array, ends: readonly number[], syscall: string): number {
  sysenter();
  const n = ends.length;
  if (n === 0) return 0;
  for (let i = 0, at = 0; i < n; i++) {
    const len = ends[i]! - at;
    bLens[i] = len;
    bOrders[i] = msg_size_check(len, syscall);
    at = ends[i]!;
  }
  const rec = msg_inflight(), list = n > MSG_INFLIGHT_MAX ? msg_inflight_list(n) : 0;
  const ki = list !== 0 ? list : rec;
  const k = msg_alloc_many(bLens, bOrders, bKeys, 0, list !== 0 ? n : Math.min(n, MSG_INFLIGHT_MAX), ki);
  if (k === 0) {
    if (list !== 0) msg_free_unposted(list * 2 - 2, rec);
    throw msg_full('arena', syscall, `message arena full (${bLens[0]} bytes wanted)`);
  }
  const kb = kmem_buffer(), src = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The encoder's scratch (Port.postManySync): small messages that start on
  // a word, as fast-format ones do (padded to 8 but the last), are copied
  // whole words at a time, as port_msg_send_scratch does; the rest, and any
  // other bytes, with one copy() each.
  const words = bytes.byteOffset === 0 && bytes.buffer === fast_scratch_bytes().buffer ? fast_scratch_words() : undefined;
  for (let i = 0, at = 0; i < k; i++) {
    const b = msg_block(bKeys[i]!), len = ends[i]! - at;
    if (words !== undefined && len <= COPY_WORDS_MAX && (at & 3) === 0) {
      copy_words(words, at >> 2, b, len);
    } else {
      src.copy(kb, msg_payload_offset(b), at, ends[i]);
    }
    at = ends[i]!;
  }
  let q = 0;
  try {
    q = batch_enqueue(fd, k, ki, syscall);
  } finally {
    // No slot for them (or the port is gone): the caller posts them again.
    for (let i = q; i < k; i++) msg_free_unposted(msg_block(bKeys[i]!), ki + i);
    if (list !== 0) msg_free_unposted(list * 2 - 2, rec);
  }
  if (q === 0) throw msg_full('port', syscall, 'port full');
  return q;
}

/**
 * Queues the first k blocks of the batch scratch, one slot each, under one
 * hold of the port lock, zeroing their in-flight keys (at F64 index `ki` +
 * i) as they are queued; returns how many (fewer when the port filled up).
 * EBADF / EBADFD with none queued.
 */
function batch_enqueue(fd: number, k: number, ki: number, syscall: string): number {
  const h = port_enter(fd, syscall);
  let tell = false, i = 0;
  for (; i < k; i++) {
    let s: number;
    try {
      s = slot_alloc_locked(h, PORT_ALLOC_DEFAULT, PORT_SOURCE_MSG, syscall); // EAGAIN drops the lock
    } catch (e) {
      if (!(e instanceof SysError && e.code === 'EAGAIN')) throw e;
      if (tell) port_readable_notify(h);
      return i;
    }
    I32[s + E.flags] = PORT_ALLOC_DEFAULT | KF_CALLBACK;
    I32[s + E.events] = bLens[i]!;
    kev_set_object(s, bKeys[i]!);
    if (enqueue_locked(h, s)) tell = true;
    F64[ki + i] = 0; // published (under the lock: a thread that dies holding it panics the kernel)
  }
  port_exit(h);
  if (tell) port_readable_notify(h);
  return i;
}

// This thread's inbox: the values its takes decoded, in the order taken,
// until the class picks them up (by key: the head, as a rule, since the class
// picks a batch's messages in order). A FIFO of parallel arrays, not a Map:
// no hashing of the keys (doubles) and no record per message. Entries
// [ibHead, ibEnd) are live (key -1: picked up out of order); the arrays keep
// their length when the inbox empties (ibHead = ibEnd = 0): a length store
// would give V8 new backing stores to grow again at the next message, one
// allocation per array per message in a ping-pong. Bounded by the arena's
// size, each entry counting the bytes of the block it came in (64 at least),
// so it never holds more than the arena could at once (a sys-layer program
// that never picks them up loses the oldest, nothing else): counted by
// payload bytes, a stream of `null`s (2 bytes each) could leave ~2M entries
// for the default 4 MiB arena, some 30 bytes of arrays each plus its value,
// where the arena itself holds at most 64K such messages.
const ibKey: number[] = [], ibVal: unknown[] = [], ibErr: (Error | undefined)[] = [], ibSize: number[] = [];
let ibHead = 0, ibEnd = 0;
let inboxBytes = 0;

/** Empties slot i (key -1), holding nothing. */
function inbox_reset(i: number): void { ibKey[i] = -1; ibVal[i] = undefined; ibErr[i] = undefined; ibSize[i] = 0; }

/** Clears entry i (its key -1: taken). */
function inbox_clear(i: number): void {
  inboxBytes -= ibSize[i]!;
  inbox_reset(i);
}

/** Moves the head past taken entries; an empty inbox starts again at 0. */
function inbox_advance(): void {
  while (ibHead < ibEnd && ibKey[ibHead] === -1) ibHead++;
  if (ibHead === ibEnd) ibHead = ibEnd = 0;
}

function inbox_compact(): void {
  if (ibHead < 1024 || ibHead * 2 < ibEnd) return;
  const n = ibEnd - ibHead;
  ibKey.copyWithin(0, ibHead, ibEnd); ibVal.copyWithin(0, ibHead, ibEnd); ibErr.copyWithin(0, ibHead, ibEnd); ibSize.copyWithin(0, ibHead, ibEnd);
  for (let i = n; i < ibEnd; i++) inbox_reset(i);
  ibHead = 0; ibEnd = n;
}

function inbox_put(key: number, value: unknown, error: Error | undefined, size: number): void {
  if (ibEnd < ibKey.length) { ibKey[ibEnd] = key; ibVal[ibEnd] = value; ibErr[ibEnd] = error; ibSize[ibEnd] = size; }
  else { ibKey.push(key); ibVal.push(value); ibErr.push(error); ibSize.push(size); }
  ibEnd++;
  inboxBytes += size;
  while (inboxBytes > msg_arena_size() && ibEnd - ibHead > 1) {
    inbox_clear(ibHead);
    inbox_advance();
  }
  inbox_compact();
}

/**
 * Picks up the message with key `key` taken by this thread (once): puts its
 * value on `ev` as `message`, or the reason it could not be decoded as
 * `error` (the class layer's event, with no record made per message);
 * false when this thread's inbox does not hold it.
 */
export function msg_inbox_pick(key: number, ev: { message?: unknown; error?: Error }): boolean {
  let i = ibHead;
  while (i < ibEnd && ibKey[i] !== key) i++;
  if (i === ibEnd) return false;
  const err = ibErr[i];
  if (err !== undefined) ev.error = err; else ev.message = ibVal[i];
  inbox_clear(i);
  if (i === ibHead) inbox_advance();
  return true;
}

/** Messages waiting in this thread's inbox and the bytes they count (their blocks': tests). */
export function msg_inbox_size(): { messages: number; bytes: number } {
  let n = 0;
  for (let i = ibHead; i < ibEnd; i++) if (ibKey[i] !== -1) n++;
  return { messages: n, bytes: inboxBytes };
}

/**
 * The delivery callback (take.ts, no lock held): decodes the payload straight
 * from kernel memory (nothing of the value refers to it) and frees the block
 * (with the take's other blocks, at its end: the source's end callback).
 * Never throws: a value that cannot be decoded is kept as its error. A
 * message's slot is the source's own from post to take (nothing withdraws
 * it), so the take settles it without a compare-and-swap (owned); a lane
 * entry has no slot (d.slot 0), only the key.
 */
function msg_deliver(d: PortDelivery): boolean {
  const b = msg_block(d.object);
  if (b === 0) {
    process.emitWarning(`ukern: message event with a stale block key ${d.object} (not delivered twice)`);
    return true;
  }
  const len = msg_length(b);
  let value: unknown, error: Error | undefined;
  try {
    value = msg_decode_at(SAB, msg_payload_offset(b), len);
  } catch (e) {
    error = e instanceof Error ? e : new Error(String(e));
  }
  msg_free_defer(b); // the take's blocks go back as one chain at its end (msg_take_end)
  inbox_put(d.object, value, error, msg_block_bytes(len));
  return true;
}

port_source_register(PORT_SOURCE_MSG, { name: 'msg', owned: true, deliver: msg_deliver, end: msg_take_end });

// An LWP that exits, or whose worker died, in the middle of a post or of a
// take: the blocks it had allocated and not yet queued, or taken and not
// yet freed, go back (msg-arena.ts, the in-flight records).
on_lwp_exit((lid) => { msg_inflight_reap(lid); });

// A close discarding a lane's entries (lane-locked.ts) frees the blocks of its messages.
lane_set_discard((source, _len, key) => {
  if (source !== PORT_SOURCE_MSG) return;
  const b = msg_block(key);
  if (b !== 0) { msg_free(b); msg_count_discarded(); }
});

/** A close found queued slot s (port lock held): frees its message block if it is a message. Never throws. */
export function msg_close_slot(s: number): void {
  if (I32[s + E.source] !== PORT_SOURCE_MSG) return;
  const b = msg_block(kev_object(s));
  if (b !== 0) { msg_free(b); msg_count_discarded(); }
}

/**
 * Posts with `post` (throws a MsgFullError when full), waiting for room
 * (room.ts room_wait) until `deadline` (performance.now() ms; Infinity:
 * none; then the EAGAIN is thrown) or until `aborted()` (then
 * `abortError()` is thrown). A full port waits on the port's room word
 * (takes move it), a full arena on the arena's (a free moves it once a
 * quarter of the arena is free, once per wait: msg-arena.ts): the waiter
 * registers with the arena and reads its word before it re-arms the
 * arena's wake and tries once more; ROOM_RECHECK_MS bounds a sleep as a
 * backstop.
 */
function msg_room_wait(fd: number, post: () => void, deadline: number,
  aborted: () => boolean, abortError: () => unknown): Promise<void> {
  return room_wait(fd, 'port_post', post, deadline, aborted, abortError, arenaRoom);
}

/** The arena's room (room_wait's other room). */
const arenaRoom: RoomOther = {
  arm() {
    Atomics.add(I32, msg_waiters_word(), 1);
    const g = Atomics.load(I32, msg_room_word());
    msg_room_armed(); // after reading the word: a free from here on moves it, or its room is seen by the attempt
    return g;
  },
  disarm() { Atomics.sub(I32, msg_waiters_word(), 1); },
  word(full) { return full instanceof MsgFullError && full.reason === 'arena' ? msg_room_word() : 0; },
  woke(timedOut) { kstat_add(timedOut ? C_ROOM_RECHECKS : C_ROOM_WAKES); },
};

/** How the sleeps of msg_room_wait ended: a room word moved (or had already), or the backstop's timeout. */
const C_ROOM_WAKES = kstat_counter('msg', 'room_wakes');
const C_ROOM_RECHECKS = kstat_counter('msg', 'room_rechecks');

/** Wakes posts waiting for room (an abort: they look at their signal). */
export function msg_room_poke(fd: number): void {
  Atomics.add(I32, msg_room_word(), 1);
  Atomics.notify(I32, msg_room_word());
  try { Atomics.notify(I32, fd_get(fd, DTYPE_PORT, 'port_post', 'EBADFD') + P.roomGen); } catch { /* closed: woken by the close */ }
}

/** port_post: queues an encoded message (msg-codec.ts msg_encode) at once; EAGAIN (a MsgFullError) when the arena or the port is full. */
export function port_post(fd: number, bytes: Uint8Array): void { port_msg_send(fd, bytes, 'port_post'); }

/**
 * port_post of a value (Port.postSync): serialized into this thread's
 * scratch (user code, such as getters, runs then, before the kernel is
 * entered) and copied from there into its block, as port_post of
 * msg_encode's bytes does, without a view of the bytes made per message; a
 * long ASCII string is written straight into its block (the same bytes).
 */
export function port_post_value(fd: number, value: unknown): void {
  if (typeof value === 'string' && fast_is_long_ascii(value)) { port_msg_send_ascii(fd, value, 'port_post'); return; }
  const len = msg_encode_fast(value);
  if (len < 0) port_msg_send(fd, msg_encode_v8(value), 'port_post');
  else port_msg_send_scratch(fd, len, 'port_post');
}

/**
 * The awaitable port_post (an extension of the sys layer for the class
 * layer, src/sys/ext.ts): queues at once, or waits for room while the arena
 * or the port is full — until `timeout` ms pass (undefined or Infinity: no
 * limit; 0: no wait), then the EAGAIN; until the signal aborts, then an
 * AbortError. `bytes` may be the encoder's scratch: it is copied before any wait.
 */
export async function port_post_wait(fd: number, bytes: Uint8Array, opts: SendWaitOptions = {}): Promise<void> {
  const { timeout, signal } = opts;
  if (signal?.aborted) throw new AbortError(signal.reason);
  try { port_post(fd, bytes); return; } catch (e) { if (!(e instanceof MsgFullError) || timeout === 0) throw e; }
  const mine = bytes.slice(); // the encoder's scratch is this thread's: our own copy across the wait
  await wait_for_room(opts, () => { msg_room_poke(fd); }, (deadline, aborted, abortError) => msg_room_wait(fd, () => port_post(fd, mine), deadline, aborted, abortError));
}

/** port_post_many: queues a batch of encoded messages (msg-codec.ts msg_encode_many) at once, as many as fit; returns how many. */
export function port_post_many(fd: number, bytes: Uint8Array, ends: readonly number[]): number {
  return port_msg_send_many(fd, bytes, ends, 'port_post');
}

/**
 * The awaitable port_post_many: queues every message of the batch in order,
 * waiting for room while the arena or the port is full, with port_post_wait's
 * timeout and abort rules (a timeout or an abort after some were queued
 * leaves those queued: the error says how many in its message). `bytes` may
 * be the encoder's scratch: it is copied before any wait.
 */
export async function port_post_many_wait(fd: number, bytes: Uint8Array, ends: readonly number[], opts: SendWaitOptions = {}): Promise<void> {
  const { timeout, signal } = opts;
  if (signal?.aborted) throw new AbortError(signal.reason);
  const sc = hold_scope_current(); // the room waits after the first run after an await: in the caller's scope (kern/keepalive.ts)
  let done = 0;
  const rest = (): void => {
    const base = done === 0 ? 0 : ends[done - 1]!;
    done += port_post_many(fd, bytes.subarray(base), done === 0 ? ends : ends.slice(done).map((e) => e - base));
  };
  try {
    try { rest(); } catch (e) { if (!(e instanceof MsgFullError) || timeout === 0) throw e; }
    if (done === ends.length) return;
    // The encoder's scratch is this thread's: our own copies across the waits.
    bytes = bytes.slice();
    ends = ends.slice();
    await wait_for_room(opts, () => { msg_room_poke(fd); }, async (deadline, aborted, abortError) => {
      while (done < ends.length) await hold_in(sc, () => msg_room_wait(fd, rest, deadline, aborted, abortError));
    });
  } catch (e) {
    // What was queued stays queued: the error says how much (the first
    // `posted` of the batch), so that the caller can post the rest.
    if (e instanceof SysError || e instanceof AbortError) (e as PostManyError).posted = done;
    throw e;
  }
}

/** The error of a batched post that ended before all of it was queued: `posted` values were. */
export type PostManyError = (SysError | AbortError) & { posted?: number };
