/** The awaitable send (issue 12 item 5): test/scenarios/backpressure.ts in a fresh process with a deadline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

test('a producer faster than its consumer: every event once, in order, within port_max_events, no EAGAIN; timeout, abort and close end a waiting send', () => {
  const r = scenario('backpressure', ['20000'], 90_000);
  assert.equal(r.status, 0, `status ${r.status}\n${r.stderr}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  assert.equal(o.received, 20000);
  assert.equal(o.outOfOrder, 0);
  assert.ok((o.maxPending as number) <= 64, `pending reached ${o.maxPending}`);
  assert.ok((o.waited as number) > 0, 'the producer never had to wait: the test did not test backpressure');
  assert.equal(o.timeout, 'EAGAIN');
  assert.ok((o.timeoutMs as number) >= 29, `the timeout ended early: ${o.timeoutMs} ms`);
  assert.equal(o.abort, 'AbortError');
  assert.ok(o.close === 'EBADF' || o.close === 'EBADFD', `close gave ${o.close}`);
  assert.ok((o.roomMs as number) < 90, `the sender woke ${o.roomMs} ms after room was made (the 100 ms recheck, not the getter's wake once a quarter was free)`);
});
