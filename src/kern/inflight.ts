/**
 * Waiting out work another thread has in flight on an object the caller is
 * about to stop or free: a callout's handler that is firing
 * (timers/callout.ts, callout_stop) and a port event's delivery callback
 * (ports/source.ts, port_free_event). The other side ends its work by
 * changing one word and notifying it, so the waiter needs no sleep queue:
 * it sleeps on that word in short slices. It must hold no kernel lock the
 * work may need (each caller checks its own rule first, and panics: kernel
 * discipline), fails with EIO once the kernel has panicked, and panics
 * itself at its deadline: the work is a few microseconds of kernel code,
 * and one still running then has a dead thread under it, for which waiting
 * on would hang the caller for good.
 */
import { I32 } from './kmem.js';
import { panicked } from './hdr.js';
import { kpanic, panic_error } from './panic.js';
import { mono_now } from './time.js';

/** How long one slice sleeps at most (ms): the bound on noticing a panic or the deadline. */
const SLICE_MS = 10;

/**
 * One slice of the wait while word `w` reads `v`, no lock held: returns
 * once it was notified, the word changed or the slice ran out (the caller
 * looks at its condition again). EIO after a panic; a panic with
 * `overdue()`'s message once kernel monotonic time passed `until` (ns).
 */
export function inflight_wait(w: number, v: number, until: number, syscall: string, overdue: () => string): void {
  if (panicked()) throw panic_error(syscall);
  if (mono_now() > until) kpanic(overdue(), syscall);
  Atomics.wait(I32, w, v, SLICE_MS);
}
