/**
 * EV_CLEAR EVFILT_READ on an event port reports each new event, as the same
 * knote on a kqueue does (kevent-read.test.ts) and as BSD's filters report
 * each arrival on a pipe or socket: after the event is returned, the next
 * event queued on the port is news, whether or not the port still holds the
 * earlier ones. The ports told their watchers only when their queue went
 * from empty to non-empty, so a consumer that takes one event per wake-up
 * (or none) and waits again on an EV_CLEAR knote slept through every later
 * event. Checked on each way an event reaches a port's queue: port_send on
 * the send lane and on the locked list, port_sendn, a structured message
 * (one and a batch), and a source's reserved slot (a SIGEV_PORT timer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { Port } from '../src/index.js';

const { EV_SET, kevent, kqueue, close, EVFILT_READ, EV_ADD, EV_CLEAR } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const poll = (kq: number) => kevent(kq, null, 8, ZERO);

/** A port watched by an EV_CLEAR read knote; `send` queues one more event each time. */
function each_send_is_news(send: (port: number, i: number) => void, what: string): void {
  const port = sys.port_create(), kq = kqueue();
  kevent(kq, [EV_SET(port, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 5)], 0, ZERO);
  assert.deepEqual(poll(kq), []);
  for (let i = 1; i <= 4; i++) {
    send(port, i);
    const evs = poll(kq);
    assert.equal(evs.length, 1, `${what}: event ${i} queued behind ${i - 1} untaken ones was not reported`);
    assert.equal(evs[0]!.data, i, `${what}: data is the port's pending events`);
    assert.deepEqual(poll(kq), [], `${what}: reported once per arrival`);
  }
  close(port); close(kq);
}

test('EV_CLEAR read on a port: port_send (the send lane and the locked list)', () => {
  each_send_is_news((p, i) => sys.port_send(p, i, i), 'port_send');
  // A lane is bound to one port per thread: sends to a second port take the locked path.
  const other = sys.port_create();
  sys.port_send(other, 1, 1);
  each_send_is_news((p, i) => sys.port_send(p, i, i), 'port_send (locked path)');
  close(other);
});

test('EV_CLEAR read on a port: port_sendn', () => {
  each_send_is_news((p, i) => { assert.equal(sys.port_sendn([p], i, i), 1); }, 'port_sendn');
});

test('EV_CLEAR read on a port: structured messages, one and a batch', () => {
  each_send_is_news((p, i) => new Port(p).postSync({ i }), 'postSync');
  each_send_is_news((p, i) => { assert.equal(new Port(p).postManySync([{ i }]), 1); }, 'postManySync');
});

test('EV_CLEAR read on a port: a SIGEV_PORT timer\'s expiries (a source\'s reserved slot)', async () => {
  const port = sys.port_create(), kq = kqueue();
  kevent(kq, [EV_SET(port, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 5)], 0, ZERO);
  sys.port_send(port, 9, 9);
  assert.equal(poll(kq).length, 1);
  const tid = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 1 } });
  sys.timer_settime(tid, 0, { it_value: { tv_sec: 0, tv_nsec: 1_000_000 }, it_interval: { tv_sec: 0, tv_nsec: 0 } });
  // The expiry comes behind the untaken user event: the knote must report it.
  const evs = await sys.kevent_async(kq, null, 8, { tv_sec: 5, tv_nsec: 0 });
  assert.equal(evs.length, 1, 'the expiry queued behind an untaken event was not reported');
  assert.equal(evs[0]!.data, 2);
  sys.timer_delete(tid);
  close(port); close(kq);
});
