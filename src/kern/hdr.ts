/**
 * The kernel header: global words at the start of kernel memory, and the
 * identity of the calling thread (curlwp). Word numbers are fixed here so
 * every module agrees on them.
 */
import { I32 } from './kmem.js';

export const H_MAGIC = 0;        // 'ukrn' once booted
export const H_PANIC = 1;        // non-zero: the kernel is unusable (a thread died holding a lock)
export const H_PROC_EXIT = 2;    // process exit: 0 running, 1 exiting (the main thread waits on it)
export const H_EXIT_STATUS = 3;
export const H_NEXT_SYSID = 4;   // owner ids handed to kernel helper threads
export const H_KSTAT_BASE = 5;   // base word of the kstat counters region
export const H_MAIN_LWP = 6;     // handle of LWP 1 (the booting thread)
export const H_PANIC_LID = 7;    // the LWP that died in the kernel
export const H_SCRATCH = 8;      // lock count word of a thread with no owner id (a pool worker between LWPs); helper threads have their own (boot.ts sys_nlocks)
export const MAGIC = 0x756b726e;

/** Owner ids of kernel helper threads start here, above every possible lid. */
export const SYSID_BASE = 0x3f000000;

/**
 * The calling thread's LWP: its lid (also the owner id it writes into kernel
 * mutexes) and the handle of its struct lwp. Kernel helper threads have a
 * system owner id and no LWP (curlwp 0). `nlocksw` is the word counting the
 * kernel mutexes it holds (its LWP's l_nlocks), so that a worker that dies
 * holding one is noticed. `sparew` is the word where the thread keeps a
 * sleeper for its next sleep (its LWP's l_sparesl: kern/sleepq.ts sq_alloc),
 * 0 for a thread that keeps none (not an LWP, or an LWP on its way out).
 */
export const cur = { lid: 0, lwp: 0, nlocksw: H_SCRATCH, sparew: 0 };

export function panicked(): boolean { return Atomics.load(I32, H_PANIC) !== 0; }

/** Exit status of a process whose kernel panicked (EX_SOFTWARE). */
export const PANIC_STATUS = 70;
/** Gives the process the panic's exit status, unless it has another already. */
export function panic_status_set(): void {
  if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = PANIC_STATUS;
}
