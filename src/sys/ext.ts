/**
 * The sys layer's extensions for the class layer: what the `ukern` classes
 * need of the kernel besides the C contract of `ukern/sys` (src/sys/index.ts)
 * — the copy-in of arguments with Node's error codes, event-loop holds,
 * SIGEV_THREAD delivery's references, the module URL rule of lwp_create.
 * The classes import the kernel only through these two modules (checked in
 * CI: .dependency-cruiser.cjs). Nothing here is exported from `ukern/sys`
 * but what it shares with it (SysError, the time types, kstat, lwp_snapshot,
 * lwp_wait_timed: docs/sys.md).
 */
// The class layer's copy-in: copyin_fields and copyin_array with Node's
// code for an object that cannot be read (a revoked Proxy:
// ERR_INVALID_ARG_VALUE, where the sys layer's is EFAULT).
export { arg_fields as copyin_fields, arg_array as copyin_array, copyin_instanceof, copyin_fault, abort_listen, arg_type, ArgRangeError, ArgTypeError, ArgValueError } from '../kern/copyin.js';
export { SysError, AbortError, KernelPanicError, KernelLayoutError, KernelAssertionError, type ErrnoCode } from '../kern/errno.js';
export { ns_to_ts, ms_to_ts, ts_add_ms, TIME_SEC_MAX, type Timespec, type Itimerspec } from '../kern/time.js';
export { hold_scope, on_panic_seen, type Hold, type HoldScope } from '../kern/keepalive.js';
export { panic_error } from '../kern/panic.js';
export type { BootOptions } from '../kern/options.js';
export { thread_notify_ref } from '../timers/sigev-thread.js';
export { copyin_module_href } from '../lwp/module-href.js';
export { lwp_snapshot, lwp_wait_timed, lwp_park_poll, type LwpStart, type LwpInfo } from '../lwp/sys.js';
export { lwp_ref } from '../lwp/ref.js';
export { kstat } from '../kern/sys.js';
// Ports: the awaitable send, and structured messages (encode in the sender's
// thread, queue as PORT_SOURCE_MSG events; decoded into the getter's inbox).
export { port_send_wait } from '../ports/room.js';
export { port_post, port_post_value, port_post_wait, port_post_many, port_post_many_wait, msg_inbox_pick, PORT_SOURCE_MSG } from '../ports/msg-sys.js';
export { msg_encode, msg_encode_many, msg_channel_open } from '../ports/msg-codec.js';
export { v8_module } from '../kern/host.js';
