/**
 * A 1 ms POSIX timer feeding an event port, a kqueue watching that port and
 * a user event, and an LWP-free main thread waiting on both.
 * Run: npm run build && node build/examples/timer-port-kqueue.js
 */
import * as sys from 'ukern/sys';

const port = sys.port_create();
const tid = sys.timer_create(sys.CLOCK_MONOTONIC, {
  sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 7 },
});
const ms = { tv_sec: 0, tv_nsec: 1e6 };
sys.timer_settime(tid, 0, { it_value: ms, it_interval: ms });

// Blocking get: the first expiry (the clock thread starts on first use, so it may carry several).
const ev = sys.port_get(port, null);
console.log(`port_get: source ${ev.portev_source === sys.PORT_SOURCE_TIMER ? 'TIMER' : ev.portev_source}, timer ${ev.portev_object}, user ${ev.portev_user}, expirations ${ev.portev_events}`);

const kq = sys.kqueue();
sys.kevent(kq, [
  sys.EV_SET(port, sys.EVFILT_READ, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 1),
  sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 2),
], 0);
setTimeout(() => sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, 0, sys.NOTE_TRIGGER, 0, 2)], 0), 5);

let sawUser = false, sawPort = false;
while (!sawUser || !sawPort) {
  for (const k of await sys.kevent_async(kq, null, 8, { tv_sec: 1, tv_nsec: 0 })) {
    if (k.filter === sys.EVFILT_USER) { sawUser = true; console.log('kevent: user event triggered'); }
    if (k.filter === sys.EVFILT_READ) {
      sawPort = true;
      const evs = sys.port_getn(port, 64, 1, { tv_sec: 0, tv_nsec: 0 }); // a zero timeout: whatever is there
      console.log(`kevent: port readable (data ${k.data}); port_getn took ${evs.length} timer event(s)`);
    }
  }
}
sys.timer_delete(tid);
sys.close(kq);
sys.close(port);
console.log('done');
