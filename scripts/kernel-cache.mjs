/**
 * Writes build/bundle/kernel.cjs.cache and ukern.cjs.cache (run by
 * scripts/bundle.mjs in a fresh process): compiles the kernel script,
 * exercises the calls nearly every program makes (ports, kqueue, clocks, a
 * timer on the manual clock), none of which starts a thread, and saves V8's
 * code cache, which then holds the bytecode of those paths too
 * (src/loader.ts); then the same for the class layer's script over it.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { script_cache } = await import(new URL('../build/bundle/loader.js', import.meta.url).href);
const file = (f) => fileURLToPath(new URL(`../build/bundle/${f}.cjs.cache`, import.meta.url));
const ZERO = { tv_sec: 0, tv_nsec: 0 };
let asyncWarm;

const data = script_cache('kernel', ({ sys }) => {
  sys.boot();
  sys.clock_gettime(sys.CLOCK_MONOTONIC);
  sys.clock_gettime(sys.CLOCK_REALTIME);
  const p = sys.port_create();
  for (let i = 0; i < 64; i++) sys.port_send(p, 1, i);
  sys.port_get(p, ZERO);
  sys.port_getn(p, 64, 1, ZERO);
  try { sys.port_get(p, ZERO); } catch (e) { if (e.code !== 'ETIME') throw e; }
  sys.port_send(p, 1, 1);
  asyncWarm = sys.port_get_async(p);
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, 0, sys.NOTE_TRIGGER, 0, 0)], 0, ZERO);
  sys.kevent(kq, null, 8, ZERO);
  const t = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 7 } });
  sys.timer_settime(t, 0, { it_interval: ZERO, it_value: { tv_sec: 0, tv_nsec: 1000 } });
  sys.timer_gettime(t);
  sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 1000 });
  sys.timer_delete(t);
  sys.close(kq);
});
await asyncWarm;
writeFileSync(file('kernel'), data);

// The classes most programs of the class layer make: a Port (sync and
// Promise gets), a KQueue with a user event, a Timer on the manual clock.
let classWarm;
const classes = script_cache('ukern', ({ ukern }) => {
  const port = new ukern.Port();
  port.sendSync(1, 2);
  port.getSync({ timeout: 0 });
  port.sendSync(1, 3);
  classWarm = port.get({ timeout: 0 }).finally(() => port.close());
  const kq = new ukern.KQueue();
  kq.close();
});
await classWarm;
writeFileSync(file('ukern'), classes);
