/**
 * A syscall made by code of an LWP that is gone, in a thread the trampoline
 * has unbound (no LWP, owner id 0): the continuation of an async call that
 * settles after its LWP exited (here lwp_wait_async interrupted by a
 * handler that ends the LWP: it rejects with EINTR, kern/sleeprun.ts) and
 * goes on into a syscall (a class's cleanup: Lwp.wait's, the signals()
 * iterator's sigprocmask). sysenter let it in as if the kernel were not
 * booted yet: it took the signals lock with no owner id, a kernel panic
 * (EIO for every later call). Now a syscall in a booted thread with no LWP
 * and no owner id throws LwpExit, as one made on an exited LWP's dead
 * handle does; the trampoline drops it.
 *
 * The creator blocks outside the kernel (it retires the worker at its next
 * event) until a microtask chain the handler started, which runs after the
 * call's continuations and the catch, has run. Every wait has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { until, within } from './helpers.js';

import { kill_and_see_exit } from './fixtures/sigexit-lwp.js';

const F = new URL('./fixtures/sigexit-lwp.js', import.meta.url);

test('a syscall in the catch of a call its exiting handler interrupted does not run for no LWP', async () => {
  const sab = new SharedArrayBuffer(16), c = new Int32Array(sab);
  const other = sys.lwp_create({ module: F, export: 'runUntilTold', arg: { sab } });
  const T = sys.lwp_create({ module: F, export: 'waitWithExitingHandlerThenCall', arg: { other, sab } });
  await until(() => Atomics.load(c, 0) === 1, 20000, 'the waiter in its wait');
  kill_and_see_exit(T, c);
  Atomics.store(c, 2, 1); Atomics.notify(c, 2);
  assert.equal(await within(sys.lwp_wait_async(other), 20000, 'the other LWP'), other);
  assert.equal(await within(sys.lwp_wait_async(T), 20000, 'the waiter'), T);
});
