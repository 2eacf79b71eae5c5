/**
 * The kernel lock order, in one place. A thread holding a lock may only
 * take locks that come after it in this list; never the reverse.
 *
 *   1. proc lock (p_lock: LWP counters, lwp_wait's condition variable)
 *   2. object locks, in this order between kinds:
 *      a. an event source's own lock — a timer's it_lock (timer.c holds
 *         it while queueing its event on the port, as port_send_event
 *         expects of a source)
 *      b. a port's queue lock
 *      c. a kqueue's lock (a knote activation from a port event takes the
 *         kqueue lock after the port lock has been dropped)
 *      d. a park-table bucket
 *      e. the callout heap lock (a timer arms/cancels its callout under
 *         its it_lock; the clock thread runs handlers without the heap lock)
 *   3. an LWP's own lock (l_lock: state, flags, its chain of async sleepers)
 *   4. the descriptor table lock, a file's watch-list lock
 *   5. cache free-list spin locks (kmem.ts), which are leaves
 *
 * Sleeping (sq_block) releases the object lock it was given and takes
 * nothing else; wake-ups (sq_wake*) are done with the object lock held and
 * take no lock. lwp_wakeup interrupts a sleeper holding only the LWP lock,
 * which is why a sleeper that was interrupted or timed out unlinks itself
 * under the object lock when it returns.
 */
export const LOCK_ORDER = ['proc', 'timer', 'port', 'kqueue', 'parktab', 'callout', 'lwp', 'fdtab', 'file', 'kcache'] as const;
// Leaves besides those above: the knote hash stripe locks (kqueue/knote.ts),
// taken under a kqueue lock and taking nothing.
