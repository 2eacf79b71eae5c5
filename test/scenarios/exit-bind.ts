// A program that calls process.exit(3) while an LWP binds libc functions
// through koffi in a loop: the process must end with status 3, not abort.
// A worker torn down by Node's exit in the middle of koffi's N-API work
// made node-addon-api's failing napi_throw fatal ("FATAL ERROR:
// Error::ThrowAsJavaScriptException napi_throw", SIGABRT), 8 times in 10
// before kern/libc.ts's exit protocol. Run by kevent-os-threads.test.ts.
import * as sys from '../../src/sys/index.js';

const sab = new SharedArrayBuffer(4);
sys.lwp_create({ module: new URL('../fixtures/exit-binds.js', import.meta.url), export: 'binds', arg: { sab } });
const end = Date.now() + 10_000;
while (Atomics.load(new Int32Array(sab), 0) === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 2));
// Long enough for the loop to be well under way (the first binds load koffi).
await new Promise((res) => setTimeout(res, 20));
console.log(`binding: ${Atomics.load(new Int32Array(sab), 0)}`);
process.exit(3);
