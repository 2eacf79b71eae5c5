/**
 * Structured messages through a send lane (msg-sys.ts msg_queue, lane.ts):
 * an LWP's posts ride its lane of the port as entries of PORT_SOURCE_MSG,
 * delivered (decoded) by the taking getter after the lock, in one FIFO with
 * its port_send events and other senders' slots; a blocking get is never
 * handed a message entry as a plain event; a close discards lane-queued
 * messages and frees their blocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, Lwp, stats, PORT_SOURCE_MSG, PORT_SOURCE_USER } from '../src/index.js';
import { gauges, assertArenaEmpty } from './msg-helpers.js';
import { within, until } from './helpers.js';

const FIX = new URL('./fixtures/messages-lane.js', import.meta.url);

test('an LWP\'s posts ride its lane: one FIFO with its sends and another thread\'s post (a list slot), values intact through get and getn', async () => {
  const port = new Port();
  const n = 200, ctl = new SharedArrayBuffer(8), c = new Int32Array(ctl);
  const grants0 = stats('port')['port.lane_grants']!;
  const l = Lwp.create<number>({ module: FIX, export: 'halves', arg: { fd: port.fd, n, ctl } });
  try {
    await until(() => Atomics.load(c, 0) === 1, 20_000, 'the first half');
    port.postSync({ main: true }); // the LWP owns the lane: this one is a slot, marked after its first half
  } finally {
    Atomics.store(c, 1, 1); Atomics.notify(c, 1); // (it waits for this with no deadline, also after a failure)
  }
  assert.equal(await within(l.wait(), 30_000, 'the poster'), n);
  assert.ok(stats('port')['port.lane_grants']! > grants0, 'the LWP\'s posts went through a lane');
  const want: unknown[] = [];
  for (let i = 0; i < n; i++) {
    if (i === n / 2) want.push({ main: true });
    want.push({ i, s: 'v'.repeat(i % 50) }, { ev: 7, user: i });
  }
  const got: unknown[] = [];
  const add = (ev: { portev_source: number; portev_events: number; portev_user: number; message?: unknown; error?: Error }): void => {
    if (ev.error !== undefined) throw ev.error;
    if (ev.portev_source === PORT_SOURCE_MSG) got.push(ev.message);
    else { assert.equal(ev.portev_source, PORT_SOURCE_USER); got.push({ ev: ev.portev_events, user: ev.portev_user }); }
  };
  for (let k = 0; k < 7; k++) add(port.getSync({ timeout: 1000 })); // one at a time: the lane-only take
  while (got.length < want.length) for (const ev of port.getnSync(64, 1, { timeout: 1000 })) add(ev); // across the slot: the merged take
  assert.deepEqual(got, want);
  assertArenaEmpty('after the stream');
  port.close();
});

test('a getter asleep in a blocking get is woken by a lane message and decodes it (never handed it as a plain event)', async () => {
  const port = new Port();
  const hand0 = stats('port')['port.handoffs']!;
  const l = Lwp.create<number>({ module: FIX, export: 'postLater', arg: { fd: port.fd, ms: 100 } });
  const ev = port.getSync({ timeout: 20_000 });
  assert.equal(ev.portev_source, PORT_SOURCE_MSG);
  assert.deepEqual(ev.message, { late: true, tags: ['a', 'b'] });
  assert.equal(stats('port')['port.handoffs']! - hand0, 0);
  await within(l.wait(), 30_000, 'the poster');
  assertArenaEmpty('after the get');
  port.close();
});

test('close discards messages queued in a lane: every block freed and counted; the owner\'s next post is EBADF and leaks nothing', async () => {
  const port = new Port();
  const n = 50, ctl = new SharedArrayBuffer(8), c = new Int32Array(ctl);
  const disc0 = stats('msg')['msg.discarded']!, grants0 = stats('port')['port.lane_grants']!;
  const l = Lwp.create<string>({ module: FIX, export: 'postThenAfterClose', arg: { fd: port.fd, n, ctl } });
  try {
    await until(() => Atomics.load(c, 0) === 1, 20_000, 'the posts');
    assert.ok(stats('port')['port.lane_grants']! > grants0, 'the posts went through a lane');
    assert.equal(gauges().queued, n);
    port.close();
    assertArenaEmpty('after close');
    assert.equal(stats('msg')['msg.discarded']! - disc0, n);
  } finally {
    Atomics.store(c, 1, 1); Atomics.notify(c, 1); // (it waits for this with no deadline, also after a failure)
  }
  assert.equal(await within(l.wait(), 30_000, 'the poster'), 'EBADF');
  assertArenaEmpty('after the post to the closed port');
});
