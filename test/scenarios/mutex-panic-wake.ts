// A panic wakes a thread asleep on a contended kernel mutex at once: an LWP
// sleeps on a park bucket's lock that the main thread holds, the main thread
// panics, and the LWP's mutex_enter ends EIO. Prints how long the panic's
// wake-up took in the panicking thread and how long until the sleeper had
// its EIO (the sleeper's wait has a 1 s backstop; the panic must not need it).
import { isMainThread } from 'node:worker_threads';
import * as sys from '../../src/sys/index.js';
import { mutex_enter } from '../../src/kern/mutex.js';
import { panic_mark } from '../../src/kern/panic.js';
import { park_bucket_lock } from '../../src/lwp/park.js';

// Int32: [0] set by the main thread once it holds the lock, [1] the LWP's outcome (1 EIO, 2 other, 3 returned).
export function sleepsOnBucket(a: { sab: SharedArrayBuffer }): void {
  const s = new Int32Array(a.sab);
  Atomics.wait(s, 0, 0, 10_000);
  let r = 3;
  try { sys.lwp_unpark(1, 1); } catch (e) { r = (e as sys.SysError).code === 'EIO' ? 1 : 2; }
  Atomics.store(s, 1, r);
  Atomics.notify(s, 1);
}

if (isMainThread) {
  const sab = new SharedArrayBuffer(8);
  const s = new Int32Array(sab);
  const lid = sys.lwp_create({ module: new URL(import.meta.url), export: 'sleepsOnBucket', arg: { sab } });
  mutex_enter(park_bucket_lock(1));
  Atomics.store(s, 0, 1);
  Atomics.notify(s, 0);
  const end = Date.now() + 10_000;
  // Asleep on the mutex: the LWP layer shows it sleeping (mutex_set_sleep_hook).
  while (!sys.lwp_snapshot().lwps.some((l) => l.lid === lid && l.state === 'SLEEP')) {
    if (Date.now() > end) { console.log('the LWP never slept on the mutex'); process.exit(1); }
    await new Promise((r) => setTimeout(r, 1));
  }
  const t0 = performance.now();
  panic_mark('test: a panic with a thread asleep on a kernel mutex');
  const t1 = performance.now();
  Atomics.wait(s, 1, 0, 5000);
  const t2 = performance.now();
  console.log(`panic wake-up ${(t1 - t0).toFixed(1)} ms; sleeper's outcome ${Atomics.load(s, 1)} after ${(t2 - t0).toFixed(1)} ms`);
  process.exit(0);
}
