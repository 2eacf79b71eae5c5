/**
 * An async wait whose sleep has ended (sq_sleep_async returned) but whose
 * call has not yet resumed (run_async's continuation is a microtask away)
 * is still its LWP's: its sleeper is on the LWP's async chain until the
 * resumed call settles it. An LWP that exits in that gap (a wait started
 * with a timeout already past, then lwp_exit in the same synchronous run)
 * had the sleeper orphaned and freed, and the thread abandoned; the
 * continuation then ran all the same, on a freed sleeper: in a worker the
 * trampoline had already unbound, its relock of the port took a kernel
 * mutex with no owner id, a kernel panic (every later call EIO); otherwise
 * it went on for an exited LWP and freed the sleeper a second time, besides
 * giving back the call's hold on the port twice. sq_sleep_async only
 * checked for abandonment after its own awaits; the sleep runner now checks
 * after the await of each sleep too.
 *
 * Each case: a port and an LWP that starts such a wait on it (port_get
 * with a 1 ns timeout: its sleep finds the deadline past without waiting;
 * plain, and through the abortable runner) and exits; then the kernel must not be panicked, the sleeper cache and
 * the object's cache must be back where they were once the descriptor is
 * closed. Every wait has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { kmem_snapshot } from '../src/kern/sys.js';
import { panicked } from '../src/kern/hdr.js';
import { until, within } from './helpers.js';

const F = new URL('./fixtures/orphan-ended.js', import.meta.url);
const inuse = (cache: string): number => kmem_snapshot().caches.find((c) => c.cache === cache)!.inUse;

for (const [name, exp] of [
  ['port_get_async', 'portGetThenExit'],
  ['port_get_async with an AbortSignal', 'portGetAbortableThenExit'],
] as const) {
  test(`an LWP that exits between the end of a ${name} sleep and the call's resumption: no second free, the port released`, async () => {
    sys.lwp_self(); // (boots the kernel)
    const cache = 'port';
    const baseSl = inuse('sleeper'), baseObj = inuse(cache);
    const fd = sys.port_create();
    const done = new SharedArrayBuffer(12), d = new Int32Array(done);
    const lid = sys.lwp_create({ module: F, export: exp, arg: { port: fd, done } });
    await until(() => Atomics.load(d, 1) === 1, 20000, 'the LWP up');
    // Go, and block this thread (outside the kernel) until the LWP thread has
    // run its microtasks after the exit: this thread, the LWP's creator,
    // retires the LWP's worker (terminates it) only once it turns its event
    // loop again, so the wait's continuation, if it runs at all, has run by then.
    Atomics.store(d, 2, 1); Atomics.notify(d, 2);
    const end = Date.now() + 20000;
    while (Atomics.load(d, 0) === 0 && Date.now() < end) Atomics.wait(d, 0, 0, 50);
    assert.equal(Atomics.load(d, 0), 1, "the LWP thread's microtasks after the exit ran");
    await within(sys.lwp_wait_async(lid), 20000, 'the LWP');
    assert.equal(panicked(), false, 'the kernel is not panicked');
    sys.close(fd);
    await until(() => inuse('sleeper') === baseSl && inuse(cache) === baseObj, 5000,
      () => `sleepers ${inuse('sleeper')} (was ${baseSl}), ${cache}s ${inuse(cache)} (was ${baseObj})`);
  });
}
