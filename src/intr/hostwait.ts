/**
 * A sleeper's wait in the host on the kernel's epoll set (kern/sleepwait.ts
 * HostWait): one host wake-up from an OS descriptor to an LWP blocked in
 * kevent on a kqueue with OS knotes.
 *
 * Without it, a write reaches such an LWP in two: the host wakes the intr
 * thread (epoll_wait), which dispatches the event (knote activations) and
 * wakes the LWP's futex. With it, the LWP sleeps in epoll_pwait2 on the
 * epoll set itself, in which its kick eventfd sits too (intr/kick.ts, which
 * every other waker rings: kern/sleepq.ts), so the wait that wakes it is
 * also its take of the set's events: one host call between the arrival and
 * the dispatch. (Before, it slept in ppoll on the set and the kick, then
 * took the set with epoll_wait: two calls, each ~1.4-2.7 us on this
 * machine's virtualized system calls. bench/os-sources.bench.ts, pipe write
 * -> EVFILT_READ p50: 25.1 us before, 18.5 after, 1.35x -> 1.12x a worker's
 * 'data' in the same runs.) A host without epoll_pwait2 (Linux 5.11), or
 * boot option intr_hostwait_take false, keeps the two calls. While any
 * sleeper waits so, the intr thread's own set leaves the kernel's set out
 * (handover.ts), and the sleeper dispatches what it took through the one
 * mapping in its own thread, activating its own knote (a wake-up of itself:
 * a store, no host call). epoll_wait hands each edge-triggered event to one
 * caller, so each is dispatched once: by a sleeper, or by the intr thread
 * once the last sleeper left and its linger ended (handover.ts; the last one
 * takes the set once more if the intr thread found events left to it
 * meanwhile: nothing waits for a later edge). A kick of another sleeper
 * taken with them is given back to it (kick.ts).
 *
 * What such a sleeper takes is everyone's: an event for another kqueue or
 * port is dispatched here as the intr thread would have, waking its
 * sleepers from this thread. Work only the intr thread may do comes back
 * to it through a poke (intr.ts intr_poke). The port's PORT_SOURCE_FD
 * getter waits on its one descriptor instead (ports/hostwait.ts).
 */
import { HW_READY, HW_KICK, type HostWait } from '../kern/sleepwait.js';
import { kstat_counter, kstat_add } from '../kern/kstat.js';
import { intr_epfd, intr_running, intr_call_forget, KICK_DATA } from './intr.js';
import { intr_hwait_enter, intr_hwait_epoch, intr_hwait_leave, intr_hwait_possible, intr_hwait_pending, intr_lingering } from './handover.js';
import { intr_harvest, BRIDGE_NS } from './bridge.js';
import { intr_dispatch } from './dispatch.js';
import { intr_kick_fd, intr_kick_in_set, intr_kick_direct, intr_kick_mine } from './kick.js';
import { I32 } from '../kern/kmem.js';
import { SQ_SLEEPING } from '../kern/sleepq.js';
import { define_flag } from '../kern/options.js';
import { tunables } from '../kern/boot.js';
import {
  os_available, os_loaded, os_wait2, os_eventfd_drain, os_epoll_pwait2_ok, os_epoll_wait_ns, EpollEvents, W2_FD, W2_KICK, POLLIN,
} from './ffi.js';

declare module '../kern/options.js' {
  interface BootOptions {
    /**
     * Whether a sleeper on the kernel's epoll set waits in epoll_pwait2 on
     * the set with its kick eventfd in it, so that the wait is the take
     * (default true, where the host has epoll_pwait2); false: ppoll on the
     * set and the kick, then epoll_wait, the way a host without it waits.
     */
    intr_hostwait_take?: boolean;
  }
}
define_flag('intr_hostwait_take', true);

const C_WAITS = kstat_counter('intr', 'host_waits');
/** Of those, waits that were also the take (epoll_pwait2 on the set, the kick in it). */
const C_DIRECT = kstat_counter('intr', 'host_direct');
const C_TAKEN = kstat_counter('intr', 'host_taken');
/** Events a poller took from the set while a linger lasted (intr_linger_take). */
const C_LTAKEN = kstat_counter('intr', 'linger_taken');

