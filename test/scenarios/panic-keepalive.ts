/**
 * A panic made in an LWP that can then never exit: the only LWP panics the
 * kernel inside a kernel lock (fixtures/panic-stuck-lwp.ts), which its exit
 * needs. The booting thread holds lwp0 (and so the process) while LWPs
 * other than LWP 1 live, but not after a panic: the process must end on its
 * own (status 70) once this thread has nothing left to do.
 * test/lwp0-keepalive-panic.test.ts asserts on it.
 */
import * as sys from '../../src/sys/index.js';

sys.lwp_create({ module: new URL('../fixtures/panic-stuck-lwp.js', import.meta.url), export: 'panicsHoldingLock' });
console.log('main done');
