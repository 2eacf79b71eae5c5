/**
 * The first-expiry warm-up (timers/warm.ts) runs inside a thread's first
 * SIGEV_PORT timer_create, after timer_release: the new timer's id is in the
 * table and its lock free, so another LWP may already arm it (an id is the
 * lowest free one, and test/timers-thread-guess arms one before
 * timer_create returns). The warm-up disarmed that timer
 * (timer_settime with a zero it_value) and armed its callout at Infinity
 * and stopped it, without the timer lock: an arm landing before those calls
 * was undone, and one landing between the callout's reset and its stop
 * left the timer armed (timer_gettime reports its time left) with no
 * callout pending, so it never fired.
 *
 * Deterministic: the other LWP's arm is made in this thread at that very
 * point, from the callout arm hook, which the warm-up's arm at Infinity
 * calls with no lock held. The file must be its process's first SIGEV_PORT
 * timer_create on a host clock (the warm-up runs once per thread).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { callout_set_arm_hook } from '../src/timers/callout.js';

const ms = (n: number): sys.Timespec => ({ tv_sec: 0, tv_nsec: n * 1e6 });
const Z = { tv_sec: 0, tv_nsec: 0 };

test('an arm made by another LWP while timer_create warms up the first expiry is not undone', () => {
  // The id the next timer_create takes: the one just freed (the free ids are a stack).
  const probe = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_NONE });
  sys.timer_delete(probe);
  const port = sys.port_create();
  let armed = false;
  callout_set_arm_hook((when) => {
    if (armed || when !== Infinity) return;
    armed = true;
    // As another LWP that guessed the id would: arm it 20 ms from now.
    sys.timer_settime(probe, 0, { it_value: ms(20), it_interval: Z });
  });
  const t = sys.timer_create(sys.CLOCK_MONOTONIC, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 9 } });
  assert.equal(t, probe, 'the id taken is the one the other LWP armed');
  assert.ok(armed, 'the warm-up armed a callout at Infinity (the window this test is about)');
  // Its expiry arrives (it may have come already: the warm-up's own expiry
  // takes more than 20 ms beside a CPU hog). A blocking port_get fires due
  // callouts itself (no clock thread needed); 5 s is a bound only.
  const ev = sys.port_get(port, { tv_sec: 5, tv_nsec: 0 });
  assert.deepEqual({ object: ev.portev_object, events: ev.portev_events, user: ev.portev_user }, { object: t, events: 1, user: 9 });
  sys.timer_delete(t);
  sys.close(port);
});
