/**
 * The class layer's AIO collects every request it submits, whatever ends
 * the wait (review of src/ukern/aio.ts): each test here failed before its
 * fix (the commit that added it says how). `aio.requests` (kstat) counts
 * the requests not yet collected by aio_return.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aio, onSignal, kill, SysError } from 'ukern';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { until, within } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ukern-clsaio-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const requests = (): number => sys.kstat('aio')['aio.requests']!;
const code = (c: string) => (e: unknown): boolean => (e as { code?: string }).code === c;

/** Writes to a non-blocking pipe's write end until it takes the bytes. */
function feed(w: number, s: string): void { writeSync(w, s); }

test('aio.batch: an op that fails is that op\'s SysError, the others their bytes, every op collected (it rejected EIO, none collected)', async () => {
  const file = join(dir, 'fail');
  writeFileSync(file, 'abcd');
  const rd = openSync(file, 'r'), wo = openSync(file, 'a'); // a read on a write-only descriptor fails in the engine (EBADF)
  try {
    const base = requests();
    const a = aio.buffer(4), b = aio.buffer(4);
    const r = await within(aio.batch([
      { op: 'read', fd: rd, buffer: a, position: 0 },
      { op: 'read', fd: wo, buffer: b, position: 0 },
    ]), 10_000, 'the batch');
    assert.equal(r[0], 4);
    assert.equal(Buffer.from(a).toString(), 'abcd');
    assert.ok(r[1] instanceof SysError && r[1].code === 'EBADF', `the failed op's own error, got ${String(r[1])}`);
    assert.equal(requests(), base, 'every op was collected');
  } finally {
    closeSync(rd); closeSync(wo);
  }
});

test('aio.batch: an aborted signal submits nothing (its writes were done, the Promise rejected, no op collected)', async () => {
  const file = join(dir, 'aborted');
  writeFileSync(file, 'abcd');
  const fd = openSync(file, 'r+');
  try {
    const base = requests(), submitted = sys.kstat('aio')['aio.submitted'];
    const b = aio.buffer(4); b.set(Buffer.from('XYZW'));
    await assert.rejects(aio.batch([{ op: 'write', fd, buffer: b, position: 0 }], { signal: AbortSignal.abort('no') }),
      (e: unknown) => code('ABORT_ERR')(e) && (e as Error).cause === 'no');
    assert.equal(sys.kstat('aio')['aio.submitted'], submitted, 'nothing was submitted');
    assert.equal(requests(), base);
    assert.equal(readFileSync(file, 'utf8'), 'abcd', 'the file was not written');
  } finally {
    closeSync(fd);
  }
});

test('aio.batch: an abort with an op in progress settles once every op is done and collected (it rejected at once, the op left uncollected)', async () => {
  const [r, w] = pipe();
  try {
    const base = requests();
    const ac = new AbortController();
    const b = aio.buffer(4);
    const batch = aio.batch([{ op: 'read', fd: r, buffer: b, position: 0 }], { signal: ac.signal });
    let settled = false;
    const outcome = batch.then((v) => v, (e: unknown) => e);
    void outcome.then(() => { settled = true; });
    await until(() => sys.kstat('aio')['aio.in_flight']! >= 1 || settled, 10_000, 'the pipe read in progress');
    ac.abort('stop');
    feed(w, 'data'); // an op the abort could not cancel ends with these bytes
    const v = await within(outcome, 10_000, 'the batch settles');
    // Cancelled before it ran: AbortError; run to its end: its bytes.
    assert.ok((code('ABORT_ERR')(v) && (v as Error).cause === 'stop') || (Array.isArray(v) && v[0] === 4), `got ${String(v)}`);
    await until(() => requests() === base, 10_000, () => `every op collected (${requests() - base} left)`);
  } finally {
    closeSync(r); closeSync(w);
  }
});

test('aio.read: a caught signal interrupting the wait does not end it (it rejected EINTR, the request left uncollected, its bytes lost)', async () => {
  const [r, w] = pipe();
  let caught = 0;
  const sub = onSignal('SIGUSR2', () => { caught++; });
  try {
    const base = requests();
    const b = aio.buffer(4);
    const read = aio.read(r, b, 0);
    let settled = false;
    const outcome = read.then((v) => v, (e: unknown) => e);
    void outcome.then(() => { settled = true; });
    kill(process.pid, 'SIGUSR2');
    await until(() => caught > 0, 10_000, 'the listener ran');
    assert.equal(settled, false, 'the read is still pending: nothing has come');
    feed(w, 'abcd');
    assert.equal(await within(outcome, 10_000, 'the read'), 4);
    assert.equal(Buffer.from(b).toString(), 'abcd');
    assert.equal(requests(), base, 'collected');
  } finally {
    sub.dispose(); closeSync(r); closeSync(w);
  }
});

test('aio.read: an abort after its descriptor was closed is no uncaught exception (aio_cancel\'s EBADF was thrown in the abort listener)', async () => {
  const [r, w] = pipe();
  try {
    const base = requests();
    const ac = new AbortController();
    const read = aio.read(r, aio.buffer(4), 0, { signal: ac.signal });
    sys.close(r); // through the kernel: the request is cancelled, its waiter woken later
    ac.abort(); // the listener is still there: aio_cancel(r) is EBADF now
    // Cancelled by the close, not by the abort: close's ECANCELED.
    await assert.rejects(within(read, 10_000, 'the read'), code('ECANCELED'));
    await new Promise((res) => setImmediate(res)); // an error thrown in the listener surfaces by now
    assert.equal(requests(), base);
  } finally {
    closeSync(w);
  }
});
