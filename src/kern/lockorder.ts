/**
 * The kernel lock order, in one place, and executable: a thread holding a
 * lock may only take locks of classes that come after it in LOCK_ORDER,
 * never one of the same class or an earlier one (a try-enter excepted: it
 * cannot deadlock). With `boot({ lockdebug: true })` (UKERN_LOCKDEBUG=1, as
 * the test suite runs) every acquisition is checked and a violation panics
 * (kern/lockdebug.ts); each subsystem names the class of its lock words
 * beside the struct or region that holds them (mutex_class).
 *
 *   key class      lock                                      declared in
 *   p   proc       p_lock: LWP counters, lwp_wait's cv       kern/proc.ts
 *   T   timertab   the timer table (ids, free stack, every   timers/timertab.ts
 *                  timer's ITLK_* bits, blockers, pollers)
 *   i   timer      a timer's it_mutex (timer.c holds it      timers/itimer.ts
 *                  while queueing its event on the port,
 *                  as port_send_event expects of a source)
 *   Q   aio        the AIO request table: every request's    aio/aio.ts
 *                  state, result and notification (held
 *                  while a completion queues its port
 *                  event, activates its knote or
 *                  generates its signal)
 *   R   portfd     the PORT_SOURCE_FD associations (their    ports/src-fd.ts
 *                  table, states and interests): taken alone
 *                  by port_associate / dissociate, the intr
 *                  thread's handler, close and a getter's
 *                  delivery callback; the port lock (to queue
 *                  or withdraw an event) and the intr lock
 *                  (interests) are taken under it
 *   F   portfile   PORT_SOURCE_FILE's associations (hash,    ports/src-file.ts
 *                  reap list; queues an event on its port
 *                  and takes the inotify lock under it)
 *   q   port       a port's queue lock                       ports/mem.ts
 *   k   kqueue     a kqueue's lock (a knote activation from  kqueue/knote.ts
 *                  a port event takes it after the port
 *                  lock has been dropped)
 *   h   knhash     a knote hash stripe (only under kqueue)   kqueue/knote.ts
 *   n   sigknote   the EVFILT_SIGNAL knote lists (a leaf   kqueue/filters/sig.ts
 *                  under the kqueue lock)
 *   O   osknote    the knote lists of OS descriptors'       kqueue/filters/os.ts
 *                  intr sources (a leaf under the kqueue
 *                  lock)
 *   P   procknote  EVFILT_PROC's tracked knotes (NOTE_FORK /  kqueue/filters/proc-cn.ts
 *                  EXEC / TRACK) and the proc connector
 *                  socket (under the kqueue lock; the intr
 *                  lock is taken under it)
 *   N   inotify    the inotify watch table (watch hash,       intr/inotify.ts
 *                  watcher lists; add/rm_watch run under
 *                  it; under a kqueue lock from a vnode
 *                  knote's attach, under the port-file lock
 *                  from an association; takes intr once to
 *                  put the instance in epoll)
 *   I   intr       the intr source table, its epoll set      intr/intr.ts
 *                  (epoll_ctl runs under it) and each
 *                  source's interests (under a kqueue lock
 *                  from a filter's attach or detach; alone
 *                  from the intr thread and close)
 *   S   sig        the process's signal lock: dispositions,  signals/sigstate.ts
 *                  pending sets and queues, LWP masks, the
 *                  sigwait queues (a timer's expiry
 *                  generates its signal holding it_mutex;
 *                  an EVFILT_SIGNAL knote's attach takes it
 *                  under the kqueue lock; a generation
 *                  interrupts sleeps under l_lock after
 *                  it, and runs the knotes after dropping
 *                  it)
 *   b   parktab    a park-table bucket                       lwp/park.ts
 *   o   callout    a callout heap (EVFILT_TIMER arms its     timers/callout.ts
 *                  callout under the kqueue lock; a POSIX
 *                  timer arms its own holding only its
 *                  long-term lock, key g below; the clock
 *                  thread runs handlers without the heap
 *                  lock)
 *   M   clock      the manual clock's line                   timers/clocks.ts
 *   s   sleeper    a sleeper's own word (a sleep that times  kern/sleepq.ts
 *                  out at once, on no list)
 *   l   lwp        l_lock: state, flags, async sleepers      lwp/lwp.ts
 *   d   fdtab      the descriptor table                      kern/fdtab.ts
 *   f   file       a descriptor's watch list                 kern/fdtab.ts
 *   A   msgarena   the message arena's allocator (a leaf:    ports/msg-arena.ts
 *                  close frees queued messages' blocks
 *                  holding a port lock; frees take no lock)
 *   R   aioring    the kernel's io_uring: its SQ tail and    aio/uring.ts
 *                  CQ head, setup (a leaf: never held with
 *                  another kernel lock)
 *
 * Below every class: the cache free-list spin locks (kmem.ts), leaves that
 * are not kernel mutexes.
 *
 * Sleeping (sq_block) releases the object lock it was given and takes
 * nothing else; wake-ups (sq_wake*) are done with the object lock held and
 * take no lock. lwp_wakeup interrupts a sleeper holding only the LWP lock,
 * which is why a sleeper that was interrupted or timed out unlinks itself
 * under the object lock when it returns.
 *
 * Field keys. Every struct field in kernel memory says, in a `[key]` at the
 * head of its comment, what guards it (NetBSD's sys/lwp.h lock keys, with
 * our classes): the key letter of the lock class above, or one of
 *
 *   c   constant after create: written before the object is published (the
 *       slot's state or descriptor type made visible with an Atomics store,
 *       or the object put on a list under its lock), then only read, by
 *       anyone, without a lock; a reader that can race the object's freeing
 *       re-checks its identity under the lock it then takes
 *   a   atomic: every access is an Atomics operation, from any thread, no
 *       lock (each bit or count has one rule of who may change it, given
 *       with the struct)
 *   !   the owning thread only (the LWP itself, or the thread holding the
 *       object): no lock, no other thread writes it
 *   g   the timer's long-term lock (ITLK_LOCKED, a sleep lock taken by
 *       timer_grab under T): its holder alone writes
 *
 * and combinations of them:
 *
 *   x+y   written holding both x and y: holding either is enough to read
 *   x,a   written under x with Atomics stores or read-modify-writes: read
 *         under x, or without it by Atomics.load (a value that may be stale
 *         by the time the reader acts on it: it re-checks under x when that
 *         matters)
 *   x,~   written under x with plain stores, also read without x as a hint
 *         (a peek whose staleness is harmless or re-checked)
 *
 * Where one path departs from its field's key the struct comment says so
 * (e.g. a counter written under another lock, a flag set before publication).
 */
export const LOCK_ORDER = [
  'proc', 'timertab', 'timer', 'aio', 'portfd', 'portfile', 'port', 'kqueue', 'knhash', 'sigknote', 'osknote', 'procknote', 'inotify', 'intr', 'sig', 'parktab', 'callout', 'clock', 'sleeper', 'lwp', 'fdtab', 'file',
  'msgarena',
  'aioring',
] as const;

/** A lock class: each subsystem names the class of its lock words (kern/lockdebug.ts mutex_class). */
export type LockClass = typeof LOCK_ORDER[number];
