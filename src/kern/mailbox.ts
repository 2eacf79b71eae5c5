/**
 * The SIGEV_THREAD mailbox: how a kernel event, in whatever thread it
 * happens, gets a JS function of another thread called on that thread's
 * event loop. POSIX runs a SIGEV_THREAD function "as if on a new thread";
 * ukern runs it on the thread that asked (a closure cannot move between
 * threads), from a task of that thread, never while it is inside the kernel.
 * Timers (timers/sigev-thread.ts) and aio requests (aio/sigev.ts) are its
 * consumers; they register here (kern imports neither) and a thread that has
 * both has one mailbox, one pump and one keepalive for all of them.
 *
 * A mailbox is one word in kernel memory per slot, and a thread owns at most
 * one slot. A consumer binds an object (a timer, a request) to the owner's
 * mailbox by storing a *binding*: the slot number and the slot's generation
 * in one positive i32 (generation << 17 | slot + 1; 0 is "no mailbox"). An
 * event on the object posts the binding (`mbox_post`, any thread, any lock);
 * the owner's pump, an `Atomics.waitAsync` on the word, wakes and asks every
 * consumer to deliver what is due (`deliver`, no kernel lock held, each
 * consumer takes its own objects' state under their own locks).
 *
 * ---- The word and who writes it --------------------------------------------
 *
 *   word = generation << 1 | POSTED       (the `mbox.word` region, one per slot)
 *
 *   mbox_post (any thread)    CAS: sets POSTED only while the word's generation
 *                             is the binding's, and notifies once per 0 -> 1
 *   the pump (owner thread)   clears POSTED (Atomics.and) before each delivery
 *                             round, then waits on the value it left
 *   give-back (owner thread   stores generation + 1 without POSTED, notifies
 *   or lwp0 for a dead one)   (so the owner's pump, if any, looks and stops)
 *
 * Generation rule: a slot's generation moves on when the slot is given back,
 * so a post of a binding taken before that does nothing (it fails the CAS)
 * and can never wake the slot's next owner; `mbox.stale_posts` counts such
 * posts. It is 14 bits, so a binding would only be confused after 16384 later
 * give-backs of that very slot, and then its one post is a spurious wake-up,
 * which every pump tolerates. The word lives in a region of its own, not in
 * the slot's cache object: kcache alloc zeroes an object and free links it
 * through word 0, and the generation must survive both.
 *
 * ---- Slot states ---------------------------------------------------------------
 *
 *   from      to        by
 *   free      owned     mbox_mine: the thread's first use (kcache alloc; the owner
 *                       word = its lid, or -1 for a thread without an LWP). When
 *                       the cache is exhausted mbox_mine returns 0: callers fail EAGAIN
 *   owned     free      the owner's LWP exits (on_lwp_exit): in its own thread in
 *                       O(1) (the thread knows its slot); for a worker that died,
 *                       lwp0 finds the slot by owner. Generation + 1, then each
 *                       consumer's `released` disconnects what it bound there,
 *                       then the cache free
 *
 * A mailbox belongs to an LWP, not to its worker thread: a pool worker runs
 * one LWP after another, and the objects of an LWP that exited stay (timers
 * are the process's, requests complete) but must not call into the next LWP
 * of the same worker. So the mailbox is given back at LWP exit, with the
 * thread's local state of every consumer, and the worker's next LWP starts
 * with none. Mailboxes come back: maxlwp + 8 of them serve any number of LWPs
 * over time.
 *
 * Liveness: while a consumer says it has something live (`live`: an armed
 * ref'd timer, a pending request), the thread's event loop is kept alive
 * through one kern/keepalive.ts hold; the pump runs while any consumer has
 * something bound (`deliver` returns true).
 */
import { user_rethrow } from './errno.js';
import { I32, define_struct, kcache_create, kregion_create } from './kmem.js';
import { hold } from './keepalive.js';
import { cur } from './hdr.js';
import { on_lwp_exit } from './proc.js';
import { kstat_counter, kstat_add, kstat_gauge } from './kstat.js';

/** What a consumer of the mailbox provides (timers, aio). */
export interface MboxConsumer {
  /**
   * Runs what is due for this thread's objects, with no kernel lock held on
   * entry or exit, and returns whether any object is still bound to the
   * mailbox (the pump keeps watching while one consumer says so). Never
   * throws: a user function's exception is rethrown from a later task.
   */
  deliver(): boolean;
  /** Whether one of this thread's objects keeps the event loop alive. */
  live(): boolean;
  /**
   * The mailbox bound as `b` was given back: disconnect what is bound to it.
   * `own`: by its owner thread at its LWP's exit (drop the thread's local
   * state too); else by lwp0 for a worker that died. No kernel lock held.
   */
  released(b: number, own: boolean): void;
}

/** struct mbox, a slot. `[key]`: what guards the field (legend in kern/lockorder.ts). */
const MBOX = define_struct('mbox', {
  link: 'i32',  // the cache's free link while free (kmem), else unused
  owner: 'i32', // [a] the lid that took it (-1: a thread without an LWP), 0 free; written by the taker and the give-back
});
const MB = MBOX.F;
const slots = kcache_create('mbox', MBOX, (t) => t.maxlwp! + 8);
/** [a] the mailbox words, one per slot, by slot number (see the header). */
const words = kregion_create('mbox.word', (t) => t.maxlwp! + 8);

const POSTED = 1;
const SLOT_BITS = 17;                 // maxlwp + 8 <= 2^16 + 8 < 2^17
const SLOT_MASK = (1 << SLOT_BITS) - 1;
const GEN_MASK = (1 << 14) - 1;      // generation << 17 stays a positive i32

