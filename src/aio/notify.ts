/**
 * How a completed request tells its owner, one notifier per sigev_notify
 * kind, all run by aio_done_locked under the aio lock (the request's lock
 * comes before the port's, kqueue's and signal lock, as source.ts asks of
 * an event source). SIGEV_NONE: nothing (aio_error / aio_suspend see it).
 * SIGEV_PORT: the PORT_SOURCE_AIO event whose slot was reserved at
 * submission (portev_object = aio_id, portev_user = portnfy_user), so the
 * completion can never fail for want of room; the slot is the port's once
 * queued (PORT_ALLOC_DEFAULT: freed at delivery). A port closed before the
 * completion gives the reservation back here (`closed`, the seed's close
 * rule for sources): that request completes without an event.
 */
import { I32 } from '../kern/kmem.js';
import { mutex_enter, mutex_exit } from '../kern/mutex.js';
import {
  port_source_register, port_alloc_event, port_init_event, port_send_event, port_free_event,
} from '../ports/kapi.js';
import { PORT_SOURCE_AIO, PORT_ALLOC_DEFAULT } from '../ports/consts.js';
import { SIGEV_PORT } from '../timers/consts.js';
import { R, reqs, aio_lock, aio_set_notifier, RS_DONE } from './aio.js';

aio_set_notifier(SIGEV_PORT, (h) => {
  const slot = I32[h + R.slot]!;
  if (slot === 0) return; // its port was closed
  I32[h + R.slot] = 0;
  // A port whose close has begun (its sources not yet told) takes nothing:
  // the reservation is still ours to give back.
  if (!port_send_event(slot)) port_free_event(slot);
});

/** Reserves request h's port event (no lock held): the port's errno (EBADF, EBADFD, EAGAIN) on failure. */
export function port_reserve(h: number, id: number, port: number, user: number, syscall: string): void {
  const slot = port_alloc_event(port, PORT_ALLOC_DEFAULT, PORT_SOURCE_AIO, syscall);
  port_init_event(slot, id, user, 0, false);
  I32[h + R.slot] = slot;
  I32[h + R.portfd] = port;
}

/** Gives back the reservation of a request that was never published. */
export function port_unreserve(h: number): void {
  const slot = I32[h + R.slot]!;
  I32[h + R.slot] = 0;
  if (slot !== 0) port_free_event(slot);
}

port_source_register(PORT_SOURCE_AIO, {
  name: 'aio',
  closed(port: number): void {
    if (reqs.inuse === 0) return;
    mutex_enter(aio_lock());
    for (let i = 0; i < reqs.count; i++) {
      const h = reqs.handle(i);
      if (I32[h + R.id] === 0 || I32[h + R.slot] === 0 || I32[h + R.portfd] !== port) continue;
      if (I32[h + R.state] === RS_DONE) continue;
      port_unreserve(h);
    }
    mutex_exit(aio_lock());
  },
});
