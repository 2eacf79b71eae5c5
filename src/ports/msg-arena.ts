/**
 * The message arena: the kernel memory that structured messages
 * (Port.post) travel in, a region of `msg_arena` bytes (rounded down to a
 * power of two) managed by a binary buddy allocator.
 *
 * Why a buddy allocator and not size classes with per-class free lists:
 * messages have any size, and a class allocator that carved the arena into
 * small blocks during a burst of small messages could never hand out a
 * large one afterwards, although all of it were free (per-class lists never
 * give memory back to each other). Buddies coalesce, so a drained arena is
 * always one block again (the tests check it). Coalescing is lazy: a freed
 * block goes on a quick list of its order, which the next allocation of
 * that order takes at once (a stream of like messages cycles through a few
 * warm blocks; splitting from and merging up to the top at every message
 * touched ~2 x log2(arena / block) cold headers); an allocation that finds
 * nothing coalesces every quick list and tries again. Allocations run
 * under one kernel mutex, held for well under a microsecond (producers in
 * several LWPs contend on it: the stress test); frees take no lock, a
 * compare-and-swap onto a free stack that the next allocation drains
 * (msg_free).
 *
 * Producers and getters on two CPUs. The words an allocation writes (the
 * lock, the generation, the bytes and blocks allocated) and the words a
 * free writes (the free stack, the bytes and blocks freed, the room
 * waiters) lie on cache lines of their own, so that a message does not
 * move one line back and forth between the two CPUs twice; what is in use
 * is the difference of the two monotonic counts (int32, wrapping: the
 * arena is at most 1 GiB). A getter frees the blocks of one take as one
 * chain (msg_free_defer, then msg_free_flush at the end of the take: one
 * compare-and-swap and two atomic adds per take, not per message).
 *
 * A block is 64 << order bytes, aligned to its size. Its first two words are
 * its header: [tag, length] when allocated (tag = order | generation << 8),
 * [tag | FREE, next] plus a third word `prev` when free (the free lists of
 * each order are doubly linked through the blocks themselves, so a buddy
 * can be unlinked in O(1)). The payload starts 8 bytes in. A block is named
 * by a key, `generation * 2^32 + handle`: the generation (20 bits, bumped at
 * every allocation) tells a stale key from the block's current owner.
 *
 * Why 20 bits are enough although they repeat (after 2^20 allocations a
 * stale key would name the block's new owner): no stale key ever reaches
 * msg_block. The kernel turns a key into a block only for the holder that
 * owns the block until it frees it: the message's event (a queued slot or
 * lane entry, which leaves its port once: taken off it under the port lock
 * and then delivered, the block freed by that delivery; or discarded by a
 * close under the same lock, which frees it); the posting thread, for its
 * own blocks not yet queued, and the taking thread, for the blocks it took
 * and has not yet delivered; and their LWPs' in-flight records (below),
 * whose keys are zeroed before the block can be handed out again (a
 * dead thread's by its reaping, before it frees the block). A program cannot
 * give a key back: a message event's portev_object is looked up only in the
 * taking thread's inbox (msg-sys.ts, a JavaScript list), and
 * PORT_SOURCE_MSG takes no association (EINVAL). The generation check is a
 * guard against a kernel bug (msg_deliver warns), not a part of the
 * protocol. test/msg-key-stale.test.ts holds each path.
 *
 * The arena is laid out lazily: the first allocation (under the lock) puts
 * the one top block on its free list, so boot touches none of its pages.
 * Lock order: the arena lock is a leaf; close frees blocks holding a port
 * lock, nothing is taken while holding the arena lock.
 */
import { I32, F64, SAB, kregion_create } from '../kern/kmem.js';
import { cur, SYSID_BASE } from '../kern/hdr.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { mutex_class } from '../kern/lockdebug.js';
import { kstat_gauge, kstat_counter, kstat_add } from '../kern/kstat.js';
import { tunables } from '../kern/boot.js';

/**
 * Control words at the start of the region, by who writes them: the
 * allocating side (under A_LOCK) on the first 64-byte line, the freeing
 * side (lock-free) on the second.
 */
