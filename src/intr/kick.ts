/**
 * Kick eventfds: the host-side wake-up of a sleeper that waits in the host
 * (kern/sleepwait.ts HostWait: a getter blocked in ppoll on a descriptor
 * instead of on its wait word). One per LWP slot, made by the slot's first
 * such sleep and kept for the process's life: at most maxlwp of them. Its
 * sleeper publishes it in its sleep-queue entry while it waits; a waker
 * rings it (kern/sleepq.ts sq_host_kick, Node's fs.writeSync: any thread
 * can). Never closed, so a ring that comes late (its sleeper gone, the slot
 * reused) can only ever reach another kick eventfd, never a file that
 * reused the number: a spurious wake-up, which every wait loop tolerates.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { tunables } from '../kern/boot.js';
import { eventfd_ring } from '../kern/host.js';
import { host_exit_rouser } from '../kern/libc.js';
import { os_eventfd } from './ffi.js';

/** Per LWP slot: its kick eventfd + 1, 0 until made. */
const kicks = kregion_create('intr_kick', (t) => t.maxlwp!);

/** The calling LWP's kick eventfd (made at its slot's first use), or -1 when the host will not make one. */
export function intr_kick_fd(): number {
  if (cur.lid <= 0) return -1;
  const w = kicks.base + ((cur.lid - 1) % tunables().maxlwp!);
  const v = Atomics.load(I32, w);
  if (v !== 0) return v - 1;
  const fd = os_eventfd();
  if (fd < 0) return -1;
  Atomics.store(I32, w, fd + 1); // only the LWP of this slot makes it: no race
  return fd;
}

// At process exit every kick made so far is rung: a sleeper in a host wait
// wakes and waits for its termination instead (kern/libc.ts host_enter; its
// slot's kick was stored before it entered the wait). A ring of a slot
// nobody waits on is a spurious wake-up nobody sees.
host_exit_rouser(() => {
  const n = tunables().maxlwp!;
  for (let i = 0; i < n; i++) {
    const v = Atomics.load(I32, kicks.base + i);
    if (v !== 0) eventfd_ring(v - 1);
  }
});
