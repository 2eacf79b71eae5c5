/**
 * The deadline-aware wait of port_get / port_getn on a port fed by a POSIX
 * timer (issue 5): the port's side of timers/dwait.ts, where the wait and
 * its theory live. A getter that must sleep asks the timers for the
 * earliest upcoming expiry feeding this port (timer_port_deadline); when
 * there is one before its own timeout, it sleeps towards it, spins across
 * it and fires it itself. What the port adds:
 *  - how far past the expiry the spin goes: the port_dwait_ns tunable (0
 *    turns the deadline-aware wait off);
 *  - the bound on spinners: deadline spinners count against port_spinners
 *    like the adaptive spin's (kern/spin.ts), and a getter that needs more
 *    than one further event (nget) does not use it (getn.ts);
 *  - its pass through the port lock in the dry run before the expiry;
 *  - a port whose timer has no known upcoming expiry (overdue, disarmed or
 *    deleted: its hint lies in the past) gets one look at the due callouts
 *    before the getter sleeps, and no spin (a help wait); a port with no
 *    timer sleeps normally: an idle kernel burns no CPU;
 *  - kstat: dwait_hits / dwait_misses / dwait_fired.
 * Only the blocking forms use it: the async forms must not hold their event
 * loop.
 */
import { I32 } from '../kern/kmem.js';
import { on_boot, tunables } from '../kern/boot.js';
import { mono_now } from '../kern/time.js';
import { kstat_add, kstat_counter } from '../kern/kstat.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import { timer_port_deadline, dwait_start, dwait_finish, type DeadlineWait, type DwaitConsumer } from '../timers/kapi.js';
import { port_nent } from './queue.js';
import { spinner_enter, spinner_leave } from '../kern/spin.js';
import { P, port_lock, spinRegion, SPIN_DPOST, C_DWAIT_HIT, C_DWAIT_MISS } from './mem.js';

/** Callout runs by a getter in its deadline-aware wait that fired something (its own expiry, usually). */
const C_DWAIT_FIRED = kstat_counter('port', 'dwait_fired');

on_boot(() => { I32[spinRegion.base + SPIN_DPOST] = tunables().port_dwait_ns!; });

const getter: DwaitConsumer = {
  /** The dry run's pass through port h's lock. */
  warm(h: number): void {
    mutex_enter(port_lock(h));
    port_nent(h);
    mutex_exit(port_lock(h));
  },
  /** A place among the port's spinners (port_spinners), if one is free. */
  enter: () => spinner_enter(spinRegion),
  leave: () => spinner_leave(spinRegion),
  fired(): void { kstat_add(C_DWAIT_FIRED); },
};

/**
 * Decides whether a getter about to sleep on port h (lock held) until
 * `deadline` uses the deadline-aware wait; undefined: sleep as usual.
 */
export function dwait_begin(h: number, deadline: number): DeadlineWait | undefined {
  const post = Atomics.load(I32, spinRegion.base + SPIN_DPOST);
  if (post === 0) return undefined;
  let expiry = timer_port_deadline(I32[h + P.fd]!);
  if (expiry === Infinity) {
    // No upcoming expiry known. If a timer notifies this port, its expiry may
    // be overdue, the clock thread late (or not started yet, e.g. while the
    // main thread blocks here): a help wait. A timer deleted or disarmed
    // costs that one look per sleep, no spin.
    if (I32[h + P.ntimers]! <= 0) return undefined;
    if (deadline <= mono_now()) return undefined;
    expiry = NaN;
  } else if (expiry >= deadline) {
    return undefined;
  }
  return dwait_start(expiry, post, getter, h);
}

/** Settles a deadline-aware wait after sq_block returned (timers/dwait.ts dwait_finish), and counts it. */
export function dwait_end(d: DeadlineWait, woken: boolean): void {
  const caught = dwait_finish(d, woken);
  if (!d.help) kstat_add(caught ? C_DWAIT_HIT : C_DWAIT_MISS);
}
