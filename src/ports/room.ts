/**
 * Waiting for room: the awaitable send of the class layer (Port.send). A
 * port holds at most port_max_events events; port_send then fails EAGAIN
 * at once (illumos). A sender that would rather wait registers as a room
 * waiter and sleeps on the port's `roomGen` word (Atomics.waitAsync: the
 * futex the kernel's sleeps are made of). A take that returns events
 * (getn.ts, the only way a queued event leaves the port besides a close)
 * bumps the word and wakes them when there are waiters and a quarter of the
 * port is free (room_notify: hysteresis, as a Node stream's 'drain'); one
 * load per batch otherwise. A close wakes them too (their retry then fails
 * EBADF).
 *
 * No wake-up is lost: the sender reads the generation before its attempt,
 * registers, and tries once more before sleeping on that generation; a take
 * after the registration moves the word, so the sleep returns at once. Room
 * can also come back by paths that do not take (a dissociated source, a
 * timer deleted): the sleep is bounded by ROOM_RECHECK_MS as a backstop.
 */
import { I32 } from '../kern/kmem.js';
import { fd_get, DTYPE_PORT } from '../kern/fdtab.js';
import { SysError, AbortError } from '../kern/errno.js';
import { sysenter } from '../kern/sysent.js';
import { hold } from '../kern/keepalive.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { cur } from '../kern/hdr.js';
import { panic_check } from '../kern/panic.js';
import { sq_thread_abandoned, sq_never } from '../kern/sleepwait.js';
import { P, port_lock, port_id_word } from './mem.js';
import { port_send } from './sys.js';

const ROOM_RECHECK_MS = 100;

// room_notify (a take made room) lives in queue.ts: the hand-off of a lane
// push to a sleeping getter (wake_first_locked) is a take too.
export { room_notify } from './queue.js';

/** A close: every room waiter wakes (and finds the port gone). */
export function room_close(h: number): void {
  Atomics.add(I32, h + P.roomGen, 1);
  Atomics.notify(I32, h + P.roomGen);
}

/**
 * Counts a sender waiting for room in port h, descriptor fd, or uncounts it
 * (`d` 1 or -1), only while that very port is open; returns whether it did.
 * Why: a waiter's sleep is an await, and its port may be closed meanwhile,
 * its struct released and handed, zeroed, to a new port (the cache's free
 * list is LIFO: the next port_create gets it). An unchecked decrement then
 * left the new port's count at -1, and the next sender that waited for
 * room on it made it 0: no take woke it (room_notify), every wait ran to
 * the backstop. The port's id word names its descriptor, whose generation
 * bits no later open of the entry repeats (kern/fdtab.ts), so a new port in
 * the struct never matches fd; looked at under the port lock (its word is
 * outside the struct, never reused), a close cannot come between the look
 * and the change.
 */
export function room_waiter_count(h: number, fd: number, d: number): boolean {
  mutex_enter(port_lock(h));
  const ours = Atomics.load(I32, port_id_word(h)) === fd;
  if (ours) Atomics.add(I32, h + P.roomWaiters, d);
  mutex_exit(port_lock(h));
  return ours;
}

/**
 * What a room wait's continuation checks after each await: whether the
 * thread is still on the LWP the wait began on (`me`, lid `lid`: its
 * {@link room_wait_owner}). A room wait sleeps in an Atomics.waitAsync of
 * its own, with no sleeper on the LWP, so an LWP that exits while one is
 * pending (lwp_exit, or an uncaught error, in the same run or a later one)
 * leaves it pending and the thread unbound (the trampoline's finish: no
 * LWP, cur.lid 0) or on the exited LWP's dead handle. Resumed, it took the
 * port lock with no owner id, a kernel panic, and would have sent again for
 * no LWP. Such a wait runs no kernel code and never settles, as an
 * abandoned sleep (kern/sleeprun.ts).
 */
export function room_wait_gone(me: number, lid: number): boolean {
  return cur.lwp !== me || cur.lid !== lid || sq_thread_abandoned();
}
/** The LWP a room wait begins on (its handle, its lid), for {@link room_wait_gone}. */
export function room_wait_owner(): readonly [number, number] { return [cur.lwp, cur.lid]; }

/** Wakes the room waiters of a port without moving the generation (an abort: the waiter looks at its signal). */
export function room_poke(port: number): void {
  try { Atomics.notify(I32, fd_get(port, DTYPE_PORT, 'port_send', 'EBADFD') + P.roomGen); } catch { /* closed: nobody waits */ }
}

/**
 * A room other than the port's that a wait may be for (the message arena's:
 * msg-sys.ts), with a word of its own to sleep on.
 */
export interface RoomOther {
  /**
   * Registers the waiter and returns the generation of the word, read
   * before the attempt that follows (a free from then on moves it, or its
   * room is seen by the attempt).
   */
  arm(): number;
  /** Unregisters (after each attempt and sleep). */
  disarm(): void;
  /** The word to sleep on when the attempt's EAGAIN `full` is for this room; 0 when it is for the port's. */
  word(full: SysError): number;
  /** A sleep ended: a word moved (or had already), or the backstop timed out. */
  woke(timedOut: boolean): void;
}

