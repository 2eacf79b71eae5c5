/**
 * The class layer's AIO (`aio` of 'ukern'): Promises of bytes over the
 * POSIX calls, batch submission, port notification beside the Promise,
 * AbortSignal, and the errors of the sys layer passed through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aio, Port, SysError, PORT_SOURCE_AIO } from 'ukern';
import { within } from './helpers.js';

function tmpfile(content: string): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-aio-class-'));
  const path = join(dir, 'f');
  writeFileSync(path, content);
  return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('aio.read / aio.write / aio.fsync resolve with what the request did', async () => {
  const f = tmpfile('0123456789');
  const fd = openSync(f.path, 'r+');
  try {
    const buf = aio.buffer(4);
    assert.equal(await within(aio.read(fd, buf, 3), 5000, 'read'), 4);
    assert.equal(Buffer.from(buf).toString(), '3456');
    const w = aio.buffer(3); w.set(Buffer.from('abc'));
    assert.equal(await within(aio.write(fd, w, 8), 5000, 'write'), 3);
    await within(aio.fsync(fd), 5000, 'fsync');
    await within(aio.fsync(fd, { data: true }), 5000, 'fdatasync');
    assert.equal(readFileSync(f.path, 'utf8'), '01234567abc');
    const big = aio.buffer(64);
    assert.equal(await aio.read(fd, big, 0), 11, 'a short read at the end of the file');
    assert.equal(await aio.read(fd, big, 100), 0, 'past the end: 0 bytes');
  } finally {
    closeSync(fd); f.done();
  }
});

test('a FileHandle works as the descriptor; aio.batch submits a list at once and gives each op its result', async () => {
  const f = tmpfile('abcdefghij');
  const fh = await open(f.path, 'r+');
  try {
    const a = aio.buffer(2), b = aio.buffer(3), c = aio.buffer(2);
    c.set(Buffer.from('XY'));
    const r = await within(aio.batch([
      { op: 'read', fd: fh, buffer: a, position: 0 },
      { op: 'read', fd: fh, buffer: b, position: 5 },
      { op: 'write', fd: fh, buffer: c, position: 8 },
      { op: 'read', fd: 0x7ffffff0, buffer: a, position: 0, length: 1 },
    ]), 5000, 'batch').catch((e: unknown) => e);
    // lio_listio refuses a list with a bad descriptor as a whole (EBADF), or reports it per op.
    if (r instanceof SysError) {
      assert.equal(r.code, 'EBADF');
    } else {
      const res = r as (number | SysError)[];
      assert.deepEqual(res.slice(0, 3), [2, 3, 2]);
      assert.ok(res[3] instanceof SysError && res[3].code === 'EBADF');
    }
    const ok = await aio.batch([{ op: 'read', fd: fh, buffer: a, position: 0 }, { op: 'read', fd: fh.fd, buffer: b, position: 5 }]);
    assert.deepEqual(ok, [2, 3]);
    assert.equal(Buffer.from(a).toString() + Buffer.from(b).toString(), 'abfgh');
  } finally {
    await fh.close(); f.done();
  }
});

test('{ port, user }: the completion is also a PORT_SOURCE_AIO event on that port; the Promise still collects', async () => {
  const f = tmpfile('hello');
  const fd = openSync(f.path, 'r');
  const port = new Port();
  try {
    const buf = aio.buffer(5);
    assert.equal(await aio.read(fd, buf, 0, { port: port.fd, user: 42 }), 5);
    const ev = await within(port.get({ timeout: 5000 }), 6000, 'the port event');
    assert.equal(ev.portev_source, PORT_SOURCE_AIO);
    assert.equal(ev.portev_user, 42);
  } finally {
    port.close(); closeSync(fd); f.done();
  }
});

test('errors: the sys layer\'s errno (EBADF, EINVAL for a buffer not over a SharedArrayBuffer), an aborted signal, argument errors', async () => {
  const f = tmpfile('x');
  const fd = openSync(f.path, 'r');
  try {
    await assert.rejects(aio.read(0x7ffffff0, aio.buffer(1), 0), { code: 'EBADF' });
    await assert.rejects(aio.read(fd, new Uint8Array(4), 0), { code: 'EINVAL' });
    await assert.rejects(aio.read('3' as unknown as number, aio.buffer(1), 0), { code: 'ERR_INVALID_ARG_TYPE' });
    await assert.rejects(aio.read(fd, aio.buffer(1), -1), { code: 'ERR_OUT_OF_RANGE' });
    const ac = new AbortController(); ac.abort();
    await assert.rejects(aio.read(fd, aio.buffer(1), 0, { signal: ac.signal }), { name: 'AbortError' });
    // A read of a pipe nobody writes stays queued until the signal cancels it.
    const { pipe } = await import('./fixtures/osfd.js');
    const [r, w] = pipe();
    try {
      const ac2 = new AbortController();
      const p = aio.read(r, aio.buffer(8), 0, { signal: ac2.signal, ref: false });
      setTimeout(() => ac2.abort(), 20);
      await within(assert.rejects(p, { name: 'AbortError' }), 5000, 'the abort to cancel the read');
    } finally {
      closeSync(r); closeSync(w);
    }
  } finally {
    closeSync(fd); f.done();
  }
});
