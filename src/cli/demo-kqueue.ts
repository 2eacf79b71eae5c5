/**
 * The kqueue part of the `npm start` demo: one kqueue multiplexing an event
 * port (EVFILT_READ), a user event (EVFILT_USER) and two timers
 * (EVFILT_TIMER: a periodic one and a one-shot), waited on with the async
 * iterator. Returns the lines it would print so the CLI decides where they
 * go: one line each for the port, the user event and the one-shot timer
 * (which counts the periodic one's ticks), in the order they came.
 *
 * The port send and the trigger come from the event loop (setTimeout) while
 * the timers are kernel callouts, so on a loaded machine they can arrive in
 * any order: the demo runs until it has seen all four, not until the
 * one-shot timer, and cancels its setTimeouts before the port and kqueue
 * close (one firing after would throw EBADF out of a timer callback). A
 * deadline ends the wait with an error if the kernel never delivers.
 */
import { KQueue } from '../index.js';
import {
  port_create, port_send, port_getn, close, EVFILT_READ, EVFILT_USER, EVFILT_TIMER, EV_CLEAR, EV_ONESHOT, NOTE_FFCOPY,
} from '../sys/index.js';

/** How long the demo waits for its four events before it reports the kernel at fault. */
const DEADLINE_MS = 10_000;
const PORT_UDATA = 1, USER_UDATA = 2, TICK_UDATA = 3, ONESHOT_UDATA = 4;

export async function kqueueDemo(): Promise<string[]> {
  const lines: string[] = [];
  const port = port_create();
  const pending: ReturnType<typeof setTimeout>[] = [];
  const signal = AbortSignal.timeout(DEADLINE_MS);
  const seen = new Set<number>();
  try {
    using kq = new KQueue();
    kq.register(port, EVFILT_READ, { flags: EV_CLEAR, udata: PORT_UDATA });
    kq.register(7, EVFILT_USER, { flags: EV_CLEAR, udata: USER_UDATA });
    kq.register(1, EVFILT_TIMER, { data: 20, udata: TICK_UDATA });            // every 20 ms
    kq.register(2, EVFILT_TIMER, { data: 110, flags: EV_ONESHOT, udata: ONESHOT_UDATA });
    pending.push(setTimeout(() => port_send(port, 0x1, 42), 30));
    pending.push(setTimeout(() => kq.trigger(7, NOTE_FFCOPY | 0x5, 99), 60));
    const t0 = Date.now();
    let ticks = 0;
    try {
      for await (const ev of kq.events({ signal })) {
        const at = `${String(Date.now() - t0).padStart(4)} ms`;
        seen.add(ev.udata);
        if (ev.filter === EVFILT_READ) {
          const got = port_getn(port, 8, 1, { tv_sec: 0, tv_nsec: 0 });
          lines.push(`${at}  port ${ev.ident} readable (${ev.data} event): user ${got.map((e) => e.portev_user).join(',')}`);
        } else if (ev.filter === EVFILT_USER) {
          lines.push(`${at}  user event ${ev.ident}: fflags 0x${ev.fflags.toString(16)} data ${ev.data}`);
        } else if (ev.udata === TICK_UDATA) {
          ticks += ev.data;
        } else {
          lines.push(`${at}  oneshot timer: ${ticks} ticks of the 20 ms timer so far`);
        }
        if (seen.size === 4) break;
      }
    } catch (e) {
      if (!signal.aborted) throw e; // an aborted wait may end the loop quietly or reject: both are the deadline
    }
  } finally {
    for (const t of pending) clearTimeout(t);
    close(port);
  }
  if (seen.size !== 4) throw new Error(`kqueue demo: no ${['port', 'user event', 'periodic timer', 'oneshot timer'].filter((_, i) => !seen.has(i + 1)).join(', ')} event in ${DEADLINE_MS} ms`);
  return lines;
}
