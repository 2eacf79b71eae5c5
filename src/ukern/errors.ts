/**
 * Errors of the `ukern` class layer, one class per condition with a stable
 * `code` (as undici's errors and Node's own): what a program can test for
 * without parsing messages. The sys layer's errors are SysError (an errno)
 * and Node's argument errors (kern/copyin.ts).
 */

/** An LWP created by {@link Lwp.create} did not return a value; `cause` is what went wrong in it. */
export class LwpError extends Error {
  readonly code: string = 'ERR_UKERN_LWP';
  /** The LWP. */
  readonly lid: number;
  constructor(lid: number, message: string, cause?: unknown) {
    super(`LWP ${lid}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'LwpError';
    this.lid = lid;
  }
}

/** Its module could not be imported (not found, or it threw while loading). */
export class LwpImportError extends LwpError {
  override readonly code = 'ERR_UKERN_LWP_IMPORT';
  constructor(lid: number, module: string, cause: unknown) { super(lid, `cannot import ${module}`, cause); this.name = 'LwpImportError'; }
}

/** Its module has no function under the export name it was given. */
export class LwpExportError extends LwpError {
  override readonly code = 'ERR_UKERN_LWP_EXPORT';
  constructor(lid: number, module: string, exp: string, cause: unknown) { super(lid, `${module} has no function export '${exp}'`, cause); this.name = 'LwpExportError'; }
}

/** Its start function threw, or its Promise rejected. */
export class LwpThrewError extends LwpError {
  override readonly code = 'ERR_UKERN_LWP_THREW';
  constructor(lid: number, cause: unknown) { super(lid, `the start function threw: ${describe(cause)}`, cause); this.name = 'LwpThrewError'; }
}

/** Its return value could not be handed back (not structured-cloneable, or too large). */
export class LwpResultError extends LwpError {
  override readonly code = 'ERR_UKERN_LWP_RESULT';
  constructor(lid: number, cause: unknown) { super(lid, `its return value cannot be handed back: ${describe(cause)}`, cause); this.name = 'LwpResultError'; }
}

/** It ended without an outcome: its thread died (process.exit() in it, or killed), or it called lwp_exit(). */
export class LwpNoResultError extends LwpError {
  override readonly code = 'ERR_UKERN_LWP_NO_RESULT';
  constructor(lid: number, why: string) { super(lid, why); this.name = 'LwpNoResultError'; }
}

/** A wait given an AbortSignal was aborted (the kernel's, kern/errno.ts: the sys layer's _async calls reject with it too). */
export { AbortError, KernelPanicError, KernelLayoutError, KernelAssertionError } from '../sys/ext.js';

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
