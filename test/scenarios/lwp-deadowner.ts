// LWP 1 blocks on a kernel mutex whose holder's worker then dies: EIO
// promptly (the panic wakes it), and the process ends on its own.
import * as sys from '../../src/sys/index.js';
import { curproc, P } from '../../src/kern/proc.js';

const fixtures = new URL('../fixtures/lwps.js', import.meta.url);
sys.lwp_self(); // boot: kernel words (the proc lock's) exist only after it
const sab = new SharedArrayBuffer(16);
const a = new Int32Array(sab), f = new Float64Array(sab);
const lid = sys.lwp_create({ module: fixtures, export: 'diesHoldingLock', arg: { sab, lock: curproc() + P.lock, first: 'lock', wmesg: 'kmutex' } });
// Await (not block): the new LWP's worker starts through this thread's event loop.
const r = Atomics.waitAsync(a, 0, 0, 20000);
if (r.async && (await r.value) === 'timed-out') throw new Error('the LWP never took the lock');
try { sys.lwp_detach(lid); console.log('detach returned'); } catch (e) {
  console.log(`blocked call ${(e as sys.SysError).code} ${Date.now() - f[1]!} ms after the death`);
}
try { sys.lwp_wait(lid); console.log('wait returned'); } catch (e) { console.log(`wait ${(e as sys.SysError).code}`); }
console.log('main done');