const A_LOCK = 0, A_INIT = 1, A_ABYTES = 2, A_ABLK = 3, A_GEN = 4, A_MAXORD = 5, A_SABID = 6;
const A_FSTACK = 16, A_FBYTES = 17, A_FBLK = 18, A_WAITERS = 19, A_ROOMGEN = 20, A_WAKEPEND = 21, A_SABHAVE = 22;
const A_FREE = 32;           // free-list heads, one per order
const MAX_ORDERS = 32;
const A_QUICK = A_FREE + MAX_ORDERS; // quick-list heads, one per order (freed, not coalesced)
/** Who announced each recent SharedArrayBuffer id: [id, lid] pairs by id modulo HOLD_N (msg-codec.ts asks that LWP). */
const A_HOLD = A_QUICK + MAX_ORDERS, HOLD_N = 256;
const CTRL = A_HOLD + 2 * HOLD_N;
/** Smallest block: 64 bytes (16 words). */
const MIN_SHIFT = 6;
const MIN_WORDS = 16;
/** Header bytes before the payload. */
export const MSG_HDR_BYTES = 8;
/**
 * portev_source of a message event (outside illumos' PORT_SOURCE_* values,
 * 1..7). Here, not in msg-sys.ts (which exports it): the takes record the
 * blocks of the events of this source they detach (take.ts,
 * take-general.ts), and msg-sys.ts imports what imports them.
 */
export const PORT_SOURCE_MSG = 0x4d53; // 'MS'

const T_ORDER = 0x1f, T_FREE = 0x20, T_QUICK = 0x40, GEN_SHIFT = 8, GEN_MASK = 0xfffff;
const KEY_SPLIT = 0x100000000;

/** Arena bytes for the tunable: rounded down to a power of two. */
function arena_bytes(v: number): number { return 2 ** Math.floor(Math.log2(v)); }

const region = kregion_create('msg_arena', (t) => CTRL + arena_bytes(t.msg_arena!) / 4);
mutex_class('msgarena', region, { skip: A_LOCK, words: 1 });

/*
 * Blocks in flight: allocated by a post and not yet published as an event,
 * or taken by a getter and not yet back on the arena's free stack. Until its
 * event is queued nothing but the posting thread's locals names such a
 * block, and from the take that detaches its event (under the port lock)
 * until the getter's delivery has decoded it and its chain of freed blocks
 * is on the free stack (msg_free_defer, msg_free_flush) nothing but the
 * getter's locals does; so a worker that dies then (Worker.terminate, an
 * LWP whose thread is gone, a thread that ends in a delivery) would leave
 * it allocated for ever: the arena's bytes in use never came back, and a
 * program that loses workers ended with EAGAIN on every post. So each LWP
 * has a record here of the keys of its blocks in flight, indexed by the
 * LWP's slot (lid - 1) % maxlwp, the mapping of lwp_byid (lwp/lwp.ts), so
 * no two live LWPs share one.
 *
 * The posting side. A key is written under the arena lock by the
 * allocation itself (a thread that dies holding a kernel lock panics the
 * kernel: never half done) and zeroed where the event is published: under
 * the port lock for a slot (msg-sys.ts), or just before the publishing
 * store of a lane entry (lane.ts pushDone: no interrupt check, hence no
 * termination, comes between two plain stores), or as a block that was not
 * queued is put back (msg_free_unposted). A record holds MSG_INFLIGHT_MAX
 * keys; a bigger batch keeps its keys in a list, an arena block of its own
 * named by the record's first key, negated (msg_inflight_list).
 *
 * The taking side uses the same keys (a thread is never in a post and a
 * take at once, and a post leaves them all zero): a take records the key
 * of each message event it detaches, under the port lock (plain stores:
 * take.ts, take-general.ts), at most MSG_INFLIGHT_MAX per pass (a take that
 * wants more takes them in several passes), and they are zeroed at the end
 * of its delivery, when every one of them has been decoded and its block
 * put on this thread's chain of freed blocks (msg_take_end), before the
 * chain goes on the free stack. That chain's head is in the record too
 * (word R_PEND, written as the chain starts and zeroed as it goes on the
 * stack: msg_free_defer, msg_free_flush), so a block freed by a thread that
 * dies before its flush is not lost either.
 *
 * The LWP's reaping (msg-sys.ts, an LWP exit hook: also run for a dead
 * worker) frees what its record still names: each key whose block is
 * still allocated under it, then the chain. Word 0 of a record is the lid
 * it is for; a thread with no LWP (never reaped) writes the spare last
 * record (its chain head there is written by several such threads and read
 * by none: their chains are their own, in module variables).
 */
