/**
 * The entry of an LWP worker thread started from the compiled tree
 * (build/src): the kernel's modules, then the trampoline (trampoline-main.ts).
 * The package's bundle has its own entry of the same name, which gets the
 * same trampoline from the kernel script (scripts/bundle.mjs). Start modules
 * are imported from here, so a bare specifier resolves as from the kernel.
 */
import '../sys/index.js';
import { trampoline_start } from './trampoline-main.js';

trampoline_start((s) => import(s));
