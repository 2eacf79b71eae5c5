/**
 * The intr thread's body (its entries: intrthread.ts from the compiled tree,
 * the bundle's intrthread.cjs over the kernel script). The intr thread: a kernel worker that blocks in epoll_wait on the
 * kernel's epoll set and hands each event to intr_dispatch (intr.ts, the
 * one mapping from OS events to activations). It runs no JS while it waits
 * and wakes only for events: an idle kernel with any number of registered
 * descriptors costs it no CPU (during a burst of events it looks again
 * before it sleeps: below). The control eventfd wakes it for pokes, and at
 * process exit (start.ts).
 *
 * An error that escapes the loop is a kernel panic, raised here (the
 * thread's starter may be blocked in the kernel and never see the worker
 * end): lwp/kthread.ts says why a dead kernel thread is never restarted.
 * Test hook: UKERN_KTHREAD_CRASH=intr makes the loop throw at its first
 * wake-up, before it handles what woke it, as a bug in a dispatch would;
 * =intr-exit ends its worker there instead (process.exit in a worker),
 * which only the starter sees (lwp/kthread.ts kthread_watch).
 */
import { worker_threads } from '../kern/host.js';
import { attach_system_thread, type KernelImage } from '../kern/boot.js';
import { kstat_add } from '../kern/kstat.js';
import { libc_open } from '../kern/libc.js';
import { kthread_run } from '../lwp/kapi.js';
import * as ffi from './ffi.js';
import * as intr from './intr.js';
import { intr_dispatch } from './dispatch.js';
import * as handover from './handover.js';

