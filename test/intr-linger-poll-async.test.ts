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
import { within } from './helpers.js';
import { lingering_reader } from './fixtures/linger.js';

sys.boot({ intr_linger_ns: 50_000 * 1e6 });

const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('while a linger lasts, an async zero-timeout port_get / port_getn on a port with a PORT_SOURCE_FD association sees an arrival at once', async () => {
  const A = pipe_high(), C = pipe_high(), buf = Buffer.alloc(16);
  const port = sys.port_create();
  const rd = await lingering_reader(A[0], A[1]);
  try {
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
    await rd.end();
  }
  sys.close(port);
  for (const fd of [...A, ...C]) closeSync(fd);
});
