/**
 * A ukern:lwp:exit subscriber in the exiting LWP's own thread runs after
 * the LWP is over: a syscall it makes throws LwpExit, as any code lwp_exit
 * unwinds through. Run while the thread was still bound to the zombie, its
 * sleep took the zombie back to ONPROC: lwp_wait never collected it and
 * lwp_check found the process counters off (nzlwps, nrlwps, nlive).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { within, until } from './helpers.js';

const F = new URL('./fixtures/diag-lwp.js', import.meta.url);

for (const exit of [true, false]) {
  test(`a syscall in an exit subscriber does not run as the exited LWP (${exit ? 'lwp_exit' : 'return'})`, async () => {
    const sab = new SharedArrayBuffer(4), a = new Int32Array(sab);
    const lid = sys.lwp_create({ module: F, export: 'exitSyscall', arg: { sab, exit } });
    // The subscriber ends before this thread waits, so the wait finds the LWP as the subscriber left it.
    await until(() => Atomics.load(a, 0) !== 0, 20000, 'the exit subscriber');
    assert.equal(Atomics.load(a, 0), 3, 'the subscriber\'s port_get did not throw LwpExit (2: it slept as the exited LWP)');
    await within(sys.lwp_wait_async(lid), 10000, `lwp_wait(${lid}) (state ${JSON.stringify(sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.state)})`);
    assert.deepEqual(sys.lwp_check(), []);
  });
}
