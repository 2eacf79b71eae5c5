/**
 * An LWP created suspended waits in its worker (lwp_halt, before its start
 * function) when this thread panics the kernel (a kernel mutex it takes
 * twice): its wait ends with EIO and the LWP ends there. This thread then
 * waits (bounded) until the worker's line about it has passed through its
 * own stderr (a worker's console reaches the process through this thread),
 * so that test/lwp-halt-panic.test.ts sees the line every time.
 */
import * as sys from '../../src/sys/index.js';
import { I32 } from '../../src/kern/kmem.js';
import { L, LSONPROC, lwp_byid } from '../../src/lwp/lwp.js';
import { mutex_enter } from '../../src/kern/mutex.js';
import { park_bucket_lock } from '../../src/lwp/park.js';

let said = '';
const write = process.stderr.write;
process.stderr.write = function (this: typeof process.stderr, chunk: unknown, ...rest: unknown[]) {
  said += String(chunk);
  return Reflect.apply(write, this, [chunk, ...rest]) as boolean;
} as typeof process.stderr.write;

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const lid = sys.lwp_create({ module: new URL('../fixtures/lwps.js', import.meta.url), export: 'returnsAtOnce' }, sys.LWP_SUSPENDED);
const h = lwp_byid(lid);
// Its worker has started it (lwp_startup: l_resume ONPROC): it halts next.
await until('LWP 2 started by its worker', () => I32[h + L.resume] === LSONPROC);
const w = park_bucket_lock(1);
mutex_enter(w);
try { mutex_enter(w); } catch (e) { console.log(`panicked ${(e as sys.SysError).code}`); }
await until(`the worker's line about LWP ${lid}`, () => said.includes(`ukern: LWP ${lid} `));
console.log('main done');
