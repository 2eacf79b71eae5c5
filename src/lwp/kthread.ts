/**
 * Kernel threads (the clock thread, the intr thread): worker threads that
 * run kernel code only. They must live as long as the process, so they are
 * started by a thread that does: lwp0, or the booting main thread itself
 * (`direct`), which saves the start of lwp0 in front of theirs (the two
 * start in parallel). The module's worker gets `workerData.image` and must
 * call attach_system_thread(image) first. A built bundle of the module
 * (spawn.ts kernel_module_url) is preferred: one file starts faster.
 */
import { lwp0_post, kernel_worker_start } from './spawn.js';
import { ensure_booted } from '../kern/boot.js';
import { I32 } from '../kern/kmem.js';
import { P, curproc } from '../kern/proc.js';
import { kstat_gauge } from '../kern/kstat.js';

kstat_gauge('lwp', 'kthreads_starting', () => Atomics.load(I32, curproc() + P.kstarting));

const started = new Set<string>();

/**
 * Starts the kernel thread `name` from `module` unless this thread already
 * asked for it; lwp0 starts each name once. With `direct` (only from the
 * booting main thread), this thread starts it.
 */
export function kthread_start(name: string, module: URL, direct = false): void {
  ensure_booted();
  if (started.has(name)) return;
  started.add(name);
  if (direct) { kernel_worker_start(module, name); return; }
  // Counted until the thread is up (lwp0 uncounts it then, or at once when it
  // started that name already): the booting thread keeps lwp0, and so the
  // process, alive meanwhile. A kernel thread terminated while it loads
  // koffi aborts the whole process (spawn.ts kernel_worker_start), and this
  // LWP, alive now, may be gone before the thread is up.
  Atomics.add(I32, curproc() + P.kstarting, 1);
  try {
    lwp0_post({ t: 'kthread', name, module: module.href });
  } catch (e) {
    Atomics.sub(I32, curproc() + P.kstarting, 1);
    throw e;
  }
}

/** lwp0: a kthread request is settled (the thread is up, failed, or was up already). */
export function kthread_settled(): void { Atomics.sub(I32, curproc() + P.kstarting, 1); }
