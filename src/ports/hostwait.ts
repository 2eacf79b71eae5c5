/**
 * A getter's wait in the host (kern/sleepwait.ts HostWait) on a port with a
 * PORT_SOURCE_FD association: one hop from the descriptor to the getter.
 *
 * Without it, a write reaches a getter blocked in port_get in two thread
 * wake-ups: the host wakes the intr thread (epoll_wait), which queues the
 * event and wakes the getter's futex. With it, the getter sleeps in ppoll
 * on the descriptor of the port's latest association (the port's hint,
 * set by port_associate) and on its LWP slot's kick eventfd
 * (intr/kick.ts), which every other waker rings with its notify
 * (kern/sleepq.ts sq_host_kick). When the association is the only
 * interest in its descriptor, the getter takes the descriptor out of the
 * intr thread's reports while it waits (src-fd.ts fd_hwait_quiet), so the
 * write wakes the getter alone. Otherwise the same write wakes the getter
 * and the intr thread; whichever comes first to the descriptor's mark
 * decides who queues the event (src-fd.ts fd_claim, fd_hwait_begin /
 * _end): never both, never neither.
 *
 * Used by a blocking port_get / port_getn that would otherwise sleep with
 * no deadline-aware wait; async getters and timed ones on the deadline-aware
 * wait keep their ways. A hint whose descriptor is ready with nothing of
 * this port armed is dropped (fd_claim), so a getter never loops on a
 * descriptor ready for someone else.
 *
 * Measured in one process, alternating this wait and the two-hop one over
 * 8 pairs of 2000 writes (a pipe, re-associated per event, as in
 * bench/os-portfd.bench.ts): p50 9.2 against 11.9 us, 6.5 against 9.8 and
 * 12.4 against 14.5 us in three runs.
 */
import { I32 } from '../kern/kmem.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { HW_READY, type HostWait } from '../kern/sleepwait.js';
import * as ix from '../intr/kapi.js';
import { P } from './mem.js';
import { fd_claim, fd_host_events, fd_hwait_begin, fd_hwait_end, fd_hwait_quiet, fd_hwait_settle } from './src-fd.js';

/** A getter's host wait on one association's descriptor. */
class PortHostWait implements HostWait {
  kick = -1; fd = -1; events = 0; assoc = 0; port = 0; h = 0;
  wait(ns: number): number {
    const marked = fd_hwait_begin(this.fd);
    // The only waiter on fd: the intr thread need not hear of it meanwhile
    // (src-fd.ts fd_hwait_quiet), settled by the claim or below.
    if (marked) fd_hwait_quiet(this.port, this.fd, this.assoc);
    let r = ix.os_wait2(this.fd, this.events, this.kick, ns);
    if (marked && fd_hwait_end(this.fd, this.port)) r &= ~HW_READY;
    if (r <= 0 || (r & HW_READY) === 0) fd_hwait_settle(this.port, this.fd); // (ready() settles otherwise)
    return r;
  }
  drain(): void { ix.os_eventfd_drain(this.kick); }
  ready(): boolean { return fd_claim(this.port, this.fd, this.h, ix.os_wait2_revents()); }
}
/** This thread's (one: a thread sleeps once at a time). */
const hw = new PortHostWait();
const C_WAITS = kstat_counter('portfd', 'host_waits');

/** The host wait for a getter about to sleep on port h (its lock held), or undefined: sleep on the wait word. */
export function port_hostwait(h: number): HostWait | undefined {
  const hint = Atomics.load(I32, h + P.fdhint);
  if (hint === 0 || !ix.os_loaded()) return undefined; // (loaded before the lock: getn.ts host_unready)
  const kick = ix.intr_kick_fd_apart();
  if (kick < 0) return undefined;
  hw.kick = kick;
  hw.fd = hint - 1;
  hw.assoc = Atomics.load(I32, h + P.fdhintEv);
  hw.events = fd_host_events(hw.assoc);
  hw.port = I32[h + P.fd]!;
  hw.h = h;
  kstat_add(C_WAITS);
  return hw;
}