/** Runs the intr thread in this worker (attached to `image`); never returns. */
export function intrthread_main(image: KernelImage): never {
  attach_system_thread(image);

  // An interrupt thread runs above user threads (a BSD ithread's priority).
  // As an ordinary thread it was woken behind the very threads it serves: on
  // a child's exit the host wakes it and Node's main thread (SIGCHLD) at
  // once, and on two CPUs it waited for one behind the main thread and the
  // dying child; EVFILT_PROC's event came after libuv had reaped the child
  // (issue 15: epoll_wait returned ~220-420 us after the kill, Node's 'exit'
  // ran at ~280). SCHED_FIFO makes its wake-up preempt them. It sleeps
  // in epoll_wait whenever no event is there (its only busy look is the
  // bounded spin below), kernel mutexes spin briefly and then sleep, and the
  // host's RT throttling bounds it anyway. Where the host refuses (no
  // CAP_SYS_NICE) it stays an ordinary thread; intr.rt says which.
  const SCHED_FIFO = 1, SCHED_RESET_ON_FORK = 0x40000000;
  function raise_priority(prio: number): void {
    const lib = prio > 0 ? libc_open() : null;
    if (lib === null) return;
    try {
      const set = lib.func('int sched_setscheduler(int, int, int *)');
      if (set(0, SCHED_FIFO | SCHED_RESET_ON_FORK, new Int32Array([prio])) === 0) kstat_add(intr.C_RT);
    } catch { /* no such call: an ordinary thread */ }
  }
  raise_priority(intr.intr_rtprio());
  intr.intr_announce(ffi.os_gettid());
  worker_threads().parentPort?.postMessage('up');

  const buf = new ffi.EpollEvents(64);
  const ep = intr.intr_epfd(), evfd = intr.intr_evfd();
  let cpuPrev = ffi.os_thread_cpu_ns();

  function account_cpu(): void {
    if (cpuPrev < 0) return;
    const c = ffi.os_thread_cpu_ns();
    kstat_add(intr.C_CPU_US, Math.floor((c - cpuPrev) / 1000));
    cpuPrev = c - ((c - cpuPrev) % 1000);
  }

  /** Handles what epoll_wait put in buf (n events). */
  function handle(n: number): void {
    for (let i = 0; i < n; i++) {
      const lo = buf.lo(i);
      if (lo === 0) { ffi.os_eventfd_drain(evfd); intr.intr_run_pokes(); continue; }
      intr_dispatch(lo, buf.hi(i), buf.events(i));
    }
  }
  /** Takes and handles everything the kernel's set has now; how many. */
  function take(): number {
    let total = 0, n: number;
    do { n = ffi.os_epoll_wait(ep, buf, 0); if (n > 0) { handle(n); total += n; } } while (n === buf.n);
    if (total > 0) handover.intr_took(); // (a consumer that comes back lingers: handover.ts)
    return total;
  }

  // The thread waits on a set of its own (ep2): the kernel's set,
  // edge-triggered (one wake-up per arrival in it), and the control
  // eventfd, moved here from the kernel's set so that only this thread
  // ever takes it. Woken by the kernel's set, it takes the events unless a
  // sleeper waits in the host on that set (hostwait.ts): the sleeper was
  // woken by the same arrival and takes them itself (intr.ts
  // intr_hwait_skip), one host wake-up from the descriptor. Where a second
  // set cannot be made, the thread waits on the kernel's set as before and
  // host waiters then only ever find its events taken. A timerfd there
  // (data 2) bounds the last host waiter's linger (handover.ts); without one,
  // the set is given back to this thread as each last waiter leaves.
  const ep2 = ffi.os_epoll_create();
  const own = ep2 >= 0 && ffi.os_epoll_set(ep2, evfd, ffi.EPOLLIN, 0, 0, false) === 0 &&
    ffi.os_epoll_set(ep2, ep, (ffi.EPOLLIN | ffi.EPOLLET) >>> 0, 1, 0, false) === 0;
  if (own) ffi.os_epoll_del(ep, evfd);
  let tfd = own ? ffi.os_timerfd() : -1;
  if (tfd >= 0 && ffi.os_epoll_set(ep2, tfd, ffi.EPOLLIN, 2, 0, false) < 0) { ffi.os_close(tfd); tfd = -1; }
  handover.intr_set_own_set(own ? ep2 : -1, tfd);
  const buf2 = new ffi.EpollEvents(4);
  /** Whether the kernel's set holds an event now (a poll: nothing is taken). */
  const pending = (): boolean => ffi.os_poll(ep, ffi.POLLIN) > 0;

  // After a batch, look again without sleeping for up to intr_spin_ns while a
  // burst is under way — the batch held several events, the thread had slept
  // less than a third of the window before it, or the last look found more:
  // the next arrival then finds the thread awake and the writer does not pay
  // the host's wake-up of a sleeper (ep_poll_callback) per write. Events
  // further apart (a ping-pong) do not spin: the thread would hold a CPU the
  // woken consumer needs. Idle, the thread sleeps in epoll_wait and costs
  // nothing. A host waiter (above) ends the look: the events are its.
  const spinNs = intr.intr_spin_ns(), spinMs = spinNs / 1e6;
  let hit = false;
  const crash = process.env.UKERN_KTHREAD_CRASH === 'intr' || process.env.UKERN_KTHREAD_CRASH === 'intr-exit';
  /** Looks again until spinNs passed without an event; whether it found any. */
  function look_again(): boolean {
    let found = false, until = performance.now() + spinMs;
    while (performance.now() < until) {
      if (own && handover.intr_hwait_skip(pending)) break;
      if (take() > 0) { found = true; until = performance.now() + spinMs; }
    }
    return found;
  }
  kthread_run('intr', serve);

  function crash_now(): never {
    if (process.env.UKERN_KTHREAD_CRASH === 'intr-exit') process.exit(3); // its worker ends, the loop never knows
    throw new Error('UKERN_KTHREAD_CRASH: the intr thread throws (test)');
  }
  /** One wait and what it brought. */
  function serve(): void {
    const slept = performance.now();
    let n = 0, ticks = 0;
    if (own) {
      const m = ffi.os_epoll_wait(ep2, buf2, -1);
      if (crash) crash_now();
      for (let i = 0; i < m; i++) {
        const lo = buf2.lo(i);
        if (lo === 0) { ffi.os_eventfd_drain(evfd); intr.intr_run_pokes(); }
        else if (lo === 2) { ticks++; ffi.os_eventfd_drain(tfd); handover.intr_linger_tick(); }
        else if (!handover.intr_hwait_skip(pending)) n += take();
      }
    } else {
      n = ffi.os_epoll_wait(ep, buf, -1);
      if (crash) crash_now();
      handle(n);
    }
    const short = performance.now() - slept < spinMs / 3;
    kstat_add(intr.C_WAKEUPS);
    // (A wake-up for the linger timer alone is no burst.)
    if (spinNs > 0 && (n > 1 || short || hit) && (n > 0 || ticks === 0)) hit = look_again();
    account_cpu();
  }
}
