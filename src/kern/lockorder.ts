/**
 * The kernel lock order, in one place. A thread holding a lock may only
 * take locks that come after it in this list; never the reverse.
 *
 *   1. proc lock (p_lock: LWP counters, lwp_wait's condition variable)
 *   2. object locks: a port's queue lock, a kqueue's lock, a park-table
 *      bucket, a timer's lock, the callout heap lock
 *      (between two objects of different kinds, the order is the one in
 *      which this list names them: port before kqueue before timer; a
 *      knote activation from a port event takes the kqueue lock after the
 *      port lock has been dropped)
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
export const LOCK_ORDER = ['proc', 'port', 'kqueue', 'parktab', 'timer', 'callout', 'lwp', 'fdtab', 'file', 'kcache'] as const;