/**
 * The wait for room of the awaitable sends and posts (port_send_wait here,
 * port_post_wait and port_post_many_wait in msg-sys.ts): tries `attempt`
 * (throwing EAGAIN when full; other errors are thrown) until it succeeds,
 * sleeping meanwhile on the port's `roomGen` word, or on `other`'s when the
 * EAGAIN is for that room: until `deadline` (performance.now() ms;
 * Infinity: no limit; then the EAGAIN is thrown) or until `aborted()` says
 * so (then `abortError()` is thrown). `syscall` names the call in its
 * errors (EBADFD, a panic's EIO). No wake-up is lost: the waiter reads the
 * generations, registers, then tries (the port's wait alone tries once
 * before registering too: a sender woken by a take usually finds room, and
 * needs no port lock for its count then); a take, or a free of `other`'s,
 * after the registration moves the word, so the sleep returns at once.
 */
export async function room_wait(port: number, syscall: string, attempt: () => void, deadline: number,
  aborted: () => boolean, abortError: () => unknown, other?: RoomOther): Promise<void> {
  const h = fd_get(port, DTYPE_PORT, syscall, 'EBADFD');
  /** One attempt: undefined when it went, the EAGAIN when full (other errors thrown). */
  const full_of = (): SysError | undefined => {
    try { attempt(); return undefined; } catch (e) { if (e instanceof SysError && e.code === 'EAGAIN') return e; throw e; }
  };
  const [me, lid] = room_wait_owner();
  // A sleeping sender keeps its event loop alive, as every kernel wait does (kern/keepalive.ts).
  const release = hold();
  try {
    for (;;) {
      const gen = Atomics.load(I32, h + P.roomGen);
      let ogen = 0;
      if (other === undefined) { if (full_of() === undefined) return; } else ogen = other.arm();
      // Counted in the port only while it is open (room_waiter_count: the struct may be a new port's after an await).
      const counted = room_waiter_count(h, port, 1); // (not when closed: the attempt fails)
      let gone = false;
      try {
        const full = full_of(); // registered: a take from now on moves the generation
        if (full === undefined) return;
        const left = deadline - performance.now();
        if (left <= 0) throw full;
        if (aborted()) throw abortError();
        const ow = other === undefined ? 0 : other.word(full);
        const r = await Atomics.waitAsync(I32, ow !== 0 ? ow : h + P.roomGen, ow !== 0 ? ogen : gen, Math.min(left, ROOM_RECHECK_MS)).value;
        // Its LWP is gone: no kernel code (not even the uncount: the port
        // keeps one waiter too many, which costs its takes a wake-up each;
        // `other`'s unregistering is a plain atomic of no LWP's).
        if ((gone = room_wait_gone(me, lid))) return sq_never();
        other?.woke(r === 'timed-out');
        // A panic ends the wait with EIO, as every kernel wait's: the send's
        // attempt may never meet the mark (a full lane says EAGAIN without
        // a lock), and it waited for room for ever.
        panic_check(syscall);
        if (aborted()) throw abortError();
      } finally {
        other?.disarm();
        if (counted && !gone) room_waiter_count(h, port, -1);
      }
    }
  } finally {
    release();
  }
}

/** The awaitable sends' options (copied in and checked by the caller: the class layer's waitopts). */
export interface SendWaitOptions { timeout?: number; signal?: AbortSignal }

/**
 * The awaitable port_send (an extension of the sys layer for the class
 * layer, src/sys/ext.ts; C's port_send never waits): sends at once, or
 * waits for room while the port is full — until `timeout` ms pass
 * (undefined or Infinity: no limit; 0: no wait), then port_send's EAGAIN;
 * until the signal aborts, then an AbortError.
 */
export async function port_send_wait(port: number, events: number, user: number, opts: SendWaitOptions = {}): Promise<void> {
  sysenter();
  const { timeout, signal } = opts;
  if (signal?.aborted) throw new AbortError(signal.reason);
  const send = (): void => port_send(port, events, user);
  try { send(); return; } catch (e) { if (!(e instanceof SysError) || e.code !== 'EAGAIN' || timeout === 0) throw e; }
  await wait_for_room(opts, () => { room_poke(port); }, (deadline, aborted, abortError) => room_wait(port, 'port_send', send, deadline, aborted, abortError));
}

/**
 * What an awaitable send and an awaitable post share (port_send_wait here,
 * port_post_wait in msg-sys.ts): the deadline their `timeout` sets, and an
 * abort of their `signal` that pokes the waiters (`poke`) so the wait ends
 * with an AbortError; `wait` is the room wait itself.
 */
export async function wait_for_room(opts: SendWaitOptions, poke: () => void,
  wait: (deadline: number, aborted: () => boolean, abortError: () => unknown) => Promise<void>): Promise<void> {
  const { timeout, signal } = opts;
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  signal?.addEventListener('abort', poke, { once: true });
  try {
    await wait(deadline, () => signal?.aborted === true, () => new AbortError(signal!.reason));
  } finally {
    signal?.removeEventListener('abort', poke);
  }
}
