// A thread taking a kernel mutex it already holds: a kernel panic with a
// clear message and EIO, not an endless wait.
import * as sys from '../../src/sys/index.js';
import { mutex_enter } from '../../src/kern/mutex.js';
import { park_bucket_lock } from '../../src/lwp/park.js';

sys.lwp_self(); // boot
const w = park_bucket_lock(1);
mutex_enter(w);
const t0 = Date.now();
try { mutex_enter(w); console.log('reentered'); } catch (e) {
  console.log(`recursion ${(e as sys.SysError).code} after ${Date.now() - t0} ms`);
}
