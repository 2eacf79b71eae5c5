/**
 * ports-alert-bridge's case when the getter's deadline is less than a bridge
 * period away: fd_bridge_locked (src-fd.ts), which drops the port lock to
 * take the kernel's epoll set's events, then returns the deadline itself as
 * when the sleep must end, and getn_gen looked at the alert (and the close,
 * and the queue) after the bridge only when it returned something else. An
 * alert set while the bridge had the lock dropped woke nobody (the getter
 * was on no wait list), the getter slept to its deadline with the alert's
 * generation read after the alert, and port_get failed with ETIME: the
 * alert, set before the timeout expired, was never returned. As the seed's
 * port_getn, which looks at the alert flag on every pass, it is returned.
 *
 * In a child with the intr thread held (UKERN_INTR_HOLD=1), as in
 * ports-alert-bridge: the alert is set from inside the bridge by an intr
 * handler of the test's, for an OS event the bridge dispatches; the
 * getter's timeout (300 µs) is under a bridge period (1 ms).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { writeSync, readSync } from 'node:fs';
import { childOk } from './helpers.js';

const CHILD = process.env.UKERN_TEST_ALERT_BRIDGE_DL === '1';
const N = 5;

if (CHILD) {
  const { boot } = await import('../src/kern/boot.js');
  const sys = await import('../src/sys/index.js');
  const { intr_add_handler } = await import('../src/intr/kapi.js');
  const { pipe } = await import('./fixtures/osfd.js');
  boot({ port_spin_ns: 0 });
  const [r] = pipe(), [r2, w2] = pipe();
  const p = sys.port_create(), q = sys.port_create();
  sys.port_associate(p, sys.PORT_SOURCE_FD, r, sys.POLLIN, 9); // (idle: p's getter waits through the bridge)
  let armed = -1, inBridge = 0;
  intr_add_handler(() => {
    if (armed < 0) return 0;
    const i = armed;
    armed = -1; inBridge++;
    sys.port_alert(p, sys.PORT_ALERT_SET, 1, i);
    return 0;
  });
  const got: string[] = [];
  for (let i = 0; i < N; i++) {
    sys.port_associate(q, sys.PORT_SOURCE_FD, r2, sys.POLLIN, 5);
    writeSync(w2, 'x'); // an event in the kernel's epoll set, which p's getter's bridge dispatches
    armed = i;
    try {
      const ev = sys.port_get(p, { tv_sec: 0, tv_nsec: 300_000 });
      got.push(ev.portev_source === sys.PORT_SOURCE_ALERT && ev.portev_user === i ? 'alert' : JSON.stringify(ev));
    } catch (e) {
      got.push((e as { code?: string }).code ?? String(e));
    }
    armed = -1;
    sys.port_alert(p, 0, 0, 0);
    sys.port_get(q, { tv_sec: 5, tv_nsec: 0 }); // (the pipe's event, dispatched to q by the same bridge)
    readSync(r2, Buffer.alloc(8));
  }
  process.stdout.write(JSON.stringify({ got, inBridge, started: sys.kstat('intr')['intr.started'] }) + '\n');
} else {
  test('a getter whose deadline is under a bridge period away (intr thread held) returns an alert set while its bridge had the lock dropped, not ETIME', async () => {
    const { stdout } = await childOk(fileURLToPath(import.meta.url), 60_000, { UKERN_TEST_ALERT_BRIDGE_DL: '1', UKERN_INTR_HOLD: '1' });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { got: string[]; inBridge: number; started: number };
    assert.equal(r.started, 0, 'the intr thread stayed held: the getter waited through the bridge');
    assert.equal(r.inBridge, N, 'every alert was set from inside the bridge');
    assert.deepEqual(r.got, Array(N).fill('alert'));
  });
}
