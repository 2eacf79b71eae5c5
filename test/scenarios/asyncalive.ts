// An async kernel wait keeps the process alive on its own: nothing else is pending here.
import * as sys from 'ukern/sys';
const started = Date.now();
const lid = sys.lwp_create({ module: new URL('../fixtures/lwps-pkg.js', import.meta.url), export: 'parkHint', arg: { sab: new SharedArrayBuffer(8), slot: 0, hint: 0, abstime: { tv_sec: Math.floor(Date.now() / 1000) + 2, tv_nsec: 0 } } }, sys.LWP_DETACHED);
void lid;
sys.lwp_park_async({ tv_sec: Math.floor(Date.now() / 1000) + 1, tv_nsec: 500e6 }).catch((e: sys.SysError) => {
  console.log(`park_async ended with ${e.code} after ${Date.now() - started} ms`);
});
