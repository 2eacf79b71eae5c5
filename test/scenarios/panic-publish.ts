/**
 * The first panic's message reaches a thread that meets the mark while the
 * panicking thread is still writing it (kern/panic.ts): an LWP panics with
 * a message that takes 50 ms to write (test/fixtures/panic-slow.ts); this
 * thread watches the mark and makes a call as soon as it is set. Prints
 * the EIO's code and message; test/kthread-dies.test.ts asserts on it.
 */
import * as sys from '../../src/sys/index.js';
import { I32 } from '../../src/kern/kmem.js';
import { H_PANIC } from '../../src/kern/hdr.js';

sys.boot();
const sab = new SharedArrayBuffer(4);
sys.lwp_create({ module: new URL('../fixtures/panic-slow.js', import.meta.url), export: 'slowPanic', arg: sab }, sys.LWP_DETACHED);
const nap = new Int32Array(new SharedArrayBuffer(4)), end = Date.now() + 20_000;
while (Atomics.load(I32, H_PANIC) === 0 && Date.now() < end) Atomics.wait(nap, 0, 0, 0.2);
let out = 'no panic within 20 s';
if (Atomics.load(I32, H_PANIC) !== 0) {
  // (lwp_create checks the mark at its entry.)
  try { sys.lwp_create({ module: new URL('../fixtures/panic-slow.js', import.meta.url), export: 'slowPanic', arg: sab }); out = 'no EIO'; } catch (e) {
    out = `${(e as sys.SysError).code} ${(e as Error).message}`;
  }
}
console.log(out);
process.exit(0);
