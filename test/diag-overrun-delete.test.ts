/**
 * A ukern:timer:overrun subscriber may delete the timer. The event was
 * published from the timer's deliver callback, inside the take, with the
 * event's slot being delivered: the subscriber's timer_delete waits for
 * that delivery to end (port_unbind), in the thread that was making it,
 * and after 5 s panicked the kernel. It is published after the take now.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import * as sys from 'ukern/sys';
import { until } from './helpers.js';

test('a ukern:timer:overrun subscriber deletes the timer', async () => {
  const p = sys.port_create();
  const tid = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 1 } });
  let outcome = '';
  const sub = (m: unknown): void => {
    const t0 = performance.now();
    try { sys.timer_delete((m as { timerid: number }).timerid); outcome = 'deleted'; } catch (e) { outcome = `${(e as { code?: string }).code}: ${(e as Error).message}`; }
    outcome += performance.now() - t0 > 1000 ? ' (slow)' : '';
  };
  dc.subscribe('ukern:timer:overrun', sub);
  try {
    sys.timer_settime(tid, 0, { it_interval: { tv_sec: 0, tv_nsec: 1000 }, it_value: { tv_sec: 0, tv_nsec: 1000 } });
    sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 3500 });
    const ev = sys.port_get(p, { tv_sec: 0, tv_nsec: 0 });
    assert.equal(ev.portev_events, 3);
    await until(() => outcome !== '', 10000, 'the subscriber');
    assert.equal(outcome, 'deleted');
    assert.throws(() => sys.timer_gettime(tid), { code: 'EINVAL' });
    assert.throws(() => sys.port_get(p, { tv_sec: 0, tv_nsec: 0 }), { code: 'ETIME' }); // the kernel is sound
  } finally {
    dc.unsubscribe('ukern:timer:overrun', sub);
    sys.close(p);
  }
});
