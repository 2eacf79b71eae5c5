/**
 * A restartable async call (lwp_wait_async; sigwaitinfo under SA_RESTART)
 * interrupted by a signal whose handler ended the LWP (lwp_exit in the
 * handler: the handler's LwpExit reaches the thread as an uncaught
 * exception a microtask later, which retires the worker and unbinds the
 * thread) decided to restart after that: its run_async_restart resumed a
 * microtask later still, found the handler's SA_RESTART and made the call
 * again, for an LWP that no longer existed, in a thread bound to none. The
 * new attempt took the proc lock with no owner id: a kernel panic, EIO for
 * every later call of the process. Now a restartable call that finds its
 * thread no longer on the LWP it started on does not restart (the sync
 * form the same).
 *
 * The creator blocks outside the kernel (it is the one that retires the
 * worker, at its next event) until a microtask chain the handler started,
 * which runs after the call's continuations, has run. Every wait has a
 * deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { until, within } from './helpers.js';

import { kill_and_see_exit } from './fixtures/sigexit-lwp.js';

const F = new URL('./fixtures/sigexit-lwp.js', import.meta.url);

test('an LWP whose SA_RESTART handler ends it does not restart its interrupted lwp_wait_async', async () => {
  const sab = new SharedArrayBuffer(16), c = new Int32Array(sab);
  const other = sys.lwp_create({ module: F, export: 'runUntilTold', arg: { sab } });
  const T = sys.lwp_create({ module: F, export: 'waitWithExitingHandler', arg: { other, sab } });
  await until(() => Atomics.load(c, 0) === 1, 20000, 'the waiter in its wait');
  kill_and_see_exit(T, c);
  Atomics.store(c, 2, 1); Atomics.notify(c, 2);
  assert.equal(await within(sys.lwp_wait_async(other), 20000, 'the other LWP'), other);
  assert.equal(await within(sys.lwp_wait_async(T), 20000, 'the waiter'), T);
});
