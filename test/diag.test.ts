/**
 * diagnostics_channel (issue 12 item 8): the kernel's events on their named
 * channels, with their documented payloads, in the thread where they happen;
 * nothing is published without subscribers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import * as sys from 'ukern/sys';
import { within, until } from './helpers.js';

const F = new URL('./fixtures/diag-lwp.js', import.meta.url);

function collect(name: string): { got: object[]; stop: () => void } {
  const got: object[] = [];
  const fn = (m: unknown): void => { got.push(m as object); };
  dc.subscribe(name, fn);
  return { got, stop: () => dc.unsubscribe(name, fn) };
}

test('ukern:lwp:create in the creating thread, ukern:lwp:exit in the exiting one', async () => {
  const c = collect('ukern:lwp:create'), x = collect('ukern:lwp:exit');
  try {
    const lid = sys.lwp_create({ module: F, export: 'noop' });
    assert.deepEqual(c.got, [{ lid, module: F.href, export: 'noop', flags: 0 }]);
    await within(sys.lwp_wait_async(lid), 20000, 'wait');
    assert.deepEqual(x.got, [], 'another thread\'s exit was published in this one');
    const sab = new SharedArrayBuffer(4);
    const l2 = sys.lwp_create({ module: F, export: 'exitObserved', arg: { sab } });
    await within(sys.lwp_wait_async(l2), 20000, 'wait 2');
    // Published after the exit woke this waiter: wait for it, with a deadline.
    await until(() => Atomics.load(new Int32Array(sab), 0) === 1, 10000, 'the LWP seeing its own exit published');
  } finally { c.stop(); x.stop(); }
});

test('ukern:port:close and ukern:kqueue:close carry the descriptor', () => {
  const pc = collect('ukern:port:close'), kc = collect('ukern:kqueue:close');
  try {
    const p = sys.port_create(), kq = sys.kqueue();
    sys.close(p); sys.close(kq);
    assert.deepEqual(pc.got, [{ port: p }]);
    assert.deepEqual(kc.got, [{ kq }]);
  } finally { pc.stop(); kc.stop(); }
});

test('ukern:port:alert on set and clear', () => {
  const a = collect('ukern:port:alert');
  try {
    const p = sys.port_create();
    sys.port_alert(p, sys.PORT_ALERT_SET, 5, 9);
    sys.port_alert(p, 0, 0, 0);
    assert.deepEqual(a.got, [{ port: p, flags: sys.PORT_ALERT_SET, events: 5, user: 9 }, { port: p, flags: 0, events: 0, user: 0 }]);
    sys.close(p);
  } finally { a.stop(); }
});

test('ukern:timer:overrun when a SIGEV_PORT timer event is taken with overruns', () => {
  const o = collect('ukern:timer:overrun');
  try {
    const p = sys.port_create();
    const tid = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 1 } });
    sys.timer_settime(tid, 0, { it_interval: { tv_sec: 0, tv_nsec: 1000 }, it_value: { tv_sec: 0, tv_nsec: 1000 } });
    sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 3500 });
    const ev = sys.port_get(p, { tv_sec: 0, tv_nsec: 0 });
    assert.equal(ev.portev_events, 3);
    return Promise.resolve().then(() => {
      assert.deepEqual(o.got, [{ timerid: tid, overrun: 2 }]);
      sys.timer_delete(tid);
      sys.close(p);
    }).finally(() => o.stop());
  } catch (e) { o.stop(); throw e; }
});

test('no subscriber: nothing is built (the channel reports none)', () => {
  assert.equal(dc.channel('ukern:lwp:create').hasSubscribers, false);
  sys.close(sys.port_create());
});
