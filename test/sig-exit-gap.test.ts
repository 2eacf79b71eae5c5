/**
 * sigsuspend_async puts the old mask back after its sleep (suspend_leave:
 * the signals lock, the LWP's signal state), after an await. A handler that
 * ended the LWP (lwp_exit in the handler the interrupting signal ran: its
 * LwpExit reaches the thread as an uncaught exception a microtask later,
 * which retires the worker and unbinds the thread) came before that
 * continuation: the put-back then took the signals lock with no owner id,
 * a kernel panic (every later call EIO), for an LWP whose signal state was
 * gone. Now the call, finding its thread no longer on the LWP it started
 * on, only rethrows the EINTR (as run_async_restart does).
 *
 * The creator blocks outside the kernel (it retires the worker at its next
 * event) until a microtask chain the handler started, which runs after the
 * call's continuations, has run. Every wait has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { kill_and_see_exit } from './fixtures/sigexit-lwp.js';
import { until, within } from './helpers.js';

const F = new URL('./fixtures/sigsuspend-exit.js', import.meta.url);

for (const [name, exp] of [
  ['sigsuspend_async', 'suspendWithExitingHandler'],
  ['sigsuspend', 'suspendSyncWithExitingHandler'],
] as const) {
  test(`an LWP whose handler ends it inside ${name}: the old mask is not put back for no LWP`, async () => {
    const sab = new SharedArrayBuffer(16), c = new Int32Array(sab);
    const T = sys.lwp_create({ module: F, export: exp, arg: { sab } });
    await until(() => Atomics.load(c, 0) === 1, 20000, `the LWP in its ${name}`);
    kill_and_see_exit(T, c);
    assert.equal(await within(sys.lwp_wait_async(T), 20000, 'the LWP'), T);
  });
}
