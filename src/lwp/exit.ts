/**
 * lwp_exit's unwinding: in a worker LWP, lwp_exit does the kernel exit at
 * once and then throws an LwpExit to unwind the start function; the
 * trampoline catches it (or its uncaughtException handler does, when it was
 * thrown from a callback). The exit's state change (to ZOMB, or freed) is
 * lwp/lwp.ts's state table.
 */
export class LwpExit {
  readonly message = 'lwp_exit';
}
/** Marks LwpExit for code that must recognise it without loading the kernel (the class layer's start shim). */
const LWP_EXIT_MARK = Symbol.for('ukern.lwp_exit');
Object.defineProperty(LwpExit.prototype, LWP_EXIT_MARK, { value: true });
let exited = false;
/** Whether the current LWP already exited itself; with an argument, sets it. */
export function exited_self(v?: boolean): boolean {
  if (v !== undefined) exited = v;
  return exited;
}
