/**
 * diagnostics_channel: the kernel's notable events, published on named
 * channels as undici and Node's own subsystems do. Nothing is built or
 * published while a channel has no subscribers (one property load:
 * `hasSubscribers`). A subscriber is user code, so it never runs under a
 * kernel lock: a publish from a thread that holds one is deferred to a
 * microtask. Channels are per thread, like all of Node's: an event is
 * published in the thread where it happens (an LWP's exit in its own
 * worker, or in the thread that reaped it; a create in the creating thread),
 * so a program that wants every thread's events subscribes in each (its
 * LWPs' start modules included).
 *
 * Channels and their messages:
 *   ukern:lwp:create    { lid, module, export, flags }       after lwp_create succeeded
 *   ukern:lwp:exit      { lid, threw, died }                 an LWP exited (returned, lwp_exit, threw, or its thread died)
 *   ukern:port:alert    { port, flags, events, user }        port_alert set or cleared an alert
 *   ukern:port:close    { port }                             a port was closed
 *   ukern:timer:overrun { timerid, overrun }                 a SIGEV_PORT timer's event was taken with overruns (> 0), in the taking thread
 *   ukern:kqueue:close  { kq }                               a kqueue was closed
 *   ukern:panic         { message, lid }                     the kernel panicked (once)
 *   ukern:signal        { lid, signo, action, info }         an LWP took a signal: action 'handler', 'default' or 'ignore', in the taking thread
 */
import { channel, type Channel } from 'node:diagnostics_channel';
import { I32 } from './kmem.js';
import { cur } from './hdr.js';

export const dc_lwp_create: Channel = channel('ukern:lwp:create');
export const dc_lwp_exit: Channel = channel('ukern:lwp:exit');
export const dc_port_alert: Channel = channel('ukern:port:alert');
export const dc_port_close: Channel = channel('ukern:port:close');
export const dc_timer_overrun: Channel = channel('ukern:timer:overrun');
export const dc_kqueue_close: Channel = channel('ukern:kqueue:close');
export const dc_panic: Channel = channel('ukern:panic');
export const dc_signal: Channel = channel('ukern:signal');

/**
 * Publishes `make()` on `ch` if anyone listens; deferred to a microtask when
 * this thread holds a kernel lock. Call sites test `ch.hasSubscribers`
 * first when building the message costs anything.
 */
export function diag_publish(ch: Channel, make: () => object): void {
  if (!ch.hasSubscribers) return;
  const msg = make();
  if ((I32[cur.nlocksw]! | 0) !== 0) queueMicrotask(() => ch.publish(msg));
  else ch.publish(msg);
}
