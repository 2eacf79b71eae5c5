// More periodic callouts due than one pass can fire before they are due
// again, with the clock thread held (UKERN_CLOCK_HOLD=1 from the test), so
// that each kevent poll runs the bridge (callout_run) in this thread: 2000
// EVFILT_TIMER knotes of 1 us (re-armed no sooner than 20 us after they
// fire; a pass over 2000 takes milliseconds). Each poll must return: a run
// fires no more callouts than were armed when it began, and leaves the rest
// to the next. Prints two lines; exits 0, or is killed by the test's deadline.
import * as sys from '../../src/sys/index.js';
import { callout_count } from '../../src/timers/callout.js';

const { EV_SET, kevent, EV_ADD, EVFILT_TIMER, NOTE_USECONDS } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const N = 2000;
const kq = sys.kqueue();
const changes = Array.from({ length: N }, (_, i) => EV_SET(i + 1, EVFILT_TIMER, EV_ADD, NOTE_USECONDS, 1, 0));
kevent(kq, changes, 0, ZERO);
let events = 0, worst = 0;
const t0 = performance.now();
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  events += kevent(kq, null, 4096, ZERO).length;
  worst = Math.max(worst, performance.now() - t);
}
console.log(`20 polls in ${(performance.now() - t0).toFixed(0)} ms, the slowest ${worst.toFixed(0)} ms, ${events} events, callouts armed ${callout_count()}`);
sys.close(kq);
console.log(`after close: callouts armed ${callout_count()}`);
process.exit(0);
