/**
 * boot() reads each option once (copy-in: a user argument enters the kernel
 * once). lwp_pool was read twice: for its value, and again to see whether
 * it was given (the prestart of boot({ lwp_pool }), lwp/spawn.ts), so an
 * accessor could give one answer to each: a pool of one size and the
 * prestart of another answer (none here: the second read said "not given").
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { kernel_image } from '../src/kern/boot.js';

test('boot reads lwp_pool once, and the prestart follows that one read', () => {
  let reads = 0;
  sys.boot({ get lwp_pool() { reads++; return reads === 1 ? 1 : undefined; } } as sys.BootOptions);
  assert.equal(reads, 1, 'lwp_pool was read more than once');
  assert.equal(kernel_image().tunables.lwp_pool, 1);
  assert.equal(kernel_image().prestart, true);
});
