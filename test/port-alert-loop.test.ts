/**
 * Alert mode must make every port_get(n) return the alert at once (the
 * seed's port_getn checks it on each entry, also when it loops because its
 * take found only events it could not deliver). Here the alert is set while
 * a getter is inside a take whose every event its source denies (a timer
 * whose expirations were taken by another delivery does that), with the
 * port lock dropped: the getter must still return the alert, not sleep
 * until its timeout. The alert is set from inside the (test) source's
 * delivery callback, which holds that window open deterministically.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/ports/sys.js';
import '../src/sys/index.js';
import { close } from '../src/kern/sys.js';
import {
  port_source_register, port_source_ops, port_alloc_event, port_init_event, port_set_event, port_send_event, port_free_event,
  type PortDelivery,
} from '../src/ports/source.js';

const ms = (n: number) => ({ tv_sec: Math.floor(n / 1000), tv_nsec: (n % 1000) * 1e6 });

let onDeliver: ((d: PortDelivery) => boolean) | undefined;
assert.equal(port_source_ops(sys.PORT_SOURCE_MQ), undefined, 'the test source is free');
port_source_register(sys.PORT_SOURCE_MQ, {
  name: 'test-alert-mq',
  deliver: (d) => onDeliver?.(d) ?? true,
});

for (const form of ['port_get_async', 'port_getn_async'] as const) {
  test(`${form}: an alert set while its take is all denied is returned at once`, async () => {
    const p = sys.port_create();
    const s = port_alloc_event(p, sys.PORT_ALLOC_SCACHED, sys.PORT_SOURCE_MQ);
    port_init_event(s, 1, 2, 0, true);
    port_set_event(s, 3);
    port_send_event(s);
    let denials = 0;
    onDeliver = () => {
      if (denials++ === 0) sys.port_alert(p, sys.PORT_ALERT_SET, 5, 77);
      return false;
    };
    const t0 = performance.now();
    try {
      const e = form === 'port_get_async' ? await sys.port_get_async(p, ms(1500)) : (await sys.port_getn_async(p, 4, 1, ms(1500)))[0];
      const dt = performance.now() - t0;
      assert.deepEqual(e, { portev_events: 5, portev_source: sys.PORT_SOURCE_ALERT, portev_object: 0, portev_user: 77 });
      assert.ok(dt < 1000, `returned after ${dt.toFixed(0)} ms, not at once`);
    } finally {
      onDeliver = undefined;
      port_free_event(s);
      close(p);
    }
  });
}
