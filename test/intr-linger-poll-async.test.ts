/**
 * The last host waiter's linger (src/intr/handover.ts) with a window of 50 s,
 * so that only the paths under test can see past it: an async zero-timeout
 * port_get or port_getn (port_get_async, port_getn_async: a poll) on a port
 * with a PORT_SOURCE_FD association takes the set's events itself while the
 * linger lasts, as the synchronous port poll and any zero-timeout kevent on
 * OS knotes do (the intr thread would not see them before the window ends).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, readSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';

sys.boot({ intr_linger_ns: 50_000 * 1e6 });

const F = new URL('./fixtures/kq-hostwait-lwp.js', import.meta.url);
const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('while a linger lasts, an async zero-timeout port_get / port_getn on a port with a PORT_SOURCE_FD association sees an arrival at once', async () => {
  const A = pipe_high(), C = pipe_high(), buf = Buffer.alloc(16);
  const port = sys.port_create();
  const sab = new SharedArrayBuffer(32), res = new Int32Array(sab);
  const lid = sys.lwp_create({ module: F, export: 'steppedReader', arg: { r: A[0], sab } });
  const go = (k: number): void => { Atomics.store(res, 1, k); Atomics.notify(res, 1); };
  try {
    await until(() => res[0] === 1, 10_000, 'the reader');
    go(1);
    await until(() => kst('host_waiters') === 1, 10_000, 'the reader to wait in the host');
    writeSync(A[1], 'a');
    await until(() => res[2] === 1, 10_000, 'round 1');
    assert.equal(kst('lingering'), 1, 'the reader out of kevent: its linger lasts');
    for (let i = 0; i < 4; i++) {
      sys.port_associate(port, sys.PORT_SOURCE_FD, C[0], sys.POLLIN, 40 + i);
      writeSync(C[1], 'x');
      let ev: sys.port_event_t | undefined;
      if (i % 2 === 0) {
        ev = await within(sys.port_get_async(port, ZERO), 10_000, `poll ${i}`).catch((e: unknown) => {
          assert.fail(`poll ${i}: the arrival not seen at once: ${String(e)}`);
        });
      } else {
        const l = await within(sys.port_getn_async(port, 1, 1, ZERO), 10_000, `poll ${i}`);
        assert.equal(l.length, 1, `poll ${i}: the arrival seen at once`);
        ev = l[0];
      }
      assert.equal(ev!.portev_source, sys.PORT_SOURCE_FD, `poll ${i}: the arrival seen at once`);
      assert.equal(ev!.portev_object, C[0]);
      assert.equal(ev!.portev_user, 40 + i);
      readSync(C[0], buf);
      await assert.rejects(sys.port_get_async(port, ZERO), { code: 'ETIME' }, `poll ${i}: one-shot: nothing more`);
    }
    assert.equal(kst('lingering'), 1, 'still lingering');
  } finally {
    go(-1);
    await within(sys.lwp_wait_async(lid), 10_000, 'the reader');
  }
  sys.close(port);
  for (const fd of [...A, ...C]) closeSync(fd);
});
