/**
 * The bridge until the intr thread runs: a thread about to sleep takes what
 * the kernel's epoll set has now itself and dispatches it through the one
 * mapping (intr_dispatch), so no OS event waits for the thread's start.
 * Apart from intr.ts (whose names it keeps, re-exported there) only to keep
 * that file to its structs and their theory.
 */
import * as os from './ffi.js';
import { intr_dispatch, intr_epfd, intr_running } from './intr.js';

/** Whether OS events may wait for a bridge: an epoll set exists and the intr thread does not run yet. */
export function intr_bridge_needed(): boolean {
  return !intr_running() && intr_epfd() >= 0 && os.os_loaded();
}

let bridgeBuf: os.EpollEvents | undefined;
/**
 * The bridge until the intr thread runs (no lock held): takes what the
 * epoll set has now, without waiting, and dispatches it here. Returns true
 * while the thread is not running yet and there is an epoll set, so a
 * caller about to sleep sleeps briefly and calls again; false (one atomic
 * load) once the thread runs. Events are taken once, by whichever thread's
 * epoll_wait gets them.
 */
export function intr_bridge(): boolean {
  if (intr_running()) return false;
  const ep = intr_epfd();
  // Only threads that use host calls already (they registered an OS
  // descriptor): a thread that never did does not load them for the bridge.
  if (ep < 0 || !os.os_loaded()) return false;
  bridgeBuf ??= new os.EpollEvents(64);
  const n = os.os_epoll_wait(ep, bridgeBuf, 0);
  for (let i = 0; i < n; i++) {
    const lo = bridgeBuf.lo(i);
    if (lo !== 0) intr_dispatch(lo, bridgeBuf.hi(i), bridgeBuf.events(i));
  }
  return true;
}
/** How long a sleeper sleeps between bridge runs before the intr thread runs (ns). */
export const BRIDGE_NS = 1e6;
