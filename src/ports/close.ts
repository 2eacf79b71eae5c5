/**
 * Closing a port (close(2) on its descriptor) and the descriptor-table
 * operations of ports: a port is readable while events are queued.
 */
import { I32 } from '../kern/kmem.js';
import { mutex_enter } from '../kern/mutex.js';
import { fileops_register, fd_list, fd_close, DTYPE_PORT } from '../kern/fdtab.js';
import { sq_wake_all } from '../kern/sleepq.js';
import { kstat_add } from '../kern/kstat.js';
import { on_proc_exit } from '../kern/proc.js';
import { P, E, port_lock, port_id_word, PQ_CLOSE, ST_RESERVED, C_DISCARDED } from './mem.js';
import { PORT_ALLOC_CACHED, PORT_ALLOC_SCACHED } from './consts.js';
import { port_exit, port_exit_release, slot_free_locked, slots_drain_locked, sent_fold_locked, port_nent } from './queue.js';
import { lane_close_locked } from './lane.js';
import { port_sources } from './source.js';
import { room_close } from './room.js';
import { msg_close_slot, PORT_SOURCE_MSG } from './msg-sys.js';
import { msg_room_word } from './msg-arena.js';
import { intr_host_load } from '../intr/kapi.js';

const KEEP = PORT_ALLOC_CACHED | PORT_ALLOC_SCACHED;

/**
 * Closes port h (its descriptor fd is being closed): from now on the
 * descriptor is EBADF, waiters return EBADFD, queued events are discarded
 * (slots the sources keep go back to them, reserved), sources hear of it,
 * and the struct is released once its last slot comes back.
 */
export function port_close(h: number, fd: number): void {
  // Its OS sources' release makes host calls: loaded first in a thread that has not (getn.ts host_unready).
  if (Atomics.load(I32, h + P.fdset) !== 0 || Atomics.load(I32, h + P.hostset) !== 0) intr_host_load();
  mutex_enter(port_lock(h));
  Atomics.store(I32, port_id_word(h), 0);
  // Atomic: a getter that gave slots back without the lock reads it to know
  // whether it must release the struct itself (take.ts).
  Atomics.store(I32, h + P.flags, I32[h + P.flags]! | PQ_CLOSE);
  sent_fold_locked(h);
  let dropped = 0;
  for (let s = I32[h + P.head]!; s !== 0;) {
    const nx = I32[s + E.next]!;
    I32[s + E.next] = 0; I32[s + E.prev] = 0;
    if (I32[s + E.flags]! & KEEP) Atomics.store(I32, s + E.st, ST_RESERVED);
    else {
      if (I32[s + E.source] === PORT_SOURCE_MSG) msg_close_slot(s); // its arena block (the arena lock is a leaf)
      slot_free_locked(h, s);
    }
    dropped++;
    s = nx;
  }
  I32[h + P.head] = 0; I32[h + P.tail] = 0; I32[h + P.nsrcq] = 0;
  dropped += lane_close_locked(h);
  Atomics.store(I32, h + P.nent, 0);
  slots_drain_locked(h); // the port's free slots go back to the kernel-wide cache
  sq_wake_all(h + P.wqh);
  room_close(h);
  port_exit(h);
  // Posts waiting for arena room on this port: they retry and find it closed.
  Atomics.add(I32, msg_room_word(), 1);
  Atomics.notify(I32, msg_room_word());
  if (dropped > 0) kstat_add(C_DISCARDED, dropped);
  // The seed's port_close asks each source to return its slots (timer_close_port).
  for (const ops of port_sources()) {
    if (ops.closed === undefined) continue;
    try { ops.closed(fd); } catch (e) { process.emitWarning(`port source ${ops.name}: closed callback threw: ${String(e)}`); }
  }
  mutex_enter(port_lock(h));
  port_exit_release(h);
}

fileops_register(DTYPE_PORT, {
  name: 'port',
  close: port_close,
  readable: (h: number) => port_nent(h),
  // (Both marks are never cleared: a port that had such an association may get events from the host.)
  hostfed: (h: number) => Atomics.load(I32, h + P.fdset) !== 0 || Atomics.load(I32, h + P.hostset) !== 0,
});

// Process exit closes every port (exit(2) closes all descriptors).
on_proc_exit(() => {
  for (const f of fd_list()) if (f.type === DTYPE_PORT) { try { fd_close(f.fd); } catch { /* closed meanwhile */ } }
});
