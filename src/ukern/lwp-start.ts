/**
 * The start shim of the class layer's LWPs (Lwp.create): the module the
 * kernel runs in the LWP, which imports the user's module, calls its export
 * and records the outcome — the return value, or the failure and its phase
 * (import, export, threw, result) — in the creator's result buffer
 * (lwp-result.ts), so that `await lwp.wait()` resolves with the value or
 * rejects with the error. The LWP itself then exits normally: its failure
 * is reported to its waiter, not printed. It loads no kernel code.
 */
import { lwp_result_value, lwp_result_failure, type LwpFailPhase } from './lwp-result.js';

export interface LwpShimArg { module: string; export: string; arg: unknown; out: SharedArrayBuffer }

export async function run(a: LwpShimArg): Promise<void> {
  let phase: LwpFailPhase = 'import';
  try {
    const mod = (await start_import(a.module)) as Record<string, unknown>;
    phase = 'export';
    const fn = mod[a.export];
    if (typeof fn !== 'function') throw new TypeError(`${a.module} has no function export '${a.export}'`);
    phase = 'threw';
    const value = await (fn as (x: unknown) => unknown)(a.arg);
    phase = 'result';
    lwp_result_value(a.out, value);
  } catch (error) {
    // lwp_exit() has already exited the LWP in the kernel (its waiter may
    // have collected it): nothing to record; the trampoline catches it.
    if (isLwpExit(error)) throw error;
    lwp_result_failure(a.out, { phase, error });
  }
}

/**
 * The user's module, loaded as the LWP's trampoline loads start modules
 * (lwp/start-import.ts: require() where it serves, which spares a fresh
 * worker Node's ES module loader set-up), through the importer the
 * trampoline offers on globalThis; import() where there is none.
 */
function start_import(href: string): Promise<unknown> {
  const imp = (globalThis as Record<symbol, unknown>)[Symbol.for('ukern.start_import')];
  return typeof imp === 'function' ? (imp as (h: string) => Promise<unknown>)(href) : import(href);
}

/** lwp_exit() unwinds with the kernel's LwpExit, marked with this symbol (exit.ts; not imported: this module loads no kernel code). */
function isLwpExit(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[Symbol.for('ukern.lwp_exit')] === true;
}
