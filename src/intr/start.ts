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
 * workers: so the main thread's 'exit' listener sets the quit word and
 * writes the control eventfd (os_eventfd_ring: fs.writeSync, no FFI); the
 * thread wakes, sees the word and parks in Atomics.wait, which termination
 * does interrupt.
 */
import { is_main_thread } from '../kern/host.js';
import { kthread_start } from '../lwp/kapi.js';
import { intr_claim_start, intr_evfd, intr_set_quit } from './intr.js';
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

/** Wakes the intr thread to quit (process exit). */
export function intr_thread_quit(): void {
  const ev = intr_evfd();
  if (ev < 0) return;
  intr_set_quit();
  os_eventfd_ring(ev);
}

// (The test is made at exit, not at load: is_main_thread is cheap, but nothing at load needs it.)
process.on('exit', () => {
  if (!is_main_thread()) return;
  try { intr_thread_quit(); } catch { /* no kernel attached */ }
});