/** The keys a record holds: a batch of more keeps them in a list block; a take records at most this many per pass. */
export const MSG_INFLIGHT_MAX = 64;
/** A record's words: 0 the lid, R_PEND the head of its thread's chain of freed blocks not yet on the free stack, keys from REC_KEYS (8-aligned); records apart by whole 64-byte lines. */
const R_PEND = 1, REC_KEYS = 2, REC_WORDS = 2 + 2 * MSG_INFLIGHT_MAX + 14;
/**
 * The words after the keys are the ports' (getn.ts, take.ts, take-general.ts:
 * what a getter holds of a port while it runs, for its LWP's reaping should
 * its thread end in the middle of the call). R_GET_PORT: the port whose
 * P.thrcnt this LWP's port_get(n) raised (a blocking call for its whole
 * length, an async one across its takes), written and cleared under that
 * port's lock, and given back by whoever clears it under the lock (the
 * call, a hand-off's waker, the reaping): once. R_TK_*: the list slots of
 * a take in delivery (phase 2 of take-general.ts), not yet given back: the
 * port, the delivered slots to free (a chain of R_TK_NFREE from R_TK_FREE),
 * the slots not yet settled (R_TK_NREST from R_TK_REST, through their
 * queue links), and the denied and re-sent ones (chains ending in 0).
 * R_GET_DEPTH, R_GET_OUTER: the calls a port_get(n) runs inside of (a
 * signal handler's, in the sleep of the call it interrupted) keep their
 * R_GET_PORT here while it runs, outermost first (GET_OUTER_MAX of them
 * named; the depth counts them all), for the same reaping: their own ends
 * never run when the thread ends in the inner one.
 */
export const R_GET_PORT = 2 + 2 * MSG_INFLIGHT_MAX, R_TK_PORT = R_GET_PORT + 1, R_TK_FREE = R_GET_PORT + 2, R_TK_NFREE = R_GET_PORT + 3,
  R_TK_REST = R_GET_PORT + 4, R_TK_NREST = R_GET_PORT + 5, R_TK_DENY = R_GET_PORT + 6, R_TK_REQ = R_GET_PORT + 7,
  R_GET_DEPTH = R_GET_PORT + 8, R_GET_OUTER = R_GET_PORT + 9;
/** How many outer calls' ports a record names (the words left before REC_WORDS). */
export const GET_OUTER_MAX = REC_WORDS - R_GET_OUTER;
const inflight = kregion_create('msg_inflight', (t) => (t.maxlwp! + 1) * REC_WORDS);

/** The record of LWP `lid` (its slot's), or of a thread with no LWP (lid 0: the spare). */
function inflight_rec(lid: number): number {
  const n = inflight.words / REC_WORDS - 1;
  return inflight.base + (lid > 0 && lid < SYSID_BASE ? (lid - 1) % n : n) * REC_WORDS;
}

let recFor = -1, recKeys = 0;

/** The I32 index of this thread's in-flight record (bound as msg_inflight binds it): the ports' words are at R_GET_PORT and after. */
export function msg_inflight_rec(): number { return msg_inflight() * 2 - REC_KEYS; }

/** The I32 index of LWP `lid`'s record while it is bound to that LWP, else 0 (a reaping; a hand-off's waker). */
export function msg_inflight_rec_of(lid: number): number {
  const r = inflight_rec(lid);
  return lid > 0 && lid < SYSID_BASE && Atomics.load(I32, r) === lid ? r : 0;
}
/**
 * The F64 index of this thread's first in-flight key (the record bound to
 * its LWP on first use): a post's key i is at index + i, and so is the
 * i-th message block a take's pass detached (msg_take_recorded).
 */
export function msg_inflight(): number {
  const lid = cur.lwp === 0 ? 0 : cur.lid;
  if (lid !== recFor) {
    const r = inflight_rec(lid);
    Atomics.store(I32, r, lid);
    recFor = lid;
    recKeys = (r + REC_KEYS) >> 1;
  }
  return recKeys;
}

/**
 * A list of `n` in-flight keys for a batch bigger than the record (over
 * MSG_INFLIGHT_MAX): an arena block, its entries zeroed, named by this
 * thread's record (its key negated, in the first slot). Returns the F64
 * index of its first entry, or 0 when the arena has no block for it. Freed
 * by the caller with msg_free_unposted(index * 2 - 2, msg_inflight()).
 */
export function msg_inflight_list(n: number): number {
  const len = 8 * n, order = msg_order(len);
  if (len > msg_max_payload()) return 0;
  const b = msg_alloc(len, order); // its key in the record's first slot: a block in flight
  if (b === 0) return 0;
  const l = (b + 2) >> 1, ki = msg_inflight();
  for (let i = 0; i < n; i++) F64[l + i] = 0;
  F64[ki] = -F64[ki]!; // a list from now on: its entries are read by a reaping
  return l;
}

