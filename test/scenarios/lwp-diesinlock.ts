// An LWP dies inside a kernel lock (as under OOM) while LWP 1 waits for it
// in lwp_wait (argv[2]: 'sync' or 'async'): the wait gets EIO, so do later
// calls, and the process ends on its own (status 70) instead of keeping the
// dead LWP ONPROC and its waiter asleep for ever.
import * as sys from '../../src/sys/index.js';
import { park_bucket_lock } from '../../src/lwp/park.js';

sys.boot(); // before park_bucket_lock: the buckets are laid out at boot
const fixtures = new URL('../fixtures/lwps.js', import.meta.url);
const sab = new SharedArrayBuffer(16);
const lid = sys.lwp_create({ module: fixtures, export: 'diesHoldingLock', arg: { sab, lock: park_bucket_lock(4711), first: 'wait', wmesg: 'lwpwait' } });
if (process.argv[2] === 'async') {
  console.log(`wait ${await sys.lwp_wait_async(lid).then(() => 'returned', (e: sys.SysError) => e.code)}`);
} else {
  try { sys.lwp_wait(lid); console.log('wait returned'); } catch (e) { console.log(`wait ${(e as sys.SysError).code}`); }
}
try { sys.lwp_wait(lid); console.log('wait again returned'); } catch (e) { console.log(`wait again ${(e as sys.SysError).code}`); }
try { sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' }); console.log('create returned'); } catch (e) { console.log(`create ${(e as sys.SysError).code}`); }
console.log('main done');
