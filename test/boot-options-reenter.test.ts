/**
 * boot()'s options are read (their getters run) before the kernel exists,
 * and a syscall made from a getter boots it with the defaults. The outer
 * boot is then a second boot, EBUSY; it went on and laid a new kernel over
 * the one the getter's call had booted: the port made there was EBADF
 * afterwards, and the options of the outer call were in force instead.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { kernel_image } from '../src/kern/boot.js';

test('a boot option getter that makes a syscall: the outer boot is EBUSY, and the kernel the syscall booted stays', () => {
  let port = 0;
  assert.throws(() => sys.boot({ get maxlwp() { port = sys.port_create(); return 8; } }),
    (e: unknown) => e instanceof sys.SysError && e.code === 'EBUSY');
  assert.ok(port > 0);
  assert.notEqual(kernel_image().tunables.maxlwp, 8, 'the second boot\'s options are in force');
  sys.port_send(port, 1, 42);
  assert.equal(sys.port_get(port, { tv_sec: 0, tv_nsec: 0 }).portev_user, 42);
  assert.deepEqual(sys.lwp_check(), []);
  sys.close(port);
});
