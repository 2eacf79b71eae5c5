/**
 * The kernel as one script: what the package's bundle compiles once per
 * thread (scripts/bundle.mjs makes build/bundle/kernel.cjs of it, and a V8
 * code cache beside it; src/loader.ts loads them). The package's entries
 * (`ukern`, `ukern/sys`, the LWP trampoline, the kernel threads) are small
 * files that take what they run from the one instance this script makes in
 * a thread, so a start module importing `ukern/sys` shares its kernel with
 * the trampoline that attached it. (The bundle step writes `sys` and
 * `ukern` out as plain objects itself: `export * as` of those namespaces
 * cost ~800 getters at load. What the threads run, kernel-threads.ts, it
 * takes as it is.)
 */
export * as sys from './sys/index.js';
export * as ukern from './index.js';
export * from './kernel-threads.js';
