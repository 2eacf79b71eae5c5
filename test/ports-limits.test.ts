/**
 * Resource controls of event ports (own process, small limits at boot):
 * port_max_ids, port_max_events and the kernel-wide slot total all end in
 * EAGAIN, and recover once something is given back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import { boot } from '../src/kern/boot.js';
import * as ports from '../src/ports/sys.js';
import { close } from '../src/kern/sys.js';
import { SysError } from '../src/kern/errno.js';
import { port_alloc_event, port_free_event } from '../src/ports/source.js';

// Send lanes off: their entries are preallocated per lane and do not draw on
// port_events_total (ports-lane.test.ts checks port_max_events through a lane).
boot({ port_max_ids: 8, port_max_events: 5, port_events_total: 12, port_lanes: 0 });
const code = (c: string) => (e: unknown) => e instanceof SysError && e.code === c;

test('port_max_ids: EAGAIN beyond, a close makes room', () => {
  const fds = Array.from({ length: 8 }, () => ports.port_create());
  assert.throws(() => ports.port_create(), code('EAGAIN'));
  close(fds.pop()!);
  fds.push(ports.port_create());
  assert.throws(() => ports.port_create(), code('EAGAIN'));
  for (const f of fds) close(f);
});

test('port_max_events per port and the kernel-wide total: EAGAIN from send, sendn and sources', () => {
  const a = ports.port_create(), b = ports.port_create(), c = ports.port_create();
  for (let i = 0; i < 5; i++) ports.port_send(a, i, i);
  assert.throws(() => ports.port_send(a, 9, 9), code('EAGAIN'));
  assert.throws(() => port_alloc_event(a, ports.PORT_ALLOC_SCACHED, ports.PORT_SOURCE_MQ), code('EAGAIN'));
  const errors: (string | null)[] = [];
  assert.equal(ports.port_sendn([a, b], 1, 1, errors), 1);
  assert.deepEqual(errors, ['EAGAIN', null]);
  for (let i = 0; i < 4; i++) ports.port_send(b, i, i); // b: 5, total 10
  ports.port_send(c, 0, 0); ports.port_send(c, 1, 1);    // total 12: the kernel-wide cache is empty
  assert.throws(() => ports.port_send(c, 2, 2), code('EAGAIN'));
  assert.equal(ports.port_get(a).portev_user, 0);         // gives a slot back
  ports.port_send(c, 2, 2);
  assert.throws(() => ports.port_send(c, 3, 3), code('EAGAIN'));
  close(a); // its 4 queued events are discarded and their slots return
  const s = port_alloc_event(c, ports.PORT_ALLOC_SCACHED, ports.PORT_SOURCE_MQ);
  ports.port_send(c, 3, 3);
  assert.throws(() => ports.port_send(c, 4, 4), code('EAGAIN'), 'the reservation counts against port_max_events');
  port_free_event(s);
  ports.port_send(c, 4, 4);
  assert.deepEqual(ports.port_getn(c, 10, 5).map((e) => e.portev_user), [0, 1, 2, 3, 4]);
  close(b); close(c);
});
