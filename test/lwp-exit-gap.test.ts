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
import { panicked } from '../src/kern/hdr.js';
import { until, within } from './helpers.js';

const F = new URL('./fixtures/sigexit-lwp.js', import.meta.url);

test('a syscall in the catch of a call its exiting handler interrupted does not run for no LWP', async () => {
  const sab = new SharedArrayBuffer(16), c = new Int32Array(sab);
  const other = sys.lwp_create({ module: F, export: 'runUntilTold', arg: { sab } });
  const T = sys.lwp_create({ module: F, export: 'waitWithExitingHandlerThenCall', arg: { other, sab } });
  await until(() => Atomics.load(c, 0) === 1, 20000, 'the waiter in its wait');
  sys.lwp_kill(T, sys.SIGUSR1);
  const end = Date.now() + 20000;
  while (Atomics.load(c, 3) === 0 && !panicked() && Date.now() < end) Atomics.wait(c, 3, 0, 50);
  assert.equal(Atomics.load(c, 1), 1, 'the handler ran');
  assert.equal(panicked(), false, 'the kernel is not panicked');
  assert.equal(Atomics.load(c, 3), 1, "the waiter's thread ran its microtasks after the handler");
  Atomics.store(c, 2, 1); Atomics.notify(c, 2);
  assert.equal(await within(sys.lwp_wait_async(other), 20000, 'the other LWP'), other);
  assert.equal(await within(sys.lwp_wait_async(T), 20000, 'the waiter'), T);
});
