// maxlwp is a boot option; exhaustion is EAGAIN and leaves the kernel usable.
import * as sys from 'ukern/sys';
sys.boot({ maxlwp: 3 });
const fx = new URL('../fixtures/lwps-pkg.js', import.meta.url);
const sab = new SharedArrayBuffer(16);
const a = sys.lwp_create({ module: fx, export: 'parkHint', arg: { sab, slot: 0, hint: 1 } });
const b = sys.lwp_create({ module: fx, export: 'parkHint', arg: { sab, slot: 1, hint: 1 } });
let err = '';
try { sys.lwp_create({ module: fx, export: 'returnsAtOnce' }); } catch (e) { err = (e as sys.SysError).code; }
let bootAgain = '';
try { sys.boot(); } catch (e) { bootAgain = (e as sys.SysError).code; }
let badOpt = '';
try { sys.boot({ maxlwp: 1 }); } catch (e) { badOpt = (e as Error).name + ':' + ((e as sys.SysError).code ?? ''); }
while (sys.lwp_snapshot().lwps.filter((l) => l.state === 'SLEEP').length < 2) Atomics.wait(new Int32Array(sab), 3, 0, 1);
sys.lwp_unpark_all([a, b], 1);
sys.lwp_wait(a); sys.lwp_wait(b);
const c = sys.lwp_create({ module: fx, export: 'returnsAtOnce' });
sys.lwp_wait(c);
console.log(JSON.stringify({ err, bootAgain, badOpt, after: 'ok' }));
