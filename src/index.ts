/**
 * `ukern`: the idiomatic TypeScript layer over `ukern/sys` — classes with
 * Promise variants, AbortSignal, async iterators and Symbol.dispose. Thin:
 * no semantics of its own; every error is the syscall's SysError.
 * @module ukern
 */
// The whole kernel first: every thread the kernel starts loads all of it, and
// the booting thread's layout must hold everything they register.
import './sys/index.js';
export { SysError, type ErrnoCode } from './kern/errno.js';
export type { Timespec, Itimerspec } from './kern/time.js';
export type { BootOptions } from './kern/options.js';
export { boot } from './kern/boot.js';
// The constants of ukern/sys (event sources, filters, flags, clocks, notify kinds):
export * from './sys/constants.js';
export { Lwp, type LwpOptions, type LwpWaitOptions, type ParkOptions } from './lwp/lwp-class.js';
export { LwpError, LwpImportError, LwpExportError, LwpThrewError, LwpResultError, LwpNoResultError, AbortError } from './errors.js';
export type { LwpStart, LwpInfo } from './lwp/sys.js';
export { lwp_snapshot as snapshot, kstat } from './lwp/sys.js';
/** Every counter and gauge of the kernel (or one module's): the one place for statistics (an alias of kstat). */
export { kstat as stats } from './lwp/sys.js';
export { ParkMutex } from './lib/parkmutex.js';
// subsystem classes (one line each):
export { Timer, type TimerOptions, type TimerExpiry } from './timers/timer.js';
export { Port, PORT_SOURCE_MSG, type PortGetOptions, type PortEventsOptions, type PortEvent, type PortMessagesOptions } from './ports/port.js';
export { KQueue, type KEventOptions, type WaitOptions } from './kqueue/kqueue.js';
