/**
 * diagnostics_channel: the kernel's notable events, published on named
 * channels as undici and Node's own subsystems do. Nothing is built or
 * published while a channel has no subscribers (one property load:
 * `hasSubscribers`, once the thread has made the channel: DiagChannel). A
 * subscriber is user code, so it never runs under a kernel lock: a publish
 * from a thread that holds one is deferred to a microtask. Channels are per thread, like all of Node's: an event is
 * published in the thread where it happens (an LWP's exit in its own
 * worker, or in the thread that reaped it; a create in the creating thread),
 * so a program that wants every thread's events subscribes in each (its
 * LWPs' start modules included).
 *
 * Channels and their messages:
 *   ukern:lwp:create    { lid, module, export, flags }       after lwp_create succeeded
 *   ukern:lwp:exit      { lid, threw, died }                 an LWP exited (returned, lwp_exit, threw, or its thread died);
 *                                                            in its own thread the subscriber runs as no LWP (a syscall throws LwpExit)
 *   ukern:port:alert    { port, flags, events, user }        port_alert set or cleared an alert
 *   ukern:port:close    { port }                             a port was closed
 *   ukern:timer:overrun { timerid, overrun }                 a SIGEV_PORT timer's event was taken with overruns (> 0), in the taking thread
 *                                                            (from a microtask after the take: a subscriber may delete the timer)
 *   ukern:kqueue:close  { kq }                               a kqueue was closed
 *   ukern:panic         { message, lid }                     the kernel panicked: the first panic, once in each thread that meets it
 *                                                            (raised it; or a call failed with its EIO: from a microtask); lid who raised it
 *   ukern:signal        { lid, signo, action, info }         an LWP took a signal: action 'handler', 'default' or 'ignore', in the taking thread
 */
import type * as DiagnosticsChannel from 'node:diagnostics_channel';
import { I32 } from './kmem.js';
import { cur } from './hdr.js';
import { host_builtin } from './host.js';
import { hold_in } from './keepalive.js';

/**
 * One of the kernel's channels: its name, and Node's channel object, made
 * at this thread's first publish on it. Not at load: node:diagnostics_channel
 * and the eight channels cost every thread ~0.3 ms of its kernel load
 * (measured, the kernel script's top level module by module), and most
 * threads publish on few of them. Nothing is lost by waiting: Node keeps a
 * channel by name, so a subscriber that came first is found then.
 */
export interface DiagChannel { readonly name: string; ch?: DiagnosticsChannel.Channel }

export const dc_lwp_create: DiagChannel = { name: 'ukern:lwp:create' };
export const dc_lwp_exit: DiagChannel = { name: 'ukern:lwp:exit' };
export const dc_port_alert: DiagChannel = { name: 'ukern:port:alert' };
export const dc_port_close: DiagChannel = { name: 'ukern:port:close' };
export const dc_timer_overrun: DiagChannel = { name: 'ukern:timer:overrun' };
export const dc_kqueue_close: DiagChannel = { name: 'ukern:kqueue:close' };
export const dc_panic: DiagChannel = { name: 'ukern:panic' };
export const dc_signal: DiagChannel = { name: 'ukern:signal' };

let channel: typeof DiagnosticsChannel.channel | undefined;

/** Whether anyone in this thread listens on `d` now (one property load once the channel is made). */
export function diag_listened(d: DiagChannel): boolean {
  return (d.ch ??= (channel ??= (host_builtin('node:diagnostics_channel') as typeof DiagnosticsChannel).channel)(d.name)).hasSubscribers;
}

/**
 * Publishes `make()` on `d` if anyone listens; deferred to a microtask when
 * this thread holds a kernel lock. Nothing is built while nobody listens.
 * The subscribers run outside any hold scope (kern/keepalive.ts): a publish
 * inside a class-layer wait's call (a timer's overrun, taken by an unref'd
 * Port's get) gave the waits a subscriber starts that Port's ref state.
 */
export function diag_publish(d: DiagChannel, make: () => object): void {
  if (!diag_listened(d)) return;
  const ch = d.ch!;
  const msg = make();
  if ((I32[cur.nlocksw]! | 0) !== 0) queueMicrotask(() => ch.publish(msg));
  else hold_in(undefined, () => { ch.publish(msg); });
}

/**
 * diag_publish for an event met in the middle of kernel work that holds no
 * lock but must not run user code either (a port source's deliver
 * callback, inside a take: its slot is being delivered, and the thread's
 * delivery record in use): always published from a microtask.
 */
export function diag_publish_later(d: DiagChannel, make: () => object): void {
  if (!diag_listened(d)) return;
  const ch = d.ch!, msg = make();
  queueMicrotask(() => ch.publish(msg));
}
