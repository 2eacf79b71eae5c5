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
  if (direct) kernel_worker_start(module, name);
  else lwp0_post({ t: 'kthread', name, module: module.href });
}
