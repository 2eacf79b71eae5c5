/**
 * What keeps a thread's event loop alive while kernel waits are pending.
 * Atomics.waitAsync does not keep Node's event loop alive; while any ref'd
 * hold is pending in this thread, one ref'd timer does (one timer for all).
 *
 * Holds are ref'd by default, like Node's handles. The class layer's ref()/
 * unref() (Port, KQueue) decides for the waits it starts: it runs the call
 * that starts a wait inside `hold_scope`, whose scope (a live object: ref'd
 * or not now, and its pending holds) is handed back, so that a later unref()
 * or ref() of the object applies to the waits already pending. A wait that
 * sleeps more than once (woken, it finds its event taken and sleeps again)
 * takes its later holds after an await, outside the call: it captures the
 * scope it started in (`hold_scope_current`, in its synchronous start) and
 * takes them in it (`hold_in`). Taken outside any scope, they were ref'd,
 * and an unref'd wait kept the process alive from its second sleep on.
 */
import { host_setInterval, host_clearInterval, host_setTimeout } from './host.js';
import { I32 } from './kmem.js';
import { H_PANIC, panic_status_set } from './hdr.js';

let refd = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** One pending wait's hold on the event loop. */
export interface Hold {
  /** The wait settled: the hold goes (idempotent). */
  release(): void;
  ref(): void;
  unref(): void;
}

function more(): void {
  if (refd++ === 0 && !dead) {
    timer = host_setInterval(noop, 0x7fffffff);
    if (!watching) watch_panic();
  }
}
function less(): void {
  if (--refd !== 0) return;
  if (timer !== undefined) { host_clearInterval(timer); timer = undefined; }
  // The last hold went (a wait failed with the panic's EIO) before the
  // watch's task came: the thread sees the panic now, or its loop could end
  // first, with the status the panic gives never set.
  if (watching && !met && I32.length > H_PANIC && Atomics.load(I32, H_PANIC) !== 0) panic_seen();
}
function noop(): void {}

/*
 * A panic lets go of the event loop. Waits that enter the kernel again fail
 * with EIO, but one that never does holds on for ever: a Timer's next()
 * waits for the mailbox pump, whose hold kept a process whose clock thread
 * had died alive for good. From its first hold on (or its first
 * on_panic_seen), a thread watches the panic mark (one Atomics.waitAsync
 * for the thread's life, which holds nothing itself; panic_mark notifies
 * the word). When it sees the panic, the process's status becomes 70
 * unless it has one already (as lwp/spawn.ts does when LWPs are left), the
 * on_panic_seen listeners run (what waits outside the kernel fails with
 * EIO there), and PANIC_GRACE_MS later the thread's holds stop keeping the
 * loop alive. Not at once: the waits pending then are woken with EIO by
 * the same panic (their wake-ups come as tasks after the mark's), some at
 * a backstop recheck (a send waiting for room: 100 ms), and a loop let go
 * at the mark ended the process before they settled, their errors and
 * what the program said of them never seen. A thread whose waits all
 * settle gives its holds back meanwhile, and its loop ends then.
 */
let watching = false;
let dead = false;
/** This thread has seen the panic (on_panic_seen listeners ran). */
let met = false;
/** How long a thread's kernel holds outlive the panic it saw: the waits pending then settle first (bounded). */
export const PANIC_GRACE_MS = 250;
const listeners = new Set<() => void>();
function watch_panic(): void {
  if (I32.length <= H_PANIC) return; // no kernel memory yet: the next hold looks again
  watching = true;
  const r = Atomics.waitAsync(I32, H_PANIC, 0);
  if (r.async) void r.value.then(panic_seen); else panic_seen();
}
function panic_seen(): void {
  if (Atomics.load(I32, H_PANIC) === 0) { watching = false; if (refd > 0 || listeners.size > 0) watch_panic(); return; } // (spurious)
  if (met) return; // seen already (less(), at the last hold's release)
  met = true;
  panic_status_set();
  for (const fn of [...listeners]) panic_tell_one(fn);
  host_setTimeout(let_go, PANIC_GRACE_MS).unref();
}
function let_go(): void {
  dead = true;
  if (timer !== undefined) { host_clearInterval(timer); timer = undefined; }
}
function panic_tell_one(fn: () => void): void {
  if (!listeners.delete(fn)) return;
  try { fn(); } catch (e) { queueMicrotask(() => { throw e; }); }
}

/**
 * Calls `fn` once when this thread sees the kernel panicked (from the
 * watch's task; when the kernel is panicked already, from a microtask, or
 * even before this returns): for a wait that never enters the kernel again
 * (a Timer's next(), waiting for the mailbox pump), which must fail with
 * the panic's EIO as every kernel wait does. Returns the function that
 * forgets `fn` (the wait settled otherwise). Holds nothing: the wait's own
 * holds keep the loop alive.
 */
export function on_panic_seen(fn: () => void): () => void {
  listeners.add(fn);
  if (met) queueMicrotask(() => { panic_tell_one(fn); });
  else if (!watching) watch_panic();
  return () => { listeners.delete(fn); };
}

/** A hold scope: whether the holds taken in it are ref'd now, and those pending. */
export interface HoldScope { ref: boolean; readonly holds: Set<Hold> }

let scope: HoldScope | undefined;

/** Marks one async wait as pending; call the returned function once when it settles. */
export function hold(): () => void {
  const sc = scope;
  let on = false, done = false;
  const h: Hold = {
    release() { if (done) return; done = true; sc?.holds.delete(h); if (on) { on = false; less(); } },
    ref() { if (!done && !on) { on = true; more(); } },
    unref() { if (!done && on) { on = false; less(); } },
  };
  if (sc === undefined || sc.ref) h.ref();
  sc?.holds.add(h);
  return h.release;
}

/** Runs `fn` (which may start async waits) in a new scope, ref'd or not; returns its value and the scope. */
export function hold_scope<T>(ref: boolean, fn: () => T): { value: T; scope: HoldScope } {
  const sc: HoldScope = { ref, holds: new Set() };
  return { value: hold_in(sc, fn), scope: sc };
}

/** The scope the calling code runs in (undefined: none): what a wait's later sleeps take their holds in. */
export function hold_scope_current(): HoldScope | undefined { return scope; }

/** Runs `fn` in scope `sc` (undefined: none): the holds it takes follow sc. */
export function hold_in<T>(sc: HoldScope | undefined, fn: () => T): T {
  const outer = scope;
  scope = sc;
  try {
    return fn();
  } finally {
    scope = outer;
  }
}
