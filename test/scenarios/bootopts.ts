// Bad boot options: TypeError for wrong types and unknown names, EINVAL for out of range, ENOMEM for a too small memsize.
import * as sys from 'ukern/sys';
const out: string[] = [];
for (const o of [{ maxlwp: 'x' }, { nosuch: 1 }, { maxlwp: 1 }, { maxlwp: 2.5 }, { memsize: 70000 }, { lockdebug: 1 }, { lockdebug: 'yes' }]) {
  try { sys.boot(o as sys.BootOptions); out.push('booted'); } catch (e) { out.push(e instanceof TypeError ? 'TypeError' : (e as sys.SysError).code); }
}
sys.boot({ maxlwp: 4 });
out.push(String(sys.lwp_self()));
console.log(JSON.stringify(out));
