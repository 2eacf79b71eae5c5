/**
 * Until the intr thread runs, a getter of a port with PORT_SOURCE_FD
 * associations sleeps one bridge period (1 ms) at a time and, before each
 * sleep, takes the kernel's epoll set's events itself with the port lock
 * dropped (src-fd.ts fd_bridge_locked). An alert set while it had the lock
 * dropped found it on no wait list (nothing to wake):
 *
 *  - the getter, which looked only at the queue after the bridge, slept a
 *    bridge period before it saw the alert: ~1 ms late ('late');
 *  - with its deadline under a bridge period away, the bridge returns the
 *    deadline itself, and the getter looked at nothing after it: it slept
 *    to its deadline and port_get failed with ETIME, the alert (set before
 *    the timeout expired) never returned ('deadline'). As the seed's
 *    port_getn, which looks at the alert flag on every pass, it is returned.
 *
 * It now looks at the alert (and the close, and the queue) after every
 * bridge. In a child process with the intr thread held (UKERN_INTR_HOLD=1),
 * so that the main thread's port_get waits through the bridge: the alert is
 * set from inside the bridge, deterministically, by an intr handler of the
 * test's that runs for an OS event the bridge dispatches (a byte written to
 * a pipe associated with another port just before the call). 'late': how
 * long the getter takes from that alert to its return, in the median of
 * several samples, must be well under a bridge period; 'deadline' (a
 * timeout of 300 µs): every get returns its alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { writeSync, readSync } from 'node:fs';
import { childOk } from './helpers.js';

type Mode = 'late' | 'deadline';
const MODE = process.env.UKERN_TEST_ALERT_BRIDGE as Mode | undefined;
const N = 9;
const hr = (): number => Number(process.hrtime.bigint());

if (MODE !== undefined) {
  const { boot } = await import('../src/kern/boot.js');
  const sys = await import('../src/sys/index.js');
  const { intr_add_handler } = await import('../src/intr/kapi.js');
  const { pipe } = await import('./fixtures/osfd.js');
  boot({ port_spin_ns: 0 });
  const [r] = pipe(), [r2, w2] = pipe();
  const p = sys.port_create(), q = sys.port_create();
  sys.port_associate(p, sys.PORT_SOURCE_FD, r, sys.POLLIN, 9); // (idle: p's getter waits through the bridge)
  // Sets p's alert from inside the bridge (no lock held: an intr handler), once per sample.
  let armed = -1, alertAt = 0, inBridge = 0;
  intr_add_handler(() => {
    if (armed < 0) return 0;
    const i = armed;
    armed = -1; inBridge++;
    alertAt = hr();
    sys.port_alert(p, sys.PORT_ALERT_SET, 1, i);
    return 0;
  });
  const timeout = MODE === 'late' ? { tv_sec: 5, tv_nsec: 0 } : { tv_sec: 0, tv_nsec: 300_000 };
  const lat: number[] = [], got: string[] = [];
  for (let i = 0; i < N; i++) {
    sys.port_associate(q, sys.PORT_SOURCE_FD, r2, sys.POLLIN, 5);
    writeSync(w2, 'x'); // an event in the kernel's epoll set, which p's getter's bridge dispatches
    armed = i;
    try {
      const ev = sys.port_get(p, timeout);
      lat.push((hr() - alertAt) / 1e6);
      got.push(ev.portev_source === sys.PORT_SOURCE_ALERT && ev.portev_user === i ? 'alert' : JSON.stringify(ev));
    } catch (e) {
      got.push((e as { code?: string }).code ?? String(e));
    }
    armed = -1;
    sys.port_alert(p, 0, 0, 0);
    sys.port_get(q, { tv_sec: 5, tv_nsec: 0 }); // (the pipe's event, dispatched to q by the same bridge)
    readSync(r2, Buffer.alloc(8));
  }
  process.stdout.write(JSON.stringify({ lat, got, inBridge, started: sys.kstat('intr')['intr.started'] }) + '\n');
} else {
  const child = async (mode: Mode): Promise<{ lat: number[]; got: string[]; inBridge: number; started: number }> => {
    const { stdout } = await childOk(fileURLToPath(import.meta.url), 60_000, { UKERN_TEST_ALERT_BRIDGE: mode, UKERN_INTR_HOLD: '1' });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { lat: number[]; got: string[]; inBridge: number; started: number };
    assert.equal(r.started, 0, 'the intr thread stayed held: the getter waited through the bridge');
    assert.equal(r.inBridge, N, 'every alert was set from inside the bridge');
    return r;
  };

  test('a getter waiting through the bridge (intr thread held) sees an alert set while it had the lock dropped at once, not a bridge period later', async () => {
    const r = await child('late');
    assert.deepEqual(r.got, Array(N).fill('alert'));
    const lat = [...r.lat].sort((a, b) => a - b), median = lat[N >> 1]!;
    // A bridge period is 1 ms: an alert seen only after the next one is ~1 ms late.
    assert.ok(median < 0.4, `alert to return, median ${median.toFixed(3)} ms (all: ${r.lat.map((x) => x.toFixed(3)).join(', ')})`);
  });

  test('a getter whose deadline is under a bridge period away (intr thread held) returns an alert set while its bridge had the lock dropped, not ETIME', async () => {
    const r = await child('deadline');
    assert.deepEqual(r.got, Array(N).fill('alert'));
  });
}
