/**
 * aio.read and aio.write report every failure as a rejection, as aio.fsync
 * and aio.batch do and as every Promise form of the classes does: a bad
 * argument and the submission's errno (EBADF, EINVAL) were thrown at the
 * call, so `aio.read(fd, buf, 0).catch(f)` never reached f and an
 * allSettled of several reads threw instead. The request is still
 * submitted at the call, in call order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aio, kstat } from 'ukern';

test('aio.read / aio.write: argument errors and the submission\'s errno reject; a valid request is submitted at the call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aio-reject-'));
  const fd = openSync(join(dir, 'f'), 'w+');
  try {
    const b = aio.buffer(4);
    const bad: [string, () => Promise<number>, string][] = [
      ['read: fd -1', () => aio.read(-1, b, 0), 'ERR_OUT_OF_RANGE'],
      ['read: fd a string', () => aio.read('3' as unknown as number, b, 0), 'ERR_INVALID_ARG_TYPE'],
      ['read: position -1', () => aio.read(fd, b, -1), 'ERR_OUT_OF_RANGE'],
      ['read: signal no AbortSignal', () => aio.read(fd, b, 0, { signal: {} as AbortSignal }), 'ERR_INVALID_ARG_TYPE'],
      ['read: fd not open', () => aio.read(0x7ffffff0, b, 0), 'EBADF'],
      ['read: buffer not over a SharedArrayBuffer', () => aio.read(fd, new Uint8Array(4), 0), 'EINVAL'],
      ['write: position 1.5', () => aio.write(fd, b, 1.5), 'ERR_OUT_OF_RANGE'],
      ['write: ref not a boolean', () => aio.write(fd, b, 0, { ref: 'no' as unknown as boolean }), 'ERR_INVALID_ARG_TYPE'],
      ['write: fd not open', () => aio.write(0x7ffffff0, b, 0), 'EBADF'],
    ];
    for (const [what, call, code] of bad) {
      let p: Promise<number> | undefined;
      assert.doesNotThrow(() => { p = call(); }, `${what}: thrown at the call`);
      await assert.rejects(p!, { code }, what);
    }
    const before = kstat('aio')['aio.submitted']!;
    b.set([1, 2, 3, 4]);
    const w = aio.write(fd, b, 0);
    assert.equal(kstat('aio')['aio.submitted'], before + 1, 'the write was not submitted at the call');
    assert.equal(await w, 4);
    assert.equal(await aio.read(fd, aio.buffer(4), 0), 4);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
