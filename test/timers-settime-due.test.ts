/**
 * timer_settime on a timer whose expiry came due but was not fired yet (the
 * clock thread still starting, its bridge behind a busy event loop) fires it
 * first: re-setting or disarming a timer never loses the expirations that
 * came due before the call (src/timers/sys.ts). The first test runs right
 * after boot, before the clock thread can be up (a worker takes tens of ms
 * to start) and while this thread's event loop is held by a busy wait, so
 * nobody else fires the timer meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { clock_thread_running } from '../src/timers/clockstats.js';

sys.boot({});

const Z = { tv_sec: 0, tv_nsec: 0 };
const ms = (n: number): sys.Timespec => ({ tv_sec: 0, tv_nsec: n * 1e6 });
const mono = (): number => { const t = sys.clock_gettime(sys.CLOCK_MONOTONIC); return t.tv_sec * 1e9 + t.tv_nsec; };
const spin = (n: number): void => { const end = performance.now() + n; while (performance.now() < end); };

test('disarming a periodic timer whose expirations came due unfired: they reach the port first', () => {
  const port = sys.port_create();
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 3 } });
  const a0 = mono();
  sys.timer_settime(t, 0, { it_value: ms(1), it_interval: ms(1) });
  const a1 = mono();
  spin(6); // some 6 periods come due; nobody can fire them (see the header)
  const clockUp = clock_thread_running();
  const d0 = mono();
  const old = sys.timer_settime(t, 0, { it_value: Z, it_interval: Z });
  const d1 = mono();
  assert.deepEqual(old.it_interval, ms(1));
  const ev = sys.port_get(port, Z); // ETIME here would be the lost expirations
  assert.equal(ev.portev_source, sys.PORT_SOURCE_TIMER);
  assert.equal(ev.portev_user, 3);
  // Expiry k (k = 1, 2, ...) is due at arm + k ms: those due before the
  // disarm began all count; none due after it ended may.
  const lo = Math.floor((d0 - a1) / 1e6), hi = Math.floor((d1 - a0) / 1e6);
  assert.ok(lo >= 3, `the busy wait spanned ${lo} periods`);
  assert.ok(ev.portev_events >= lo && ev.portev_events <= hi, `${ev.portev_events} expirations, ${lo}..${hi} due (clock thread up: ${clockUp})`);
  assert.throws(() => sys.port_get(port, Z), (e: unknown) => e instanceof sys.SysError && e.code === 'ETIME', 'nothing after the disarm');
  sys.timer_delete(t);
  sys.close(port);
});

test('re-arming a one-shot timer that came due unfired: the old expiry is delivered, then the new one', () => {
  const port = sys.port_create();
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 4 } });
  sys.timer_settime(t, 0, { it_value: ms(1), it_interval: Z });
  spin(3);
  sys.timer_settime(t, 0, { it_value: ms(2), it_interval: Z });
  const first = sys.port_get(port, { tv_sec: 1, tv_nsec: 0 });
  assert.equal(first.portev_user, 4);
  assert.equal(first.portev_events, 1);
  const second = sys.port_get(port, { tv_sec: 1, tv_nsec: 0 });
  assert.equal(second.portev_events, 1, 'the new setting fires too');
  sys.timer_delete(t);
  sys.close(port);
});

test('a timer not yet due: re-setting it fires nothing early', () => {
  const port = sys.port_create();
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 5 } });
  sys.timer_settime(t, 0, { it_value: { tv_sec: 60, tv_nsec: 0 }, it_interval: Z });
  sys.timer_settime(t, 0, { it_value: Z, it_interval: Z });
  assert.throws(() => sys.port_get(port, Z), (e: unknown) => e instanceof sys.SysError && e.code === 'ETIME');
  sys.timer_delete(t);
  sys.close(port);
});