/** Frees the block of in-flight key `key` if it is still allocated under it; true if it was. */
function inflight_free(key: number): boolean {
  const b = msg_block(key);
  if (b === 0) return false;
  msg_free(b);
  return true;
}

/**
 * The blocks LWP `lid` (dead, or exiting: it runs no more kernel code) left
 * in flight go back to the arena, its record cleared. Returns how many.
 * Never throws. First its chain of freed blocks, if it died before putting
 * it on the free stack (pend_reap), then its keys. A key still recorded
 * names a block no event names: a post's (the event's publication zeroes
 * it first), or a block its poster was putting back (msg_free_unposted:
 * marked free before its key is zeroed, and not yet on the free stack, so
 * never allocated again under that key), or a block its getter took (its
 * event left the port under the port lock): still allocated if the getter
 * had not delivered it (freed here: the message is lost, nobody can take it
 * again, but its memory comes back), else marked free and on the chain
 * (taken back with it), the key zeroed before that chain can go on the
 * free stack (msg_take_end).
 */
export function msg_inflight_reap(lid: number): number {
  const r = inflight_rec(lid);
  if (Atomics.load(I32, r) !== lid) return 0;
  // The thread reaping itself (an LWP's worker that exits in a take: its
  // 'exit' listener): its chain is the record's from here on.
  if (lid === recFor) { pendHead = pendTail = pendBlocks = pendBytes = 0; takeN = 0; }
  let n = pend_reap(r + R_PEND);
  const k0 = (r + REC_KEYS) >> 1;
  const first = F64[k0]!, lb = first < 0 ? msg_block(-first) : 0;
  if (lb !== 0) {
    // A batch's list: its entries, then the list itself.
    const l = (lb + 2) >> 1, m = msg_length(lb) / 8;
    for (let i = 0; i < m; i++) if (F64[l + i] !== 0 && inflight_free(F64[l + i]!)) n++;
    msg_free(lb);
  }
  for (let i = 0; i < MSG_INFLIGHT_MAX; i++) {
    const key = F64[k0 + i]!;
    if (key === 0) continue;
    F64[k0 + i] = 0;
    if (key > 0 && inflight_free(key)) n++;
  }
  if (n > 0) kstat_add(C_REAPED, n);
  return n;
}

/**
 * A dead thread's chain of freed blocks, named by its record's word `pw`
 * (R_PEND), onto the free stack, as its msg_free_flush would have put it.
 * Returns how many blocks. Each link is checked (a block of the arena,
 * marked free by msg_free_defer) and the walk bounded, so that a bad word
 * can neither loop nor push what is not a freed block; the rest of such a
 * chain is left where it is.
 */
function pend_reap(pw: number): number {
  const head = I32[pw]!;
  if (head === 0) return 0;
  const base = data_base(), words = msg_arena_size() / 4;
  let n = 0, bytes = 0, tail = 0;
  for (let b = head; b !== 0 && n < words / MIN_WORDS; b = I32[b + 1]!) {
    const d = b - base;
    if (!(d >= 0 && d < words && (d & (MIN_WORDS - 1)) === 0 && (I32[b]! & (T_QUICK | T_FREE)) === T_QUICK)) break;
    tail = b; n++;
    bytes += (1 << MIN_SHIFT) << (I32[b]! & T_ORDER);
  }
  if (n === 0) { I32[pw] = 0; return 0; }
  I32[tail + 1] = 0;
  chain_push(head, tail, n, bytes, pw);
  return n;
}

// This thread's take: how many keys its pass recorded (msg_take_recorded), zeroed by msg_take_end.
let takeN = 0;

/**
 * A take's pass (take.ts, take-general.ts) recorded the keys of the `n`
 * message blocks it detached at F64 index msg_inflight() + 0 .. n - 1 (at
 * most MSG_INFLIGHT_MAX), under the port lock: from then on the LWP's
 * reaping frees those that were not yet delivered. Zeroed at the end of
 * the take's delivery (msg_take_end).
 */
export function msg_take_recorded(n: number): void { takeN = n; }

/**
 * A take's pass that recorded keys and then gave its events back undelivered
 * (they are still queued: not ours to free): its keys zeroed. Never throws.
 */
export function msg_take_forget(): void {
  const k = msg_inflight();
  for (let i = 0; i < MSG_INFLIGHT_MAX; i++) F64[k + i] = 0;
  takeN = 0;
}

