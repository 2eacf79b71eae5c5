/**
 * PORT_SOURCE_FD at the resource limits (own process, small limits at
 * boot): an association reserves its event slot, so a full port refuses the
 * association (EAGAIN) and never loses a completion later; records of
 * retrieved events (kept to re-arm cheaply) are reclaimed before EAGAIN;
 * port_fd_max bounds the records kernel-wide. Failures leave nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';

sys.boot({ port_max_events: 3, port_fd_max: 16, port_lanes: 0 });
const { port_create, port_associate, port_dissociate, port_get, port_send, close, PORT_SOURCE_FD, POLLIN } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };
const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;
const records = () => sys.kstat('portfd')['portfd.records']!;

test('port_max_events: the association beyond is EAGAIN; a dissociation makes room', () => {
  const port = port_create();
  const p = Array.from({ length: 4 }, () => pipe());
  for (let i = 0; i < 3; i++) port_associate(port, PORT_SOURCE_FD, p[i]![0], POLLIN, i);
  assert.throws(() => port_associate(port, PORT_SOURCE_FD, p[3]![0], POLLIN, 3), code('EAGAIN'));
  assert.equal(records(), 3, 'the refused association left nothing');
  port_dissociate(port, PORT_SOURCE_FD, p[0]![0]);
  port_associate(port, PORT_SOURCE_FD, p[3]![0], POLLIN, 3);
  close(port);
  for (const [r, w] of p) { close(r); close(w); }
  assert.equal(records(), 0);
});

test('a completion is never lost for lack of room: the slot was reserved at association', () => {
  const port = port_create();
  const [r, w] = pipe();
  port_associate(port, PORT_SOURCE_FD, r, POLLIN, 7);
  port_send(port, 1, 1); port_send(port, 2, 2);
  assert.throws(() => port_send(port, 3, 3), code('EAGAIN'), 'the port is full');
  writeSync(w, 'x');
  const got = [port_get(port, SOON), port_get(port, SOON), port_get(port, SOON)];
  assert.deepEqual(got.map((e) => e.portev_user).sort(), [1, 2, 7]);
  close(port); close(r); close(w);
});

test('records of retrieved events are reclaimed before EAGAIN (the port\'s slots)', () => {
  const port = port_create();
  const p = Array.from({ length: 4 }, () => pipe());
  for (let i = 0; i < 4; i++) writeSync(p[i]![1], 'x');
  for (let i = 0; i < 3; i++) port_associate(port, PORT_SOURCE_FD, p[i]![0], POLLIN, i);
  for (let i = 0; i < 3; i++) port_get(port, ZERO);
  assert.equal(records(), 3, 'kept, to re-arm without a new slot');
  port_associate(port, PORT_SOURCE_FD, p[3]![0], POLLIN, 3);
  assert.equal(port_get(port, ZERO).portev_user, 3);
  assert.throws(() => port_dissociate(port, PORT_SOURCE_FD, p[0]![0]), code('ENOENT'));
  port_associate(port, PORT_SOURCE_FD, p[0]![0], POLLIN, 4);
  assert.equal(port_get(port, ZERO).portev_user, 4);
  close(port);
  for (const [r, w] of p) { close(r); close(w); }
  assert.equal(records(), 0);
});

test('port_fd_max: records kernel-wide; EAGAIN beyond, after reclaiming retrieved ones', () => {
  const ports = Array.from({ length: 6 }, () => port_create());
  const p = Array.from({ length: 17 }, () => pipe());
  for (let i = 0; i < 16; i++) port_associate(ports[i % 6]!, PORT_SOURCE_FD, p[i]![0], POLLIN, i);
  assert.throws(() => port_associate(ports[5]!, PORT_SOURCE_FD, p[16]![0], POLLIN, 16), code('EAGAIN'));
  assert.equal(records(), 16);
  writeSync(p[0]![1], 'x');
  assert.equal(port_get(ports[0]!, SOON).portev_user, 0); // its record is now only kept
  port_associate(ports[5]!, PORT_SOURCE_FD, p[16]![0], POLLIN, 16);
  assert.equal(records(), 16);
  for (const port of ports) close(port);
  for (const [r, w] of p) { close(r); close(w); }
  assert.equal(records(), 0);
});
