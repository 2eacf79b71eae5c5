/**
 * aio's options are read and checked alike by every call: aio.fsync left
 * `priority` out of its copy-in (its type allows it), so a priority of 99
 * was ignored where aio.read rejects it; and `user` without `port` (the
 * port event's portev_user, with no port event to carry it) was dropped
 * without a word by read, write and fsync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aio, kstat } from 'ukern';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('aio.fsync checks options.priority as aio.read does; a valid one is taken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aio-opts-'));
  const fd = openSync(join(dir, 'f'), 'w+');
  try {
    await assert.rejects(aio.fsync(fd, { priority: 99 }), code('ERR_OUT_OF_RANGE'));
    await assert.rejects(aio.read(fd, aio.buffer(1), 0, { priority: 99 }), code('ERR_OUT_OF_RANGE'));
    await aio.fsync(fd, { priority: 3 });
  } finally { closeSync(fd); rmSync(dir, { recursive: true, force: true }); }
});

test('options.user without options.port is ERR_INVALID_ARG_VALUE, for read, write and fsync; nothing is submitted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aio-opts-'));
  const fd = openSync(join(dir, 'f'), 'w+');
  try {
    const b = aio.buffer(2);
    const before = kstat('aio')['aio.submitted']!;
    await assert.rejects(aio.read(fd, b, 0, { user: 7 }), code('ERR_INVALID_ARG_VALUE'));
    await assert.rejects(aio.write(fd, b, 0, { user: 7 }), code('ERR_INVALID_ARG_VALUE'));
    await assert.rejects(aio.fsync(fd, { user: 7 }), code('ERR_INVALID_ARG_VALUE'));
    assert.equal(kstat('aio')['aio.submitted'], before, 'a request was submitted');
    assert.equal(await aio.write(fd, b, 0), 2);
  } finally { closeSync(fd); rmSync(dir, { recursive: true, force: true }); }
});