/**
 * The end of a take that delivered messages (the message source's end
 * callback, take-settle.ts take_end): every block the take recorded has
 * been decoded and put on this thread's chain of freed blocks, so its keys
 * are zeroed, and then the chain goes on the free stack (msg_free_flush).
 * In that order: a key is never left naming a block that could be handed
 * out again. Never throws, takes no lock.
 */
export function msg_take_end(): void {
  const n = takeN;
  if (n !== 0) {
    const k = recKeys;
    for (let i = 0; i < n; i++) F64[k + i] = 0;
    takeN = 0;
  }
  msg_free_flush();
}

/**
 * Puts back block b of this thread's in-flight key at F64 index `ki` that
 * was not queued (a post that failed; a batch's list): marked free, its key
 * zeroed, then on the free stack. In that order: a reaping that still finds
 * the key finds the block free (msg_block: 0), and the block cannot be
 * handed out again under a key the record still holds.
 */
export function msg_free_unposted(b: number, ki: number): void {
  msg_free_defer(b);
  F64[ki] = 0;
  msg_free_flush();
}

const C_REAPED = kstat_counter('msg', 'reaped');        // in flight when their poster or getter died, freed by its LWP's reaping
const C_DISCARDED = kstat_counter('msg', 'discarded');  // freed by a close with the message queued
const C_FULL = kstat_counter('msg', 'arena_full');      // allocations the arena could not serve

kstat_gauge('msg', 'arena_bytes', () => msg_arena_size());
kstat_gauge('msg', 'bytes_in_use', () => arena_used());
// Messages in kernel memory: every allocated block is one message's (queued,
// or between its allocation and its queueing in a post, or taken and not yet
// flushed by its getter's take), or, while a batch of more than
// MSG_INFLIGHT_MAX is being posted, its list of keys in flight.
kstat_gauge('msg', 'messages_queued', () => (Atomics.load(I32, region.base + A_ABLK) - Atomics.load(I32, region.base + A_FBLK)) | 0);

/** Arena bytes in blocks now: allocated less freed (both counts wrap; their difference does not). */
function arena_used(): number { return (Atomics.load(I32, region.base + A_ABYTES) - Atomics.load(I32, region.base + A_FBYTES)) | 0; }

let sizeFor: unknown, size = 0;
/** The arena's size in bytes (its largest block). */
export function msg_arena_size(): number {
  const t = tunables();
  if (t !== sizeFor) { size = arena_bytes(t.msg_arena!); sizeFor = t; }
  return size;
}

let kbufOf: SharedArrayBuffer | undefined, kbuf: Buffer = Buffer.alloc(0);
/** Kernel memory as a Buffer (for copies in and out without a view per message). */
export function kmem_buffer(): Buffer {
  if (kbufOf !== SAB) { kbuf = Buffer.from(SAB); kbufOf = SAB; }
  return kbuf;
}

/** The largest payload one message may have (a whole arena, less the header). */
export function msg_max_payload(): number { return msg_arena_size() - MSG_HDR_BYTES; }

/** The block order that holds `payload` bytes. */
export function msg_order(payload: number): number {
  const need = payload + MSG_HDR_BYTES;
  // ceil(log2(need)) without a libm call (need < 2^31: the arena is at most 1 GiB).
  return need <= 1 << MIN_SHIFT ? 0 : 32 - Math.clz32(need - 1) - MIN_SHIFT;
}

/** Bytes of the block a payload of `payload` bytes takes. */
export function msg_block_bytes(payload: number): number { return (1 << MIN_SHIFT) << msg_order(payload); }

function data_base(): number { return region.base + CTRL; }

function list_push(order: number, b: number): void {
  const head = region.base + A_FREE + order;
  const first = I32[head]!;
  I32[b] = order | T_FREE;
  I32[b + 1] = first;
  I32[b + 2] = 0;
  if (first !== 0) I32[first + 2] = b;
  I32[head] = b;
}

function list_unlink(order: number, b: number): void {
  const next = I32[b + 1]!, prev = I32[b + 2]!;
  if (prev === 0) I32[region.base + A_FREE + order] = next; else I32[prev + 1] = next;
  if (next !== 0) I32[next + 2] = prev;
}

/** Lays the arena out on first use (lock held): one free top block. */
function init_locked(): void {
  const top = Math.log2(msg_arena_size()) - MIN_SHIFT;
  I32[region.base + A_MAXORD] = top;
  list_push(top, data_base());
  I32[region.base + A_INIT] = 1;
}

