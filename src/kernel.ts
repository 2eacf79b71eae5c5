/**
 * The kernel as one script: what the package's bundle compiles once per
 * thread (scripts/bundle.mjs makes build/bundle/kernel.cjs of it, and a V8
 * code cache beside it; src/loader.ts loads them). The package's entries
 * (`ukern`, `ukern/sys`, the LWP trampoline) are small ES modules that take
 * their exports from the one instance this script makes in a thread, so a
 * start module importing `ukern/sys` shares its kernel with the trampoline
 * that attached it.
 */
export * as sys from './sys/index.js';
export * as ukern from './index.js';
export { trampoline_start } from './lwp/trampoline-main.js';
