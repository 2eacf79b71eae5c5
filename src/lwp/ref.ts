/**
 * lwp_ref: Node's ref()/unref() for an LWP, a ukern extension of the sys
 * layer for the class layer (src/sys/ext.ts; not part of `ukern/sys`).
 * The booting thread keeps the process alive while p_nkeep > 0 (spawn.ts
 * lwp0_refresh); this moves an LWP in or out of that count (lwp/lwp.ts's
 * flag table: LW_NOREF).
 */
import { I32 } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { fail } from '../kern/errno.js';
import { copyin_int, arg_type } from '../kern/copyin.js';
import { sysenter } from '../kern/sysent.js';
import { L, LSIDL, LSZOMB, LW_MAIN, LW_NOREF, lwp_byid } from './lwp.js';
import { P, curproc } from '../kern/proc.js';
import { lwp0_live } from './spawn.js';

/**
 * ukern's extension, Node's ref()/unref() for a thread: whether LWP `lid`
 * keeps the Node process alive (every LWP does from its create; LWP 1 is
 * the booting thread, kept alive by its own event loop, and zombies keep
 * nothing alive: for them only the flag changes). An unref'd LWP ends with
 * the process when nothing else keeps it alive, as an unref'd Worker does.
 * ESRCH for no such LWP.
 */
export function lwp_ref(lid: number, ref: boolean): void {
  sysenter();
  const n = copyin_int(lid, 'lid', 'lwp_ref', 'ESRCH');
  if (typeof ref !== 'boolean') arg_type('lwp_ref', 'ref must be a boolean');
  const p = curproc();
  mutex_enter(p + P.lock);
  const t = n === cur.lid ? cur.lwp : lwp_byid(n);
  const st = t === 0 ? 0 : Atomics.load(I32, t + L.stat);
  if (st === 0 || st === LSIDL) { mutex_exit(p + P.lock); fail('ESRCH', 'lwp_ref', `lid ${n}`); }
  const fl = Atomics.load(I32, t + L.flag);
  const changed = ((fl & LW_NOREF) === 0) !== ref;
  if (changed) {
    if (ref) Atomics.and(I32, t + L.flag, ~LW_NOREF); else Atomics.or(I32, t + L.flag, LW_NOREF);
    if (st !== LSZOMB && (fl & LW_MAIN) === 0) I32[p + P.nkeep] += ref ? 1 : -1;
  }
  mutex_exit(p + P.lock);
  if (changed) lwp0_live();
}