/**
 * Allocates a block for `payload` bytes (order from {@link msg_order}, at most
 * the top order: the caller checked) and records the length. Returns the
 * block (its key: {@link msg_key}), or 0 when no block of that order is free.
 */
export function msg_alloc(payload: number, order: number): number {
  const a = region.base, ki = msg_inflight();
  mutex_enter(a + A_LOCK);
  if (I32[a + A_INIT] === 0) init_locked();
  const b = alloc_block_locked(order);
  if (b === 0) { mutex_exit(a + A_LOCK); kstat_add(C_FULL); return 0; }
  const gen = (I32[a + A_GEN]! + 1) & GEN_MASK;
  I32[a + A_GEN] = gen;
  I32[b] = order | (gen << GEN_SHIFT);
  I32[b + 1] = payload;
  F64[ki] = gen * KEY_SPLIT + b; // in flight until its event is published (the records' comment above)
  // Plain stores: only allocations write these words, all under the lock;
  // a gauge reading them without it sees the old count or the new one (an
  // aligned int32 is never torn), and the lock's release publishes them.
  // (Two Atomics.add were two locked instructions per message.)
  I32[a + A_ABYTES] = (I32[a + A_ABYTES]! + ((1 << MIN_SHIFT) << order)) | 0;
  I32[a + A_ABLK] = (I32[a + A_ABLK]! + 1) | 0;
  mutex_exit(a + A_LOCK);
  return b;
}

/** The key of allocated block b (its generation from its tag): what names it in an event. */
export function msg_key(b: number): number { return ((I32[b]! >>> GEN_SHIFT) & GEN_MASK) * KEY_SPLIT + b; }

/**
 * Allocates blocks for messages `from` .. `to - 1` of a batch (payload
 * lengths `lens`, orders `orders`, each at most the top order: the caller
 * checked) under one hold of the arena lock, their keys into `keys` and as
 * in flight (message i's at F64 index `ki` + i: this thread's record, or a
 * batch's list); stops at the first that finds no block. Returns the index
 * after the last allocated (`from` when none was).
 */
export function msg_alloc_many(lens: readonly number[], orders: readonly number[], keys: number[], from: number, to: number, ki: number): number {
  const a = region.base;
  mutex_enter(a + A_LOCK);
  if (I32[a + A_INIT] === 0) init_locked();
  let i = from, bytes = 0;
  for (; i < to; i++) {
    const order = orders[i]!;
    const b = alloc_block_locked(order);
    if (b === 0) break;
    const gen = (I32[a + A_GEN]! + 1) & GEN_MASK;
    I32[a + A_GEN] = gen;
    I32[b] = order | (gen << GEN_SHIFT);
    I32[b + 1] = lens[i]!;
    bytes += (1 << MIN_SHIFT) << order;
    keys[i] = F64[ki + i] = gen * KEY_SPLIT + b;
  }
  if (i > from) { // (plain stores under the lock: msg_alloc)
    I32[a + A_ABYTES] = (I32[a + A_ABYTES]! + bytes) | 0;
    I32[a + A_ABLK] = (I32[a + A_ABLK]! + i - from) | 0;
  }
  mutex_exit(a + A_LOCK);
  if (i < to) kstat_add(C_FULL);
  return i;
}

/** A free block of `order` (lock held): from its quick list, the free stack, or the buddies; 0 when none. */
function alloc_block_locked(order: number): number {
  const a = region.base;
  let b = I32[a + A_QUICK + order]!;
  if (b === 0 && Atomics.load(I32, a + A_FSTACK) !== 0) { reclaim_locked(); b = I32[a + A_QUICK + order]!; }
  if (b !== 0) { I32[a + A_QUICK + order] = I32[b + 1]!; return b; }
  b = buddy_take_locked(order);
  if (b === 0 && quick_flush_locked() > 0) b = buddy_take_locked(order);
  return b;
}

/** A block of `order` from the buddy lists, split from a larger one if need be, or 0 (lock held). */
function buddy_take_locked(order: number): number {
  const a = region.base, top = I32[a + A_MAXORD]!;
  let k = order;
  while (k <= top && I32[a + A_FREE + k] === 0) k++;
  if (k > top) return 0;
  const b = I32[a + A_FREE + k]!;
  list_unlink(k, b);
  while (k > order) { k--; list_push(k, b + (MIN_WORDS << k)); }
  return b;
}

