/**
 * The kernel as one script: what the package's bundle compiles once per
 * thread (scripts/bundle.mjs makes build/bundle/kernel.cjs of it, and a V8
 * code cache beside it; src/loader.ts loads them). The package's entries
 * (`ukern`, `ukern/sys`, the LWP trampoline, the kernel threads) are small
 * files that take what they run from the one instance this script makes in
 * a thread, so a start module importing `ukern/sys` shares its kernel with
 * the trampoline that attached it. (The bundle step writes this list out
 * itself: `export * as` of a namespace cost ~800 getters at load.)
 */
export * as sys from './sys/index.js';
export * as ukern from './index.js';
export { trampoline_start } from './lwp/trampoline-main.js';
export { clockthread_main } from './timers/clockthread-main.js';
export { intrthread_main } from './intr/intrthread-main.js';
export { aiothread_main } from './aio/aiothread-main.js';
export * as lwp0_kern from './lwp/lwp0-kern.js';
