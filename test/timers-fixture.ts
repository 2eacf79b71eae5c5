/**
 * LWP start functions for the timer tests. A separate module (not a
 * .test file) because an LWP imports its start module in a worker, where
 * a test file would register its tests again.
 */
import * as sys from '../src/sys/index.js';

/**
 * Waits for a[0] to become 1, then calls timer_gettime(tid) and records the
 * outcome in a[1]: 1 returned, 2 EAGAIN, 9 anything else.
 */
export function gettimeWhenTold(arg: { sab: SharedArrayBuffer; tid: number }): void {
  const a = new Int32Array(arg.sab);
  Atomics.store(a, 2, 1); // started
  Atomics.notify(a, 2);
  Atomics.wait(a, 0, 0, 20_000);
  try {
    sys.timer_gettime(arg.tid);
    a[1] = 1;
  } catch (e) {
    a[1] = e instanceof sys.SysError && e.code === 'EAGAIN' ? 2 : 9;
  }
  Atomics.notify(a, 1);
}
