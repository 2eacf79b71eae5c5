// callout_stop of a callout whose handler runs in another thread, called
// while holding another kernel mutex: the handler may need that mutex, so
// the wait could never end. A kernel panic (EIO, one clear message) at
// once, not a wait. The handler (an LWP firing a manual-clock callout in
// its own thread) is held inside until the main thread has tried.
import { isMainThread } from 'node:worker_threads';
import * as sys from '../../src/sys/index.js';
import { mutex_enter } from '../../src/kern/mutex.js';
import { park_bucket_lock } from '../../src/lwp/park.js';
import { callout_alloc, callout_reset, callout_stop, callout_register_kind, TL_MANUAL } from '../../src/timers/callout.js';
import { manual_now } from '../../src/timers/clocks.js';

const CK_HELD = 93;
// Int32: [0] the callout, [1] 1 while its handler runs, [2] set to let it return.
let shared: Int32Array | undefined;
callout_register_kind(CK_HELD, () => {
  const s = shared!;
  Atomics.store(s, 1, 1);
  Atomics.notify(s, 1);
  Atomics.wait(s, 2, 0, 10_000);
  return -1;
});

export function fireHeld(a: { sab: SharedArrayBuffer }): void {
  shared = new Int32Array(a.sab);
  const c = callout_alloc(CK_HELD, 0, TL_MANUAL);
  callout_reset(c, manual_now() + 1000);
  Atomics.store(shared, 0, c);
  sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 1000 }); // fires it here
}

if (isMainThread) {
  const sab = new SharedArrayBuffer(12);
  const s = new Int32Array(sab);
  sys.lwp_create({ module: new URL(import.meta.url), export: 'fireHeld', arg: { sab } });
  while (Atomics.load(s, 1) === 0) await new Promise((r) => setTimeout(r, 1));
  mutex_enter(park_bucket_lock(1));
  const t0 = Date.now();
  try {
    callout_stop(Atomics.load(s, 0));
    console.log('returned');
  } catch (e) {
    console.log(`${(e as sys.SysError).code} after ${Date.now() - t0} ms: ${(e as Error).message}`);
  }
  Atomics.store(s, 2, 1);
  Atomics.notify(s, 2);
  process.exit(0);
}
