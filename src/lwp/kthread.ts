/**
 * Kernel threads (the clock thread, the intr thread): worker threads that
 * run kernel code only. They are started by lwp0 so they live as long as the
 * process, whichever LWP first needs them. The module's worker gets
 * `workerData.image` and must call attachSystemThread(image) first.
 */
import { lwp0_post } from './spawn.js';
import { ensureBooted } from '../kern/boot.js';

const started = new Set<string>();

/** Starts the kernel thread `name` from `module` unless this thread already asked for it; lwp0 starts each name once. */
export function kthread_start(name: string, module: URL): void {
  ensureBooted();
  if (started.has(name)) return;
  started.add(name);
  lwp0_post({ t: 'kthread', name, module: module.href });
}
