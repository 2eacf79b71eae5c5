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
 *
 * In the kernel's set. A sleeper that waits in the host on the kernel's
 * epoll set (hostwait.ts) waits in epoll_pwait2 on the set itself, so that
 * the wait that wakes it is also the take of the set's events (one host
 * call, where ppoll on the set and its kick, then epoll_wait to take, were
 * two between an arrival and its delivery). Its kick must then be in that
 * set: the slot's first such wait adds it (edge-triggered, data KICK_DATA
 * and the slot), and it stays there until the LWP waits in the host
 * elsewhere (a port getter on its descriptor: intr_kick_fd_apart takes it
 * out, and the next wait on the set puts it back). So any taker
 * of the set (the intr thread, another host waiter, a poller, a bridge) may
 * take an LWP's kick event. Every taker hands it to intr_kick_stolen: rung
 * again when its LWP waits on the set now (a new edge, which its wait
 * takes), else dropped (its LWP is not there to need it: a ring only ever
 * follows a change of the sleeper's wait word, which the sleeper reads
 * before it waits again). The sleeper says it waits (K_DIRECT) before it
 * reads its wait word for the last time, and a waker changes the word
 * before it rings: so a taker that finds the flag clear took a ring whose
 * word change the sleeper will see (hostwait.ts: wait). A kick rung again
 * may be taken again, by the same taker (epoll hands a ready event to
 * whichever caller comes first): each round rings once more, until its
 * sleeper takes it, never lost. test/kevent-kick-theft measures the worst
 * case, a taker looping on the set: 0.7 to 3 rounds per kick.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import { cur } from '../kern/hdr.js';
import { tunables } from '../kern/boot.js';
import { eventfd_ring } from '../kern/host.js';
import { host_exit_rouser } from '../kern/libc.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { os_eventfd, os_epoll_set, os_epoll_del, os_errno, EPOLLIN, EPOLLET } from './ffi.js';
import { KICK_DATA, intr_epfd } from './intr.js';

/** Per LWP slot: its kick eventfd + 1, 0 until made. */
const kicks = kregion_create('intr_kick', (t) => t.maxlwp!);
/** Per LWP slot: K_INSET once its kick is in the kernel's set (the slot's LWP alone writes it), K_DIRECT while its LWP waits on that set. */
const inset = kregion_create('intr_kick_set', (t) => t.maxlwp!);
const K_INSET = 1, K_DIRECT = 2;
/** Kicks a taker of the set took from an LWP waiting there and rang again for it. */
const C_RERINGS = kstat_counter('intr', 'kick_rerings');
/** Kicks taken out of the kernel's set for a wait elsewhere (intr_kick_fd_apart). */
const C_APART = kstat_counter('intr', 'kick_apart');
const EEXIST = 17;

/** The calling LWP's slot (its kick's index), or -1. */
function kick_slot(): number { return cur.lid <= 0 ? -1 : (cur.lid - 1) % tunables().maxlwp!; }

/** The calling LWP's kick eventfd (made at its slot's first use), or -1 when the host will not make one. */
export function intr_kick_fd(): number {
  const slot = kick_slot();
  if (slot < 0) return -1;
  const w = kicks.base + slot;
  const v = Atomics.load(I32, w);
  if (v !== 0) return v - 1;
  const fd = os_eventfd();
  if (fd < 0) return -1;
  Atomics.store(I32, w, fd + 1); // only the LWP of this slot makes it: no race
  return fd;
}

/**
 * Puts the calling LWP's kick eventfd `kick` in the kernel's set `ep`, once
 * per slot. False when the host refuses (the caller waits as before).
 */
export function intr_kick_in_set(ep: number, kick: number): boolean {
  const slot = kick_slot();
  if (slot < 0) return false;
  const w = inset.base + slot;
  if ((Atomics.load(I32, w) & K_INSET) !== 0) return true;
  // EEXIST: it is there (a take-out that failed below): as good.
  if (os_epoll_set(ep, kick, (EPOLLIN | EPOLLET) >>> 0, KICK_DATA, slot, false) < 0 && os_errno() !== EEXIST) return false;
  Atomics.or(I32, w, K_INSET);
  return true;
}
/**
 * The calling LWP's kick eventfd for a host wait that is not on the
 * kernel's set (ports/hostwait.ts: a getter's wait on its descriptor), or
 * -1 as intr_kick_fd: taken out of that set first when a wait on the set
 * put it there, so that the rings meant for this wait do not also wake
 * the set's takers (the intr thread, when no host waiter keeps it away) to
 * find a kick they drop. Its next wait on the set puts it back.
 */
export function intr_kick_fd_apart(): number {
  const fd = intr_kick_fd();
  if (fd < 0) return fd;
  const w = inset.base + kick_slot();
  if ((Atomics.load(I32, w) & K_INSET) !== 0) {
    os_epoll_del(intr_epfd(), fd); // (failing: it stays there, its rings only wake takers for nothing)
    Atomics.and(I32, w, ~K_INSET);
    kstat_add(C_APART);
  }
  return fd;
}
/** The calling LWP waits on the kernel's set now (true), or no longer. */
export function intr_kick_direct(on: boolean): void {
  const w = inset.base + kick_slot();
  if (on) Atomics.or(I32, w, K_DIRECT); else Atomics.and(I32, w, ~K_DIRECT);
}
/** A taker of the kernel's set took slot's kick event, not its own: ring it again if its LWP waits there. */
export function intr_kick_stolen(slot: number): void {
  const n = tunables().maxlwp!;
  if (slot < 0 || slot >= n || (Atomics.load(I32, inset.base + slot) & K_DIRECT) === 0) return;
  const v = Atomics.load(I32, kicks.base + slot);
  if (v === 0) return;
  kstat_add(C_RERINGS);
  eventfd_ring(v - 1);
}
/** Whether data (KICK_DATA, slot) is the calling LWP's own kick event. */
export function intr_kick_mine(slot: number): boolean { return slot === kick_slot(); }

// At process exit every kick made so far is rung: a sleeper in a host wait
// wakes and waits for its termination instead (kern/libc.ts host_enter; its
// slot's kick was stored before it entered the wait). A ring of a slot
// nobody waits on is a spurious wake-up nobody sees. A waiter of the set
// that takes another's ring with its own parks before it could ring it
// again (intr_kick_stolen runs after its wait returns): each thread that
// parks so runs this again first (kern/libc.ts host_leave).
host_exit_rouser(() => {
  const n = tunables().maxlwp!;
  for (let i = 0; i < n; i++) {
    const v = Atomics.load(I32, kicks.base + i);
    if (v !== 0) eventfd_ring(v - 1);
  }
});
