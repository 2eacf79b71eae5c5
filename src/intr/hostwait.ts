/**
 * A sleeper's wait in the host on the kernel's epoll set (kern/sleepwait.ts
 * HostWait): one host wake-up from an OS descriptor to an LWP blocked in
 * kevent on a kqueue with OS knotes.
 *
 * Without it, a write reaches such an LWP in two: the host wakes the intr
 * thread (epoll_wait), which dispatches the event (knote activations) and
 * wakes the LWP's futex. With it, the LWP sleeps in ppoll on the epoll set
 * itself (readable while it holds events) and on its kick eventfd
 * (intr/kick.ts, which every other waker rings: kern/sleepq.ts). The
 * arrival wakes it and the intr thread; while any sleeper waits so, the
 * intr thread leaves the set's events alone (handover.ts intr_hwait_skip) and
 * the sleeper takes them (bridge.ts intr_harvest) and dispatches them
 * through the one mapping in its own thread, activating its own knote (a
 * wake-up of itself: a store, no host call). epoll_wait hands each
 * edge-triggered event to one caller, so each is dispatched once: by a
 * sleeper, or by the intr thread once the last sleeper left and its
 * linger ended (handover.ts; the last one takes the set once more if the intr
 * thread found events left to it meanwhile: nothing waits for a later
 * edge).
 *
 * What such a sleeper takes is everyone's: an event for another kqueue or
 * port is dispatched here as the intr thread would have, waking its
 * sleepers from this thread. Work only the intr thread may do comes back
 * to it through a poke (intr.ts intr_poke). The port's PORT_SOURCE_FD
 * getter waits on its one descriptor instead (ports/hostwait.ts).
 */
import { HW_READY, HW_KICK, type HostWait } from '../kern/sleepwait.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { intr_epfd, intr_running, intr_call_forget } from './intr.js';
import { intr_hwait_enter, intr_hwait_epoch, intr_hwait_leave, intr_hwait_possible, intr_hwait_pending, intr_lingering } from './handover.js';
import { intr_harvest, BRIDGE_NS } from './bridge.js';
import { intr_kick_fd } from './kick.js';
import { os_available, os_loaded, os_wait2, os_eventfd_drain, W2_FD, W2_KICK, POLLIN } from './ffi.js';

const C_WAITS = kstat_counter('intr', 'host_waits');
const C_TAKEN = kstat_counter('intr', 'host_taken');
/** Events a poller took from the set while a linger lasted (intr_linger_take). */
const C_LTAKEN = kstat_counter('intr', 'linger_taken');

class SetHostWait implements HostWait {
  kick = -1; ep = -1;
  /** The skip epoch this sleeper has covered: at its enter, then at its last take. */
  private epoch = 0;
  wait(ns: number): number {
    intr_call_forget(); // a new wait: a statx confirmation from before it is no answer after it
    this.epoch = intr_hwait_enter();
    const r = os_wait2(this.ep, POLLIN, this.kick, ns);
    const kick = r > 0 && (r & W2_KICK) !== 0 ? HW_KICK : 0;
    // Readable: the events are taken in ready() (still counted as a waiter
    // until then, so the intr thread leaves them to this thread).
    if (r > 0 && (r & W2_FD) !== 0) return HW_READY | kick;
    // A wait that ran out (or failed) lingers not: a caller that waits out
    // its timeouts (an idle loop) would otherwise cost the intr thread a
    // wake-up per timeout to end the linger; with nothing taken there is
    // no traffic to keep the set for (intr.ts).
    this.leave(r > 0);
    return r < 0 ? -1 : kick;
  }
  drain(): void { os_eventfd_drain(this.kick); }
  ready(): boolean {
    // Take, still counted (the intr thread leaves the set alone), then
    // leave: again only when the intr thread left events meanwhile.
    this.epoch = intr_hwait_epoch();
    const n = intr_harvest();
    if (n > 0) kstat_add(C_TAKEN, n);
    this.leave(true);
    return true;
  }
  private leave(linger: boolean): void { intr_hwait_leave(this.epoch, intr_harvest, linger); }
}
/** This thread's (one: a thread sleeps once at a time). */
const hw = new SetHostWait();

/**
 * How long a sleeper that got no host wait from intr_hostwait should sleep
 * before it asks again: a bridge period while the intr thread is still
 * setting up (its first sleeps then end early and wait in the host from
 * the next), else no limit.
 */
export function intr_hostwait_retry_ns(): number { return intr_hwait_pending() ? BRIDGE_NS : Infinity; }

/**
 * A caller about to look for events without sleeping (a zero-timeout
 * kevent on a kqueue with OS knotes; no lock held) while a linger lasts:
 * takes what the set holds and dispatches it here, as a host waiter would,
 * so that the poll sees what arrived meanwhile at once, not when the
 * linger ends. Nothing (one atomic load) while no linger lasts: the intr
 * thread takes the events then.
 */
export function intr_linger_take(): void {
  if (!intr_lingering() || !os_loaded()) return;
  const n = intr_harvest();
  if (n > 0) kstat_add(C_LTAKEN, n);
}

/** The host wait on the kernel's epoll set for a sleeper about to block, or undefined: sleep on the wait word. */
export function intr_hostwait(): HostWait | undefined {
  if (!intr_running() || !intr_hwait_possible() || !os_available()) return undefined;
  const ep = intr_epfd(), kick = intr_kick_fd();
  if (ep < 0 || kick < 0) return undefined;
  hw.ep = ep; hw.kick = kick;
  kstat_add(C_WAITS);
  return hw;
}