/** Block b of `order` back to the buddy lists, coalesced with its free buddies (lock held). */
function buddy_free_locked(b: number, order: number): void {
  const a = region.base, base = data_base(), top = I32[a + A_MAXORD]!;
  while (order < top) {
    const buddy = base + ((b - base) ^ (MIN_WORDS << order));
    if (I32[buddy] !== (order | T_FREE)) break;
    list_unlink(order, buddy);
    if (buddy < b) b = buddy;
    order++;
  }
  list_push(order, b);
}

/** Every quick-listed block back to the buddy lists, coalescing (lock held). Returns how many. */
function quick_flush_locked(): number {
  const a = region.base;
  let n = reclaim_locked();
  for (let k = 0; k < MAX_ORDERS; k++) {
    for (let b = I32[a + A_QUICK + k]!; b !== 0;) { const nx = I32[b + 1]!; buddy_free_locked(b, k); b = nx; n++; }
    I32[a + A_QUICK + k] = 0;
  }
  return n;
}

/** The handle of an allocated block named by `key`, or 0 when the key names no live block (never throws). */
export function msg_block(key: number): number {
  const gen = Math.floor(key / KEY_SPLIT), b = key - gen * KEY_SPLIT; // (exact: key < 2^53; no float modulo, a libm call)
  const d = b - data_base();
  if (!(d >= 0 && d < msg_arena_size() / 4 && (d | 0) === d && (d & (MIN_WORDS - 1)) === 0)) return 0;
  const tag = I32[b]!;
  if ((tag & (T_FREE | T_QUICK)) !== 0 || ((tag >>> GEN_SHIFT) & GEN_MASK) !== gen) return 0;
  return b;
}

/** Payload length of block b. */
export function msg_length(b: number): number { return I32[b + 1]!; }
/** Byte offset of block b's payload in kernel memory. */
export function msg_payload_offset(b: number): number { return (b + 2) * 4; }

/**
 * Frees block b (from {@link msg_block}) at once; wakes posts waiting for
 * room. Never throws, takes no lock: the block is pushed onto the arena's
 * free stack with one compare-and-swap (a getter frees a block per message,
 * and a mutex shared with the producers' allocations, on a loaded machine,
 * was as often as not held by a producer the scheduler had just
 * preempted). The next allocation that finds its quick list empty takes the
 * whole stack under the lock (an exchange with 0: whole stacks only, so no
 * ABA hazard) onto the quick lists of their orders, not coalesced: the next
 * allocation of that size takes one back at once (a stream of like messages
 * reuses a few warm blocks instead of splitting from and merging up to the
 * top every time, which touched ~2 x log2(arena / block) cold headers per
 * message). Coalescing happens when an allocation finds nothing
 * (quick_flush_locked).
 */
export function msg_free(b: number): void {
  msg_free_defer(b);
  msg_free_flush();
}

// This thread's chain of freed blocks not yet on the free stack
// (msg_free_defer), and the word of its record that names the chain's head
// while there is one (R_PEND: the reaping's, should the thread die first).
let pendHead = 0, pendTail = 0, pendBlocks = 0, pendBytes = 0, pendWord = 0;

/**
 * Frees block b as part of a batch (a getter's take): the block joins this
 * thread's chain (plain stores in the block itself), which the caller puts
 * on the free stack with {@link msg_free_flush} before it can sleep or
 * return to its caller. The chain's first block is named in this thread's
 * record as well (R_PEND), with no interrupt check, hence no termination,
 * between a block's marking and its link: a thread that dies before its
 * flush leaves the chain to its LWP's reaping. Never throws, takes no lock.
 */
export function msg_free_defer(b: number): void {
  if (pendTail === 0) pendWord = msg_inflight() * 2 - REC_KEYS + R_PEND; // (a call: before the block is touched)
  const order = I32[b]! & T_ORDER;
  I32[b] = order | T_QUICK;
  I32[b + 1] = 0;
  if (pendTail === 0) { pendHead = b; I32[pendWord] = b; } else I32[pendTail + 1] = b;
  pendTail = b;
  pendBlocks++;
  pendBytes += (1 << MIN_SHIFT) << order;
}

/**
 * Puts this thread's chain of freed blocks on the arena's free stack (one
 * compare-and-swap), counts them freed, and wakes posts waiting for room
 * once a quarter of the arena is free (hysteresis, as a stream's 'drain'
 * and ports/room.ts: woken at every free, a producer faster than its
 * getter refilled the arena one message at a time, a futex wake per
 * message; one wake per wait: A_WAKEPEND is cleared by a waiter as it
 * registers). Never throws, takes no lock.
 */
