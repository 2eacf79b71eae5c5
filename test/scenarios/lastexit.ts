// LWP 1 exits while another LWP runs; the process must end (status 0) when that one exits.
import * as sys from 'ukern/sys';
const sab = new SharedArrayBuffer(16);
sys.lwp_create({ module: new URL('../fixtures/lwps-pkg.js', import.meta.url), export: 'parkHint', arg: { sab, slot: 0, hint: 0, abstime: { tv_sec: Math.floor(Date.now() / 1000) + 1, tv_nsec: 0 } } });
console.log('main exiting');
process.on('exit', (c) => { console.log(`process exit ${c} after LWP saw ${new Int32Array(sab)[0]}`); });
sys.lwp_exit();
console.log('not reached');
