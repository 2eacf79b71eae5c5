/**
 * The kernel as one script: what the package's bundle compiles once per
 * thread (scripts/bundle.mjs makes build/bundle/kernel.cjs of it, and a V8
 * code cache beside it; src/loader.ts loads them). The package's entries
 * (`ukern`, `ukern/sys`, the LWP trampoline, the kernel threads) are small
 * files that take what they run from the one instance this script makes in
 * a thread, so a start module importing `ukern/sys` shares its kernel with
 * the trampoline that attached it. (The bundle step writes `sys` and
 * `ext` out as plain objects itself: `export * as` of those namespaces
 * cost ~800 getters at load. What the threads run, kernel-threads.ts, it
 * takes as it is.)
 *
 * The class layer (`ukern`, src/index.ts) is not in it: it is a script of
 * its own over this one (build/bundle/ukern.cjs, src/loader.ts says why),
 * whose imports of the sys layer are `sys` and `ext` below.
 */
export * as sys from './sys/index.js';
export * as ext from './sys/ext.js';
export * from './kernel-threads.js';
