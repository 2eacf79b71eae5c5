/**
 * The kernel lock order, in one place, and executable: a thread holding a
 * lock may only take locks of classes that come after it in LOCK_ORDER,
 * never one of the same class or an earlier one (a try-enter excepted: it
 * cannot deadlock). With `boot({ lockdebug: true })` (UKERN_LOCKDEBUG=1, as
 * the test suite runs) every acquisition is checked and a violation panics
 * (kern/lockdebug.ts); each subsystem names the class of its lock words
 * beside the struct or region that holds them (mutex_class).
 *
 *   class      lock                                      declared in
 *   proc       p_lock: LWP counters, lwp_wait's cv       lwp/proc.ts
 *   timertab   the timer table (ids, free stack)         timers/itimer.ts
 *   timer      a timer's it_lock (timer.c holds it while timers/itimer.ts
 *              queueing its event on the port, as
 *              port_send_event expects of a source)
 *   port       a port's queue lock                       ports/mem.ts
 *   kqueue     a kqueue's lock (a knote activation from  kqueue/knote.ts
 *              a port event takes it after the port
 *              lock has been dropped)
 *   knhash     a knote hash stripe (only under kqueue)   kqueue/knote.ts
 *   parktab    a park-table bucket                       lwp/park.ts
 *   callout    a callout heap (a timer arms/cancels its  timers/callout.ts
 *              callout under it_lock; the clock thread
 *              runs handlers without the heap lock)
 *   clock      the manual clock's line                   timers/clocks.ts
 *   sleeper    a sleeper's own word (a sleep that times  kern/sleepq.ts
 *              out at once, on no list)
 *   lwp        l_lock: state, flags, async sleepers      lwp/lwp.ts
 *   fdtab      the descriptor table                      kern/fdtab.ts
 *   file       a descriptor's watch list                 kern/fdtab.ts
 *
 * Below every class: the cache free-list spin locks (kmem.ts), leaves that
 * are not kernel mutexes.
 *
 * Sleeping (sq_block) releases the object lock it was given and takes
 * nothing else; wake-ups (sq_wake*) are done with the object lock held and
 * take no lock. lwp_wakeup interrupts a sleeper holding only the LWP lock,
 * which is why a sleeper that was interrupted or timed out unlinks itself
 * under the object lock when it returns.
 */
export const LOCK_ORDER = [
  'proc', 'timertab', 'timer', 'port', 'kqueue', 'knhash', 'parktab', 'callout', 'clock', 'sleeper', 'lwp', 'fdtab', 'file',
] as const;

/** A lock class: each subsystem names the class of its lock words (kern/lockdebug.ts mutex_class). */
export type LockClass = typeof LOCK_ORDER[number];
