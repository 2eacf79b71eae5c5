/**
 * `ukern`: the idiomatic TypeScript layer over `ukern/sys` — classes with
 * Promise variants, AbortSignal, async iterators and Symbol.dispose. Thin:
 * no kernel semantics of its own. A failed call throws its syscall's
 * SysError; a bad argument is Node's TypeError or RangeError (its `code`
 * ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE...), an abort an AbortError, and
 * `Lwp#wait()` an LwpError for an LWP that returned no value.
 * @module ukern
 */
// The whole kernel first: every thread the kernel starts loads all of it, and
// the booting thread's layout must hold everything they register.
import './sys/index.js';
export { SysError, boot, type ErrnoCode, type Timespec, type Itimerspec, type BootOptions } from './sys/index.js';
// The constants of ukern/sys (event sources, filters, flags, clocks, notify kinds):
export * from './sys/constants.js';
export { Lwp, type LwpOptions, type LwpWaitOptions, type ParkOptions } from './ukern/lwp.js';
export {
  LwpError, LwpImportError, LwpExportError, LwpThrewError, LwpResultError, LwpNoResultError, AbortError,
  KernelPanicError, KernelLayoutError, KernelAssertionError,
} from './ukern/errors.js';
export type { LwpStart, LwpInfo } from './sys/ext.js';
export { lwp_snapshot as snapshot, kstat } from './sys/ext.js';
/** Every counter and gauge of the kernel (or one module's): the one place for statistics (an alias of kstat). */
export { kstat as stats } from './sys/ext.js';
export { ParkMutex } from './ukern/parkmutex.js';
// subsystem classes (one line each):
export { Timer, type TimerOptions, type TimerExpiry } from './ukern/timer.js';
export { Port, PORT_SOURCE_MSG, type PortOptions, type PortGetOptions, type PortEventsOptions, type PortEvent, type PortMessagesOptions } from './ukern/port.js';
export { KQueue, type KEventOptions, type KQueueWaitOptions, type WatchKind, type OsTarget } from './ukern/kqueue.js';
// The kernel's own shapes the classes hand out or take (a kevent, a port event, a watched file's times), as ukern/sys names them.
export type { kevent_t, port_event_t, file_obj_t } from './sys/index.js';
export { aio, type AioOptions, type AioOp } from './ukern/aio.js';
export {
  onSignal, signals, kill, SignalSubscription, type SignalLike, type SignalListener, type OnSignalOptions, type SignalsOptions,
} from './ukern/signals.js';
export { sigemptyset, sigfillset, sigaddset, sigdelset, sigismember, type sigset_t, type siginfo_t } from './sys/index.js';
/** The timeout and signal every wait of the classes takes (one rule: ukern/waitopts.ts). */
export type { WaitOptions } from './ukern/waitopts.js';
