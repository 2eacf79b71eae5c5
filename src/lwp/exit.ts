/**
 * lwp_exit's unwinding: in a worker LWP, lwp_exit does the kernel exit at
 * once and then throws an LwpExit to unwind the start function; the
 * trampoline catches it (or its uncaughtException handler does, when it was
 * thrown from a callback).
 */
export class LwpExit {
  readonly message = 'lwp_exit';
}
let exited = false;
/** Whether the current LWP already exited itself; with an argument, sets it. */
export function exitedSelf(v?: boolean): boolean {
  if (v !== undefined) exited = v;
  return exited;
}
