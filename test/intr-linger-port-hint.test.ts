/**
 * The last host waiter's linger (src/intr/handover.ts) with a window of 50 s:
 * a port whose descriptor hint was dropped (a getter's host wait on it
 * missed: src-fd.ts fd_claim) while another PORT_SOURCE_FD association of
 * the port stays armed still has OS sources. Its async getter is a consumer
 * the intr thread serves (it ends the linger as it sleeps), and its poll
 * takes the set during a linger; both looked only at the hint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { pipe_high } from './fixtures/osfd.js';
import { until, within } from './helpers.js';
import { lingering_reader } from './fixtures/linger.js';

sys.boot({ intr_linger_ns: 50_000 * 1e6 });

const kst = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
const pst = (k: string): number => sys.kstat('portfd')[`portfd.${k}`] ?? 0;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('a port whose descriptor hint was dropped, with an armed PORT_SOURCE_FD association left: its poll and its async getter see an arrival during a linger', async () => {
  const A = pipe_high(), C = pipe_high(), D = pipe_high(), E = pipe_high();
  const port = sys.port_create();
  const rd = await lingering_reader(A[0], A[1]);
  try {
    // C and E armed, then D (the hint); D's event retrieved, D left readable.
    sys.port_associate(port, sys.PORT_SOURCE_FD, C[0], sys.POLLIN, 1);
    sys.port_associate(port, sys.PORT_SOURCE_FD, E[0], sys.POLLIN, 5);
    sys.port_associate(port, sys.PORT_SOURCE_FD, D[0], sys.POLLIN, 2);
    writeSync(D[1], 'd');
    assert.equal(sys.port_get(port, ZERO).portev_user, 2, 'D seen by the poll');
    // A blocking getter waits in the host on the hint's descriptor, D: ready,
    // its association retrieved already: a miss, the hint dropped.
    const miss0 = pst('host_misses');
    assert.throws(() => sys.port_get(port, { tv_sec: 0, tv_nsec: 50e6 }), { code: 'ETIME' });
    assert.ok(pst('host_misses') > miss0, 'the getter\'s host wait missed');
    // (That getter was served by the intr thread and ended the linger:) a
    // second round of the reader lingers again.
    rd.go(2);
    await until(() => kst('host_waiters') === 1, 10_000, 'the reader to wait in the host again');
    writeSync(A[1], 'b');
    await until(() => rd.res[2] === 2, 10_000, 'round 2');
    assert.equal(kst('lingering'), 1, 'the reader out of kevent: its linger lasts again');
    // C is still armed: a poll sees its arrival at once.
    writeSync(C[1], 'x');
    let ev: sys.port_event_t | undefined;
    try { ev = sys.port_get(port, ZERO); } catch (e) { assert.fail(`the poll saw nothing: ${String(e)}`); }
    assert.equal(ev.portev_user, 1, 'C seen by the poll');
    // E still armed, the hint still dropped: an async getter is served by
    // the intr thread (it ends the linger as it sleeps).
    assert.equal(kst('lingering'), 1, 'still lingering');
    const wait = sys.port_get_async(port, { tv_sec: 20, tv_nsec: 0 });
    await until(() => kst('lingering') === 0, 3_000, () => `the sleeping async getter to end the linger: ${JSON.stringify(sys.kstat('intr'))}`);
    writeSync(E[1], 'y');
    assert.equal((await within(wait, 5_000, 'the async getter')).portev_user, 5);
  } finally {
    await rd.end();
  }
  sys.close(port);
  for (const fd of [...A, ...C, ...D, ...E]) closeSync(fd);
});
