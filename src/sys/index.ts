/**
 * `ukern/sys`: the C interfaces of event ports, POSIX timers and clocks,
 * kqueue and NetBSD LWPs under their C names, argument orders, constants and
 * errno semantics. The contract is docs/sys.md.
 * @module ukern/sys
 */
export { SysError, type ErrnoCode } from '../kern/errno.js';
export type { Timespec, Itimerspec } from '../kern/time.js';
export type { BootOptions } from '../kern/options.js';
// The modules that add their tunables to BootOptions (module augmentation),
// named so that the declarations of this entry reach them: a consumer's
// compiler reads only those, and without these BootOptions lacked every
// tunable of ports, kqueue, timers, signals, intr and aio (boot({
// port_max_events }) did not compile). Types only: nothing more is loaded.
export type {} from '../kern/fdtab.js';
export type {} from '../ports/mem.js';
export type {} from '../ports/src-fd.js';
export type {} from '../ports/src-file.js';
export type {} from '../kqueue/knote.js';
export type {} from '../kqueue/spin.js';
export type {} from '../timers/itimer.js';
export type {} from '../signals/sigstate.js';
export type {} from '../intr/intr.js';
export type {} from '../intr/handover.js';
export type {} from '../intr/inotify.js';
export type {} from '../intr/childwait.js';
export type {} from '../intr/hostwait.js';
export type {} from '../aio/aio.js';
/** The options object the _async calls take after the C arguments (`{ signal }`), an extension. */
export type { AsyncOptions } from '../kern/copyin.js';
export { boot } from '../kern/boot.js';
export { close, kstat, kmem_snapshot, type KmemInfo } from '../kern/sys.js';
export * from '../lwp/sys.js';
// subsystems (one line each):
export * from '../kqueue/sys.js';
export * from '../ports/sys.js';
export * from '../timers/sys.js';
export * from '../signals/sys.js';
export * from '../signals/wait.js';
export * from '../aio/sys.js';
import '../kqueue/filters/aio.js'; // EVFILT_AIO: SIGEV_KEVENT of aio requests
