/**
 * Which signals the program wants from the host: those it catches or
 * ignores, waits for in sigwait, or watches with EVFILT_SIGNAL. Node hears
 * OS signals on the main thread's event loop only, and a listener changes
 * the host's disposition (a signal with a listener no longer kills), so the
 * main thread listens for exactly this set, and no more: an OS signal that
 * nothing in the program wants keeps its default action. The set lives in
 * kernel memory (sigacts os0/os1) and any LWP changes it; the main thread's
 * router (signals/router.ts) waits on `osbell` and follows it. It is not
 * rung for a listener it already has (osl0/osl1 say which), and the end of a
 * sigwait drops its signal's listener lazily (os_update_locked); one a
 * sigwait rang for is added even when the wait ended first (osr0/osr1).
 */
import { I32 } from '../kern/kmem.js';
import { sig_word, sig_bit } from './sigset.js';
import { SG, SA, SK_DFL, sigacts_h, sigact_h } from './sigstate.js';

/** Rings the router (a futex wake, not a lock: harmless under the signal lock). */
function ring(): void {
  const sg = sigacts_h();
  Atomics.add(I32, sg + SG.osbell, 1);
  Atomics.notify(I32, sg + SG.osbell);
}

/** Does the router have a host listener for s now (osl0/osl1)? */
function listened(s: number): boolean {
  return (Atomics.load(I32, sigacts_h() + SG.osl0 + sig_word(s)) & sig_bit(s)) !== 0;
}

/**
 * Recomputes whether s is wanted from the host (signal lock held), and
 * rings the router when it must add or drop a listener. With `lazy` (the
 * end of a sigwait) a signal no longer wanted keeps its listener until the
 * router next syncs for another reason: until then a signal from outside
 * enters the kernel, where the default action it gets is the host's (but
 * SIGUSR1's, which Node keeps for its inspector). So an LWP whose sigwait
 * ends and starts again at every signal does not have the main thread add
 * and remove a host listener each time (uv_signal_start/stop: ~15 us of
 * every sigwaitinfo's latency on this VM, and the main thread's CPU).
 */
export function os_update_locked(s: number, lazy = false): void {
  const sg = sigacts_h(), sa = sigact_h(s);
  const want = I32[sa + SA.kind] !== SK_DFL || I32[sa + SA.nwatch]! > 0 || I32[sa + SA.nwait]! > 0;
  const off = sg + SG.os0 + sig_word(s);
  const was = Atomics.load(I32, off);
  const now = want ? was | sig_bit(s) : was & ~sig_bit(s);
  if (now === was) return;
  Atomics.store(I32, off, now);
  if (want ? !listened(s) : !lazy) ring();
}

/** Is s routed from the host now? */
export function os_wanted(s: number): boolean {
  return (Atomics.load(I32, sigacts_h() + SG.os0 + sig_word(s)) & sig_bit(s)) !== 0;
}

/**
 * The router publishes the signals it listens for (main thread only), then
 * says whether a wanted one is still missing (a bit set meanwhile by an LWP
 * that saw the old listening set and did not ring: the router syncs again).
 * Each side stores, then loads the other's word (sequentially consistent
 * Atomics), so one of them sees the other's store.
 */
export function os_publish_listening(l0: number, l1: number): boolean {
  const sg = sigacts_h();
  Atomics.store(I32, sg + SG.osl0, l0);
  Atomics.store(I32, sg + SG.osl1, l1);
  return (Atomics.load(I32, sg + SG.os0) & ~l0) !== 0 || (Atomics.load(I32, sg + SG.os1) & ~l1) !== 0;
}

/**
 * The calling LWP is about to wait for (w0, w1): marks them wanted from the
 * host now (they stay wanted while anyone waits; set_wait re-evaluates them
 * when the wait ends). Returns whether the router must add a listener (it
 * was rung). Lock-free: a bit set early only makes the host's signal reach
 * the kernel, where it waits pending for the waiter.
 */
export function os_want_waited(w0: number, w1: number): boolean {
  const sg = sigacts_h();
  Atomics.or(I32, sg + SG.os0, w0); Atomics.or(I32, sg + SG.os1, w1);
  const m0 = w0 & ~Atomics.load(I32, sg + SG.osl0), m1 = w1 & ~Atomics.load(I32, sg + SG.osl1);
  if (m0 === 0 && m1 === 0) return false;
  // The wait may end before the router runs (the signal was already on its
  // way): it must still add the listener, or the next wait rings again and
  // the race repeats at every signal. osr0/osr1 say so until it has synced.
  Atomics.or(I32, sg + SG.osr0, m0); Atomics.or(I32, sg + SG.osr1, m1);
  ring();
  return true;
}

/** Takes the signals rung for by a sigwait since the router last synced (router_sync: main thread only). */
export function os_take_rung(): readonly [number, number] {
  const sg = sigacts_h();
  return [Atomics.exchange(I32, sg + SG.osr0, 0), Atomics.exchange(I32, sg + SG.osr1, 0)];
}
