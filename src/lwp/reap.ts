/**
 * Reaping an LWP whose worker thread is gone without exiting it (the pool's
 * owner calls this from the worker's 'exit' event: pool.ts). Its LWP exits
 * as LW_DIED: it becomes a zombie (or is freed if detached), its waiters
 * wake and its async sleepers leave their queues. A worker that died
 * holding a kernel lock left kernel memory inconsistent: that is a panic
 * (everyone waiting in the kernel wakes with EIO), never a repair.
 */
import { I32 } from '../kern/kmem.js';
import { panicked } from '../kern/hdr.js';
import { panic_mark } from '../kern/panic.js';
import { L, LW_DIED, LSZOMB, lwp_byid, lwp_stat } from './lwp.js';
import { lwp_exit_common, lwp_orphan_sleepers } from './ops.js';

export function lwp_reap_dead(lid: number): void {
  const h = lwp_byid(lid);
  if (h === 0 || lwp_stat(h) === LSZOMB) return; // freed, or exited already (by its trampoline)
  if (I32[h + L.nlocks]! > 0 || panicked()) {
    panic_mark(`LWP ${lid} died holding ${I32[h + L.nlocks]} kernel lock(s); kernel memory is inconsistent`, lid);
    return;
  }
  lwp_orphan_sleepers(h);
  lwp_exit_common(h, lid, LW_DIED);
}
