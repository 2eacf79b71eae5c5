/**
 * Which signals the program wants from the host: those it catches or
 * ignores, waits for in sigwait, or watches with EVFILT_SIGNAL. Node hears
 * OS signals on the main thread's event loop only, and a listener changes
 * the host's disposition (a signal with a listener no longer kills), so the
 * main thread listens for exactly this set, and no more: an OS signal that
 * nothing in the program wants keeps its default action. The set lives in
 * kernel memory (sigacts os0/os1) and any LWP changes it; the main thread's
 * router (signals/router.ts) waits on `osbell` and follows it.
 */
import { I32 } from '../kern/kmem.js';
import { sig_word, sig_bit } from './sigset.js';
import { SG, SA, LS, SK_DFL, sigacts_h, sigact_h, lwpsig_h, lwpsig_count } from './sigstate.js';

/** Recomputes whether s is wanted from the host and rings the router when that changed (signal lock held). */
export function os_update_locked(s: number): void {
  const sg = sigacts_h(), sa = sigact_h(s);
  const want = I32[sa + SA.kind] !== SK_DFL || I32[sa + SA.nwatch]! > 0 || waited_somewhere(s);
  const off = sg + SG.os0 + sig_word(s);
  const was = Atomics.load(I32, off);
  const now = want ? was | sig_bit(s) : was & ~sig_bit(s);
  if (now === was) return;
  Atomics.store(I32, off, now);
  // A futex wake, not a lock: harmless under the signal lock.
  Atomics.add(I32, sg + SG.osbell, 1);
  Atomics.notify(I32, sg + SG.osbell);
}

function waited_somewhere(s: number): boolean {
  const n = lwpsig_count();
  for (let i = 0; i < n; i++) {
    const ls = lwpsig_h(i);
    if (I32[ls + LS.lid] !== 0 && (I32[ls + LS.wait0 + sig_word(s)]! & sig_bit(s)) !== 0) return true;
  }
  return false;
}

/** Is s routed from the host now? */
export function os_wanted(s: number): boolean {
  return (Atomics.load(I32, sigacts_h() + SG.os0 + sig_word(s)) & sig_bit(s)) !== 0;
}

/**
 * The calling LWP is about to wait for (w0, w1): marks them wanted from the
 * host now (they stay wanted while anyone waits; set_wait re-evaluates them
 * when the wait ends). Returns whether the set changed. Lock-free: a bit
 * set early only makes the host's signal reach the kernel, where it waits
 * pending for the waiter.
 */
export function os_want_waited(w0: number, w1: number): boolean {
  const sg = sigacts_h();
  const a = Atomics.or(I32, sg + SG.os0, w0), b = Atomics.or(I32, sg + SG.os1, w1);
  if ((a | w0) === a && (b | w1) === b) return false;
  Atomics.add(I32, sg + SG.osbell, 1);
  Atomics.notify(I32, sg + SG.osbell);
  return true;
}
