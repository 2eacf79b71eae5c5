/**
 * What the threads the kernel starts run from their kernel instance: the
 * LWP trampoline, the kernel threads' bodies and lwp0's kernel part. Named
 * once here: src/kernel.ts re-exports it, and the bundle step's kernel
 * script takes it whole (scripts/bundle.mjs), whose small CommonJS entries
 * (trampoline.cjs, clockthread.cjs, ...) call these.
 */
export { trampoline_start } from './lwp/trampoline-main.js';
export { clockthread_main } from './timers/clockthread-main.js';
export { intrthread_main } from './intr/intrthread-main.js';
export { aiothread_main } from './aio/aiothread-main.js';
export * as lwp0_kern from './lwp/lwp0-kern.js';