class SetHostWait implements HostWait {
  kick = -1; ep = -1;
  /** Whether this wait is the take (epoll_pwait2 on the set, the kick in it: kick.ts), else ppoll on the set and the kick, then a take. */
  direct = false;
  /** The skip epoch this sleeper has covered: at its enter, then (ppoll) at its take. */
  private epoch = 0;
  /** What the direct wait took, for ready() (n entries of buf; 0: none). */
  private readonly buf = new EpollEvents(64);
  private n = 0;
  wait(ns: number, word: number): number {
    intr_call_forget(); // a new wait: a statx confirmation from before it is no answer after it
    this.epoch = intr_hwait_enter();
    if (this.direct) return this.wait_direct(ns, word);
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
  /**
   * The wait that takes: the set's events and this LWP's kick come back
   * from one epoll_pwait2. The skip epoch stays the enter's (the take is
   * the wait itself: whatever the intr thread left during it, the leave
   * takes again). A kick of another LWP taken here goes back to it
   * (dispatch.ts -> kick.ts intr_kick_stolen) with the rest, in ready().
   */
  private wait_direct(ns: number, word: number): number {
    // Said before the last look at the word (kick.ts: a taker that finds
    // this clear took a ring whose change of the word this look sees).
    intr_kick_direct(true);
    if (Atomics.load(I32, word) !== SQ_SLEEPING) { intr_kick_direct(false); this.leave(true); return 0; }
    const n = os_epoll_wait_ns(this.ep, this.buf, ns);
    intr_kick_direct(false);
    if (n < 0) { this.leave(false); return -1; }
    let kick = 0, other = 0;
    for (let i = 0; i < n; i++) {
      if (this.buf.lo(i) === KICK_DATA && intr_kick_mine(this.buf.hi(i))) kick = HW_KICK; else other++;
    }
    if (other > 0) { this.n = n; return HW_READY | kick; }
    this.leave(n > 0); // (as above: a wait that ran out lingers not)
    return kick;
  }
  drain(): void { os_eventfd_drain(this.kick); }
  ready(): boolean {
    // Dispatch what the direct wait took, or take (ppoll), still counted
    // (the intr thread leaves the set alone), then leave: again only when
    // the intr thread left events meanwhile.
    let n: number;
    if (this.n > 0) n = this.dispatch_taken();
    else { this.epoch = intr_hwait_epoch(); n = intr_harvest(); }
    if (n > 0) kstat_add(C_TAKEN, n);
    this.leave(true);
    return true;
  }
  /** Dispatches the direct wait's events (its own kick was seen in wait()); a full batch takes the rest. */
  private dispatch_taken(): number {
    const b = this.buf, n = this.n;
    this.n = 0;
    for (let i = 0; i < n; i++) {
      const lo = b.lo(i);
      if (lo === 0 || (lo === KICK_DATA && intr_kick_mine(b.hi(i)))) continue;
      intr_dispatch(lo, b.hi(i), b.events(i));
    }
    return n === b.n ? n + intr_harvest() : n;
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
 * thread takes the events then. A thread that has not loaded the host
 * calls yet loads them here (once, a few milliseconds): a poller of OS
 * sources another thread registered may make no host call of its own (a
 * port's poller never does), and saw nothing until the linger ended.
 */
export function intr_linger_take(): void {
  if (!intr_lingering() || !os_available()) return;
  const n = intr_harvest();
  if (n > 0) kstat_add(C_LTAKEN, n);
}

/**
 * The host calls of this thread, loaded now if they are not (once, a few
 * milliseconds): by a caller about to take a kernel lock under which it
 * may make one (no lock held). Never throws; false where they cannot be
 * had (the calls under the lock then report what os_available() says:
 * EOPNOTSUPP, or no host wait). Under a lock, code asks os_loaded()
 * instead, or calls what this loaded (LOCKDEBUG panics at a load under a
 * lock: kern/libc.ts).
 */
export function intr_host_load(): boolean {
  if (hostReady) return true;
  if (!os_available()) return false;
  // (and the host wait's epoll_pwait2, asked once: binding it is N-API work
  // too; with no set yet, asked at the next call)
  const ep = intr_epfd();
  if (ep < 0) return true;
  os_epoll_pwait2_ok(ep);
  hostReady = true;
  return true;
}
/** This thread's host calls are loaded and epoll_pwait2 asked (intr_host_load: one load on its hot paths). */
let hostReady = false;
/** Whether intr_host_load has nothing left to do in this thread (a caller skips the work of deciding whether to call it). */
export function intr_host_loaded(): boolean { return hostReady; }

/**
 * The host wait on the kernel's epoll set for a sleeper about to block
 * (object lock held), or undefined: sleep on the wait word. Only in a
 * thread that has loaded the host calls (intr_host_load, before the lock):
 * one that has not sleeps on its word, served by the intr thread.
 */
export function intr_hostwait(): HostWait | undefined {
  if (!intr_running() || !intr_hwait_possible() || !os_loaded()) return undefined;
  const ep = intr_epfd(), kick = intr_kick_fd();
  if (ep < 0 || kick < 0) return undefined;
  hw.ep = ep; hw.kick = kick;
  hw.direct = tunables().intr_hostwait_take === 1 && os_epoll_pwait2_ok(ep) && intr_kick_in_set(ep, kick);
  kstat_add(C_WAITS);
  if (hw.direct) kstat_add(C_DIRECT);
  return hw;
}