const C_STALE = kstat_counter('mbox', 'stale_posts');
kstat_gauge('mbox', 'in_use', () => slots.inuse);

const consumers: MboxConsumer[] = [];
const kinds: string[] = [];

/** Registers a consumer (at module load, once per kind). */
export function mbox_consumer_register(kind: string, ops: MboxConsumer): void {
  if (kinds.includes(kind)) return;
  kinds.push(kind);
  consumers.push(ops);
}

const word_of = (b: number): number => words.base + (b & SLOT_MASK) - 1;
const gen_of = (b: number): number => (b >>> SLOT_BITS) & GEN_MASK;
/** The binding of slot i at its word's present generation. */
const binding_of = (i: number): number => (((Atomics.load(I32, words.base + i) >>> 1) & GEN_MASK) << SLOT_BITS) | (i + 1);

// ---- per-thread state (the owner side)
let mine = 0;                          // this thread's binding, 0 none
let pumping = false;
/**
 * Something was bound while the pump ran (mbox_watch, from a function a
 * round called): the round's "nothing bound" may predate it (a consumer
 * asked before the one whose function bound it), so the pump goes on.
 */
let rebound = false;
let release: (() => void) | undefined; // the keepalive hold
let rounds = 0;

/** This thread's binding, taken on first use; 0 when every mailbox is taken (EAGAIN). */
export function mbox_mine(): number {
  if (mine !== 0) return mine;
  const h = slots.alloc();
  if (h === 0) return 0;
  Atomics.store(I32, h + MB.owner, cur.lid || -1);
  mine = binding_of(slots.index(h));
  return mine;
}

/** This thread's binding if it has one, else 0 (takes nothing). */
export function mbox_held(): number { return mine; }

/** Delivery rounds of this thread's pump so far (tests and post-mortems). */
export function mbox_rounds(): number { return rounds; }

/**
 * Posts binding `b` (any thread, any lock held: Atomics only): wakes its
 * owner's pump unless the mailbox was given back since the binding was
 * taken. Returns false for such a stale binding (and for 0).
 */
export function mbox_post(b: number): boolean {
  if (b === 0) return false;
  const w = word_of(b), want = gen_of(b) << 1;
  for (;;) {
    const v = Atomics.load(I32, w);
    if ((v & ~POSTED) !== want) { kstat_add(C_STALE); return false; }
    if ((v & POSTED) !== 0) return true; // posted and notified already; the pump has yet to look
    if (Atomics.compareExchange(I32, w, v, v | POSTED) === v) { Atomics.notify(I32, w); return true; }
  }
}

/** Something was bound to this thread's mailbox: the pump runs, the keepalive is re-evaluated. */
export function mbox_watch(): void {
  if (mine !== 0) {
    if (!pumping) { pumping = true; void pump(); } else rebound = true;
  }
  mbox_reeval();
}

/** Keeps the event loop alive exactly while a consumer has something live in this thread. */
export function mbox_reeval(): void {
  let live = false;
  if (mine !== 0) for (const c of consumers) if (c.live()) { live = true; break; }
  if (live && release === undefined) release = hold();
  else if (!live && release !== undefined) { release(); release = undefined; }
}

function deliver_all(): boolean {
  let bound = false;
  for (const c of consumers) {
    try { if (c.deliver()) bound = true; } catch (e) { user_rethrow(e); }
  }
  return bound;
}

async function pump(): Promise<void> {
  try {
    await undefined; // the first round runs from a task, never inside the syscall that bound
    for (;;) {
      // Read each round: the mailbox is given back when the LWP exits, and
      // the worker's next LWP may take another.
      const b = mine;
      if (b === 0) break;
      const w = word_of(b);
      const seen = Atomics.and(I32, w, ~POSTED) & ~POSTED;
      rounds++;
      rebound = false;
      const bound = deliver_all();
      mbox_reeval();
      // A function this round called may have bound something to a consumer
      // the round had already asked (an aio function arming a timer, with
      // the timers asked first): that consumer's answer is stale, so the
      // pump asks again rather than end with a binding nobody watches.
      if (!bound && !rebound) break;
      const r = Atomics.waitAsync(I32, w, seen);
      if (r.async) await r.value;
    }
  } finally {
    pumping = false;
    mbox_reeval();
  }
}

/** Gives slot h (bound as b) back: new generation, consumers disconnect, free. */
function mbox_giveback(h: number, b: number, own: boolean): void {
  const w = word_of(b);
  Atomics.store(I32, w, ((gen_of(b) + 1) & GEN_MASK) << 1);
  Atomics.notify(I32, w);
  for (const c of consumers) {
    try { c.released(b, own); } catch (e) { console.error('ukern: mailbox release failed:', e); }
  }
  Atomics.store(I32, h + MB.owner, 0);
  slots.free(h);
}

/**
 * The LWP `lid` exited (its on_lwp_exit hook; exported for the tests): in
 * its own thread the mailbox is known, O(1); for a worker that died, lwp0
 * finds the slot by owner (a scan, only while mailboxes are in use).
 */
export function mbox_lwp_exited(lid: number): void {
  if (lid === cur.lid) {
    const b = mine;
    if (b === 0) return;
    mine = 0;
    mbox_giveback(slots.handle((b & SLOT_MASK) - 1), b, true);
    mbox_reeval();
    return;
  }
  if (slots.inuse === 0) return;
  for (let i = 0; i < slots.count; i++) {
    const h = slots.handle(i);
    if (Atomics.load(I32, h + MB.owner) === lid) mbox_giveback(h, binding_of(i), false);
  }
}
on_lwp_exit(mbox_lwp_exited);
