/**
 * The kqueue part of the `npm start` demo: one kqueue multiplexing an event
 * port (EVFILT_READ), a user event (EVFILT_USER) and a timer (EVFILT_TIMER),
 * waited on with the async iterator. Returns the lines it would print so the
 * CLI decides where they go.
 */
// First: kernel memory is laid out in module load order, and every thread
// the kernel starts loads the sys facade first; so must we.
import '../sys/index.js';
import { KQueue } from './kqueue.js';
import { port_create, port_send, port_getn } from '../ports/sys.js';
import { close } from '../sys/close.js';
import { EVFILT_READ, EVFILT_USER, EVFILT_TIMER, EV_CLEAR, EV_ONESHOT, NOTE_FFCOPY } from './consts.js';

export async function kqueueDemo(): Promise<string[]> {
  const lines: string[] = [];
  const port = port_create();
  using kq = new KQueue();
  kq.register(port, EVFILT_READ, { flags: EV_CLEAR, udata: 1 });
  kq.register(7, EVFILT_USER, { flags: EV_CLEAR, udata: 2 });
  kq.register(1, EVFILT_TIMER, { data: 20, udata: 3 });            // every 20 ms
  kq.register(2, EVFILT_TIMER, { data: 110, flags: EV_ONESHOT, udata: 4 });
  setTimeout(() => port_send(port, 0x1, 42), 30);
  setTimeout(() => kq.trigger(7, NOTE_FFCOPY | 0x5, 99), 60);
  const t0 = Date.now();
  let ticks = 0;
  for await (const ev of kq) {
    const at = `${String(Date.now() - t0).padStart(4)} ms`;
    if (ev.filter === EVFILT_READ) {
      const got = port_getn(port, 8, 1, { tv_sec: 0, tv_nsec: 0 });
      lines.push(`${at}  port ${ev.ident} readable (${ev.data} event): user ${got.map((e) => e.portev_user).join(',')}`);
    } else if (ev.filter === EVFILT_USER) {
      lines.push(`${at}  user event ${ev.ident}: fflags 0x${ev.fflags.toString(16)} data ${ev.data}`);
    } else if (ev.ident === 1) {
      ticks += ev.data;
    } else {
      lines.push(`${at}  oneshot timer: ${ticks} ticks of the 20 ms timer so far; done`);
      break;
    }
  }
  close(port);
  return lines;
}
