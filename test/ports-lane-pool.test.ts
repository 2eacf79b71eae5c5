/**
 * The send-lane pool exhausted (boot with port_lanes 1): a port that gets
 * no lane keeps the locked queue with the same semantics, and a lane given
 * back (its port closed) is taken by the next port that needs one.
 */
import { isMainThread } from 'node:worker_threads';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import { boot } from '../src/kern/boot.js';
import * as ports from '../src/ports/sys.js';
import { close } from '../src/kern/sys.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { lane_owner } from '../src/ports/lane-locked.js';

if (isMainThread) boot({ port_lanes: 1, port_lane_entries: 16 });
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const handle = (fd: number) => fd_get(fd, DTYPE_PORT, 'test', 'EBADFD');
const lanes = () => kstat_snapshot('port')['port.lanes']!;

test('one lane for two ports: the second keeps the locked queue; the lane moves on when its port closes', () => {
  const p = ports.port_create(), q = ports.port_create();
  ports.port_send(p, 1, 1);
  assert.equal(lanes(), 1);
  assert.ok(lane_owner(handle(p)) > 0);
  for (let i = 0; i < 40; i++) ports.port_send(q, 1, i); // no lane left: the locked queue (this thread sends elsewhere, but the pool is empty)
  assert.equal(lane_owner(handle(q)), 0);
  assert.equal(lanes(), 1, 'still the one lane, on p');
  assert.deepEqual(ports.port_getn(q, 100, 1, ZERO).map((e) => e.portev_user), Array.from({ length: 40 }, (_, i) => i));
  close(p);
  assert.equal(lanes(), 0, 'closed by its owner: the lane is back in the pool');
  for (let i = 0; i < 20; i++) ports.port_send(q, 1, i);
  assert.ok(lane_owner(handle(q)) > 0, 'q took it');
  assert.deepEqual(ports.port_getn(q, 100, 1, ZERO).map((e) => e.portev_user), Array.from({ length: 20 }, (_, i) => i));
  close(q);
  assert.equal(lanes(), 0);
});
