/**
 * Every call of `ukern/sys` is a system call: it enters the kernel
 * (sysenter: boot, signals, suspension) and copies its arguments in. A
 * kernel-internal helper exported from a subsystem's sys.ts reaches the
 * facade through its `export *`: aio_cancel_fd, the cancel that close(2)
 * and process exit run, took its fd and id as they came (no sysenter, no
 * copy-in) and, called before any other syscall, failed with a RangeError
 * from kernel memory not yet mapped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';

test('ukern/sys does not export the AIO cancel helper of close(2); aio_cancel is the call', () => {
  assert.equal('aio_cancel_fd' in sys, false);
  assert.throws(() => sys.aio_cancel(0x7fffff00, null), (e: unknown) => e instanceof sys.SysError && e.code === 'EBADF');
});
