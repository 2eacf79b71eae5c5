/**
 * kern/fdtab.ts: descriptor numbers and their reuse. A closed descriptor's
 * number must stay EBADF however often descriptors are opened and closed
 * after it: the generation in the number (as many bits as the table size
 * leaves) and the FIFO free list together make an entry's number come back
 * only after 2^bits laps of the whole free list. With 10 generation bits
 * and a LIFO list, the 1024th reopen after a close handed the closed
 * number out again, and calls on the stale number reached the new port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { SysError } from '../src/kern/errno.js';

const isEBADF = (e: unknown): boolean => e instanceof SysError && e.code === 'EBADF';

test('a closed fd stays EBADF across 3000 close/reopen cycles', () => {
  const stale = sys.port_create();
  sys.close(stale);
  const seen = new Set<number>();
  for (let k = 0; k < 3000; k++) {
    const fd = sys.port_create();
    try {
      assert.notEqual(fd, stale, `reopen ${k + 1} handed the closed number ${stale} out again`);
      assert.ok(!seen.has(fd), `reopen ${k + 1} reused ${fd}`);
      seen.add(fd);
      assert.throws(() => sys.port_send(stale, 1, 0), isEBADF);
    } finally {
      sys.close(fd);
    }
  }
  assert.throws(() => sys.close(stale), isEBADF);
});

test('numbers above 2^31 and below the base are EBADF, not another entry', () => {
  const fd = sys.port_create();
  try {
    for (const bad of [fd + 2 ** 31, 2 ** 32 - 1, fd - 2 ** 20, 0x7fffffff]) {
      assert.throws(() => sys.port_send(bad, 1, 0), isEBADF, `fd ${bad}`);
    }
  } finally {
    sys.close(fd);
  }
});
