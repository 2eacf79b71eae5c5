/**
 * The bridge until the intr thread runs: a thread about to sleep takes what
 * the kernel's epoll set has now itself and dispatches it through the one
 * mapping (intr_dispatch), so no OS event waits for the thread's start.
 * Apart from intr.ts (whose names it keeps, re-exported there) only to keep
 * that file to its structs and their theory.
 */
import * as os from './ffi.js';
import { intr_epfd, intr_running } from './intr.js';
import { intr_dispatch } from './dispatch.js';

/** Whether OS events may wait for a bridge: an epoll set exists and the intr thread does not run yet. */
export function intr_bridge_needed(): boolean {
  return !intr_running() && intr_epfd() >= 0 && os.os_loaded();
}

let harvestBuf: os.EpollEvents | undefined;
/**
 * Takes what the kernel's epoll set has now, without waiting, and
 * dispatches it in this thread (no lock held): the bridge's body, and what
 * a sleeper waiting in the host on the set does when it wakes
 * (hostwait.ts). Events are taken once, by whichever thread's epoll_wait
 * gets them; the control eventfd's (data 0) is the intr thread's and is
 * left alone. Returns how many it took.
 */
export function intr_harvest(): number {
  const ep = intr_epfd();
  if (ep < 0) return 0;
  harvestBuf ??= new os.EpollEvents(64);
  let total = 0, n: number;
  do {
    n = os.os_epoll_wait(ep, harvestBuf, 0);
    for (let i = 0; i < n; i++) {
      const lo = harvestBuf.lo(i);
      if (lo === 0) continue;
      intr_dispatch(lo, harvestBuf.hi(i), harvestBuf.events(i));
    }
    if (n > 0) total += n;
  } while (n === harvestBuf.n); // a full batch: more may be there, with no new edge for them
  return total;
}

/**
 * The bridge until the intr thread runs (no lock held): takes what the
 * epoll set has now and dispatches it here (intr_harvest). Returns true
 * while the thread is not running yet and there is an epoll set, so a
 * caller about to sleep sleeps briefly and calls again; false (one atomic
 * load) once the thread runs.
 */
export function intr_bridge(): boolean {
  if (intr_running()) return false;
  // Only threads that use host calls already (they registered an OS
  // descriptor): a thread that never did does not load them for the bridge.
  if (intr_epfd() < 0 || !os.os_loaded()) return false;
  intr_harvest();
  return true;
}
/** How long a sleeper sleeps between bridge runs before the intr thread runs (ns). */
export const BRIDGE_NS = 1e6;
