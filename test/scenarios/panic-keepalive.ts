/**
 * A panic after which the only LWP cannot end its run the usual way; the
 * booting thread holds lwp0 (and so the process) while LWPs other than LWP 1
 * live, but not after a panic: the process must end on its own (status 70)
 * once this thread has nothing left to do. test/lwp0-keepalive-panic.test.ts
 * asserts on it. argv[2]:
 *  - 'lock': the LWP panics the kernel inside a kernel lock
 *    (fixtures/panic-stuck-lwp.ts), which its exit needs: it never exits;
 *  - 'suspended': the LWP was created suspended and waits in its worker to
 *    be continued when this thread panics the kernel (a mutex it takes
 *    twice): its wait ends with EIO before its start function is called.
 */
import * as sys from '../../src/sys/index.js';
import { mutex_enter } from '../../src/kern/mutex.js';
import { park_bucket_lock } from '../../src/lwp/park.js';

if (process.argv[2] === 'lock') {
  sys.lwp_create({ module: new URL('../fixtures/panic-stuck-lwp.js', import.meta.url), export: 'panicsHoldingLock' });
} else {
  sys.lwp_create({ module: new URL('../fixtures/lwps.js', import.meta.url), export: 'returnsAtOnce' }, sys.LWP_SUSPENDED);
  // The pool quiet first (its refill up): the main thread hears nothing more from it.
  const end = Date.now() + 20_000;
  for (;;) {
    const k = sys.kstat('lwp');
    if (k['lwp.pool_idle'] === 2 && k['lwp.pool_starting'] === 0) break;
    if (Date.now() > end) throw new Error(`the pool never refilled: ${JSON.stringify(k)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const w = park_bucket_lock(1);
  mutex_enter(w);
  try { mutex_enter(w); } catch (e) { console.log(`panicked ${(e as sys.SysError).code}`); }
}
console.log('main done');
