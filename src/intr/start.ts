/**
 * Starting and stopping the intr thread. It is started at the first
 * registration of an OS descriptor, once kernel-wide (a compare-and-swap on
 * kernel memory), after the registering syscall dropped its locks: a
 * kernel that never watches an OS descriptor never pays for the thread, and
 * nothing waits for its start. Registrations do their own epoll_ctl and
 * their own first readiness check (intr.ts), so an OS event that happens
 * while the thread is still starting is not lost: it waits in the epoll
 * set, and the thread's first epoll_wait takes it.
 *
 * Stopping. The thread blocks in epoll_wait, a host call that worker
 * termination cannot interrupt, and Node's process.exit waits for its
 * workers: at exit the main thread rings the control eventfd
 * (os_eventfd_ring: fs.writeSync, no FFI), a rouser of kern/libc.ts's exit
 * protocol; the thread's wait ends, finds the process exiting and waits in
 * Atomics.wait for its termination (kern/libc.ts host_leave).
 */
import { is_main_thread } from '../kern/host.js';
import { kthread_start } from '../lwp/kapi.js';
import { host_exit_rouser } from '../kern/libc.js';
import { intr_claim_start, intr_evfd } from './intr.js';
import { os_eventfd_ring } from './ffi.js';

let askedHere = false;
/**
 * Starts the intr thread unless some thread asked already (or the test hook
 * UKERN_INTR_HOLD=1 keeps it from ever starting: the bridge alone serves).
 * Never under a kernel lock.
 */
export function intr_thread_start(): void {
  if (askedHere) return;
  askedHere = true;
  if (process.env.UKERN_INTR_HOLD === '1') return;
  if (!intr_claim_start()) return;
  kthread_start('intr', new URL('./intrthread.js', import.meta.url), is_main_thread());
}

host_exit_rouser(() => {
  const ev = intr_evfd();
  if (ev >= 0) os_eventfd_ring(ev);
});
