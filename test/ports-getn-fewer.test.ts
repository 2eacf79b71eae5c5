/**
 * docs/sys.md: a port_getn returns fewer than `nget` events, with no error,
 * only when its timeout passed, when it polled, or when sources denied some
 * of the `nget` events it took as it delivered them (the rest is returned
 * at once, as illumos' port_getn returns what it could deliver; a take that
 * delivers none waits on). The text said only the first; this holds the
 * third, which was always so (a documentation fix: no code changed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/ports/sys.js';
import { close } from '../src/kern/sys.js';
import { port_source_register, port_alloc_event, port_init_event, port_send_event } from '../src/ports/source.js';

let deny = 0;
port_source_register(sys.PORT_SOURCE_MQ, {
  name: 'test-deny',
  deliver() { if (deny > 0) { deny--; return false; } return true; },
});

function queue_mq(p: number, user: number): void {
  const s = port_alloc_event(p, sys.PORT_ALLOC_DEFAULT, sys.PORT_SOURCE_MQ);
  port_init_event(s, 1, user, 0, true);
  port_send_event(s);
}

test('port_getn: a take whose sources deny some of its nget events returns the rest at once, before its timeout', () => {
  const p = sys.port_create();
  queue_mq(p, 1); queue_mq(p, 2); queue_mq(p, 3);
  deny = 1; // the first event taken is denied
  const t0 = performance.now();
  const evs = sys.port_getn(p, 3, 3, { tv_sec: 5, tv_nsec: 0 });
  assert.ok(performance.now() - t0 < 2500, 'returned without waiting for its timeout');
  assert.deepEqual(evs.map((e) => e.portev_user), [2, 3], 'fewer than nget: what was delivered');
  assert.equal(evs.nget, 2);
  assert.deepEqual(sys.port_getn(p, 3, 1, { tv_sec: 0, tv_nsec: 0 }).map((e) => e.portev_user), [1], 'the denied event stays queued');
  // A take whose every event is denied waits on (for an event queued after it): here its timeout.
  queue_mq(p, 4);
  deny = 1;
  assert.equal(sys.port_getn(p, 1, 1, { tv_sec: 0, tv_nsec: 30e6 }).length, 0);
  close(p);
});