export function msg_free_flush(): void {
  if (pendBlocks === 0) return;
  const head = pendHead, tail = pendTail, bytes = pendBytes, n = pendBlocks;
  pendHead = pendTail = pendBlocks = pendBytes = 0;
  chain_push(head, tail, n, bytes, pendWord);
}

/**
 * Chain head .. tail (n blocks, `bytes` in all, marked free, the tail's
 * link 0) onto the free stack; the record's word `pw` (R_PEND) that names
 * it is zeroed with the push: just before the compare-and-swap, and named
 * again (the tail unlinked from the stack) when it fails, so at the loop's
 * back edge, an interrupt check, the record names a chain that is not on
 * the stack, and after the push none (no check between the two stores and
 * the swap: a thread that dies leaves the chain either named or pushed).
 */
function chain_push(head: number, tail: number, n: number, bytes: number, pw: number): void {
  const a = region.base;
  for (;;) {
    const top = Atomics.load(I32, a + A_FSTACK);
    I32[tail + 1] = top;
    I32[pw] = 0;
    if (Atomics.compareExchange(I32, a + A_FSTACK, top, head) === top) break;
    I32[tail + 1] = 0; I32[pw] = head; // not on the stack: still the chain's
  }
  Atomics.add(I32, a + A_FBLK, n);
  Atomics.add(I32, a + A_FBYTES, bytes);
  if (Atomics.load(I32, a + A_WAITERS) !== 0 && arena_used() <= msg_arena_size() - (msg_arena_size() >> 2) &&
    Atomics.compareExchange(I32, a + A_WAKEPEND, 0, 1) === 0) {
    Atomics.add(I32, a + A_ROOMGEN, 1);
    Atomics.notify(I32, a + A_ROOMGEN);
  }
}

/** Moves the free stack onto the quick lists (lock held). Returns how many blocks. */
function reclaim_locked(): number {
  const a = region.base;
  let c = Atomics.exchange(I32, a + A_FSTACK, 0), n = 0;
  while (c !== 0) {
    const nx = I32[c + 1]!, order = I32[c]! & T_ORDER;
    I32[c + 1] = I32[a + A_QUICK + order]!;
    I32[a + A_QUICK + order] = c;
    c = nx;
    n++;
  }
  return n;
}

/** A post registering as a room waiter: the next free that finds room wakes it (msg_free). */
export function msg_room_armed(): void { Atomics.store(I32, region.base + A_WAKEPEND, 0); }

/** A close discarded a queued message (kstat msg.discarded). */
export function msg_count_discarded(): void { kstat_add(C_DISCARDED); }

/** Words a post waiting for arena room sleeps on, and its waiter count. */
export function msg_room_word(): number { return region.base + A_ROOMGEN; }
export function msg_waiters_word(): number { return region.base + A_WAITERS; }

/** A process-wide id for a SharedArrayBuffer sent in a message (msg-codec.ts). */
export function msg_sab_id(): number { return Atomics.add(I32, region.base + A_SABID, 1) + 1; }
/** The word a receiver missing a SharedArrayBuffer waits on; a thread that announces one again moves it (msg-codec.ts). */
export function msg_sab_have_word(): number { return region.base + A_SABHAVE; }
/** Records that LWP `lid` announced SAB `id` (racy by design: a reader checks the id). */
export function msg_sab_holder_set(id: number, lid: number): void {
  const w = region.base + A_HOLD + 2 * (id % HOLD_N);
  Atomics.store(I32, w + 1, lid);
  Atomics.store(I32, w, id);
}
/** The LWP that last announced SAB `id`, or 0 when the table no longer says. */
export function msg_sab_holder(id: number): number {
  const w = region.base + A_HOLD + 2 * (id % HOLD_N);
  const lid = Atomics.load(I32, w + 1);
  return Atomics.load(I32, w) === id ? lid : 0;
}

/** The largest free block's bytes now, after coalescing the quick lists (tests: a drained arena is one block again). */
export function msg_largest_free(): number {
  const a = region.base;
  if (Atomics.load(I32, a + A_INIT) === 0) return msg_arena_size();
  mutex_enter(a + A_LOCK);
  quick_flush_locked();
  let k = I32[a + A_MAXORD]!;
  while (k >= 0 && I32[a + A_FREE + k] === 0) k--;
  mutex_exit(a + A_LOCK);
  return k < 0 ? 0 : (1 << MIN_SHIFT) << k;
}
