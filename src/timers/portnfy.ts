/**
 * SIGEV_PORT notification: the timer as a PORT_SOURCE_TIMER event source of
 * the event ports (src/ports/source.ts), as timer.c does it:
 *  - timer_create reserves the timer's one event slot (PORT_ALLOC_SCACHED:
 *    the slot stays with the timer after each delivery), so a firing can
 *    never fail for want of memory: EAGAIN comes at creation;
 *  - a firing whose pending count goes from 0 to n queues the slot; later
 *    firings only add to the count (at most one queued event per timer);
 *  - the delivery callback, in the retrieving thread, takes the count:
 *    portev_events = expirations since the last delivery, and the timer's
 *    overrun (timer_getoverrun) = portev_events - 1;
 *  - timer_delete withdraws a queued event and frees the slot, and returns
 *    only once a delivery callback of it that a getter has started has
 *    returned: the callback takes it_mutex, and the struct, freed, would be
 *    reused and zeroed by the next timer_create under a getter holding that
 *    mutex (port_unbind); disarming (timer_settime with a zero it_value)
 *    leaves a queued event alone;
 *  - closing the port turns the timer's notification off (timer_close_port):
 *    the timer stays, armed, counting expirations nobody will receive.
 * Locks: it_mutex is held while queueing (the timer's lock comes before the
 * port's, as source.ts asks); callbacks run with no port lock held.
 */
import { I32, F64, kregion_create } from '../kern/kmem.js';
import { mono_now } from '../kern/time.js';
import { fd_index } from '../kern/fdtab.js';
import { TL_MONO } from './clocks.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import {
  port_source_register, port_alloc_event, port_init_event, port_send_event, port_free_event,
  type PortDelivery,
} from '../ports/kapi.js';
import { PORT_ALLOC_SCACHED, PORT_SOURCE_TIMER } from '../ports/consts.js';
import { IT, IT_PORT, itimer_register_notifier, itimer_set_next_hook, itimer_take } from './itimer.js';
import { sig_hint } from './signfy.js';
import { timer_grab, timer_release, timer_ids } from './timertab.js';
import { diag_publish_later, dc_timer_overrun } from '../kern/diag.js';

itimer_register_notifier(IT_PORT, {
  post(it: number): void {
    const slot = I32[it + IT.portev]!;
    if (slot !== 0) port_send_event(slot);
  },
});

/*
 * The deadline hint: for each kernel descriptor, the earliest known upcoming
 * expiry (kernel monotonic ns) of a timer that notifies that port. It is
 * advisory (plain stores, last writer wins; a value in the past means "none
 * known") and exists so that a getter blocked on the port can sleep until
 * shortly before the expiry and spin the rest: on this VM a blocked thread
 * needs ~25-30 µs to wake, so a clock thread that fires on time is not enough
 * for a port reader to see the event on time. See timer_port_deadline.
 */
const hints = kregion_create('itimer.porthint', (t) => 2 * t.maxfiles!);
function hint_index(fd: number): number {
  const i = fd_index(fd);
  return i >= 0 && i < hints.words >> 1 ? (hints.base >> 1) + i : -1;
}
/** Notes that a timer feeding `fd` expires next at `next` (mono ns). */
export function port_hint(fd: number, next: number): void {
  const i = hint_index(fd);
  if (i < 0) return;
  const h = F64[i]!;
  if (h <= mono_now() || next < h) F64[i] = next;
}
/**
 * The earliest upcoming expiry (kernel monotonic ns) of a POSIX timer that
 * notifies the port `fd`, or Infinity when none is known. For port_get: when
 * it must sleep and this is near, sleep until shortly before it, then spin
 * until the event arrives (or a bounded time past it), then sleep as usual.
 */
export function timer_port_deadline(fd: number): number {
  const i = hint_index(fd);
  if (i < 0) return Infinity;
  const h = F64[i]!;
  return h > mono_now() ? h : Infinity;
}
itimer_set_next_hook((it, next) => {
  if (I32[it + IT.line] !== TL_MONO) return;
  if ((I32[it + IT.flags]! & IT_PORT) !== 0) port_hint(I32[it + IT.portfd]!, next);
  else sig_hint(I32[it + IT.signo]!, next);
});

port_source_register(PORT_SOURCE_TIMER, {
  name: 'timer',
  deliver(d: PortDelivery): boolean {
    const it = d.arg;
    mutex_enter(it + IT.mutex);
    // The slot is the timer's as long as it is not freed, and a freed slot is
    // withdrawn before it is freed, so `it` is still this slot's timer here;
    // and still allocated: its delete waits for this callback to return
    // before it frees the struct (port_unbind).
    const n = I32[it + IT.portev] === d.slot ? itimer_take(it) : 0;
    mutex_exit(it + IT.mutex);
    // A queued event always has expirations behind it; 1 guards the impossible.
    d.events = n > 0 ? n : 1;
    // Not from here: a subscriber would run inside the take, the slot being
    // delivered (its timer_delete waited 5 s for this very delivery to end,
    // then panicked the kernel), the thread's delivery record in use.
    if (n > 1) diag_publish_later(dc_timer_overrun, () => ({ timerid: d.object, overrun: n - 1 }));
    return true;
  },
  closed(port: number): void { timer_close_port(port); },
});

/** Associates a new timer (born locked) with a port and reserves its slot: the port's errno on failure. */
export function port_bind(it: number, tid: number, port: number, user: number): void {
  const slot = port_alloc_event(port, PORT_ALLOC_SCACHED, PORT_SOURCE_TIMER, 'timer_create');
  port_init_event(slot, tid, user, it, true);
  mutex_enter(it + IT.mutex);
  I32[it + IT.portev] = slot;
  I32[it + IT.portfd] = port;
  I32[it + IT.flags]! |= IT_PORT;
  mutex_exit(it + IT.mutex);
}

/**
 * Turns a timer's port notification off and gives its slot back (a queued
 * event is withdrawn). Returns only once no delivery callback of the slot
 * is running: a getter that took the event before the withdraw may be in
 * it, about to take or holding it_mutex, and the caller may free the struct
 * next (teardown; the seed's removal of a done event likewise blocks the
 * port's getters first). Called holding g and no mutex (the callback takes
 * it_mutex, and never g).
 */
export function port_unbind(it: number): void {
  mutex_enter(it + IT.mutex);
  const slot = I32[it + IT.portev]!;
  I32[it + IT.portev] = 0;
  I32[it + IT.flags]! &= ~IT_PORT;
  mutex_exit(it + IT.mutex);
  if (slot !== 0) port_free_event(slot, true, true);
}

/** timer_close_port: every timer notifying `port` stops notifying (the port is being closed). */
export function timer_close_port(port: number): void {
  for (const tid of timer_ids()) {
    const it = timer_grab(tid);
    if (it === 0) continue;
    if ((I32[it + IT.flags]! & IT_PORT) !== 0 && I32[it + IT.portfd] === port) port_unbind(it);
    timer_release(it);
  }
}
