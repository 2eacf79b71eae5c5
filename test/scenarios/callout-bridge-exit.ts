// An LWP arms a near kqueue timer while the clock thread is held
// (UKERN_CLOCK_HOLD=1: its bridge would fire it) and exits at once. Its
// worker must not run that bridge turn: it has no LWP, no owner id any more.
// The expiry is then fired by a live thread (the main thread's kernel
// sleep). Prints one line per check; run by test/callout-churn.test.ts.
import { isMainThread } from 'node:worker_threads';
import * as sys from '../../src/sys/index.js';
import { callout_snapshot } from '../../src/timers/callout.js';

const { EV_SET, kevent, EV_ADD, EV_ONESHOT, EVFILT_TIMER, NOTE_USECONDS } = sys;

export function armAndExit(a: { kq: number }): void {
  kevent(a.kq, [EV_SET(7, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_USECONDS, 3000, 0)], 0, { tv_sec: 0, tv_nsec: 0 });
}

if (isMainThread) {
  const kq = sys.kqueue();
  const bridge0 = sys.kstat()['clock.bridge_runs']!;
  await sys.lwp_wait_async(sys.lwp_create({ module: new URL(import.meta.url), export: 'armAndExit', arg: { kq } }));
  await new Promise((r) => setTimeout(r, 40)); // well past the 3 ms expiry; this thread fires nothing meanwhile
  const s = callout_snapshot();
  console.log(`after exit: bridge runs ${sys.kstat()['clock.bridge_runs']! - bridge0}, armed ${s.armed}, ${JSON.stringify(s.busy.map((b) => b.state))}`);
  const ev = kevent(kq, null, 1, { tv_sec: 1, tv_nsec: 0 });
  console.log(`main got ${ev.length} event(s), ident ${ev[0]?.ident}; armed ${callout_snapshot().armed}`);
  sys.close(kq);
}
