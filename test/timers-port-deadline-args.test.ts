/**
 * timer_port_deadline, ukern's extension of `ukern/sys`, copies its port in
 * as every call taking a descriptor does. It took any value: a string or
 * NaN read the deadline hint of the table's first descriptor, a BigInt or a
 * Symbol threw the engine's own TypeError (no code), and an object's
 * valueOf ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

const typeErr = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';
const ebadf = (e: unknown): boolean => e instanceof sys.SysError && e.code === 'EBADF';

test('timer_port_deadline: TypeError for a non-number, EBADF for a number no C int holds; a port fed by a timer has its deadline', () => {
  const port = sys.port_create();
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 0 } });
  try {
    sys.timer_settime(t, 0, { it_value: { tv_sec: 100, tv_nsec: 0 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
    const d = sys.timer_port_deadline(port);
    assert.ok(Number.isFinite(d), `the port's deadline ${d}`);
    let ran = 0;
    for (const v of ['x', null, undefined, 1n, Symbol('s'), { valueOf: () => { ran++; return port; } }]) {
      assert.throws(() => sys.timer_port_deadline(v as unknown as number), typeErr, String(typeof v));
    }
    assert.equal(ran, 0, 'valueOf ran');
    for (const v of [NaN, port + 0.5, Infinity, port + 2 ** 32]) assert.throws(() => sys.timer_port_deadline(v), ebadf, String(v));
    assert.equal(sys.timer_port_deadline(port), d);
  } finally {
    sys.timer_delete(t);
    sys.close(port);
  }
});
