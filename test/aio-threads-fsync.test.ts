/**
 * The threads engine's fsync barrier against a submission caught between
 * its publication and its push onto the I/O threads' ring (two holds of the
 * aio lock): LWP A publishes a write W on fd; before A pushes it, B submits
 * an fsync F on the same fd, published and pushed. The only I/O thread takes
 * F first (FIFO) and must not wait for W, which sits behind F in the ring:
 * it waited for ever (found by reading). The window is opened here
 * deterministically with submit.ts's test seam, in one thread.
 */
process.env.UKERN_AIO_ENGINE = 'threads';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { openSync, closeSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from '../src/sys/index.js';
import { go_seam } from '../src/aio/submit.js';

sys.boot({ aio_threads: 1 });
const dir = mkdtempSync(join(tmpdir(), 'ukern-aio2-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const shared = (s: string): Uint8Array => { const b = new Uint8Array(new SharedArrayBuffer(s.length)); b.set(Buffer.from(s)); return b; };

test('threads engine: an fsync pushed before a write published earlier does not wait for it', () => {
  const p = join(dir, 'f');
  const fd = openSync(p, 'w+');
  const w: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: shared('hello'), aio_nbytes: 5 };
  const f: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(1)), aio_nbytes: 0 };
  go_seam.published = () => {
    go_seam.published = null;
    sys.aio_fsync(sys.O_SYNC, f); // "another LWP": published and pushed before W is pushed
  };
  try { sys.aio_write(w); } finally { go_seam.published = null; }
  assert.equal(sys.kstat('aio')['aio.engine'], 2, 'the threads engine');
  let err: unknown = null;
  try { sys.aio_suspend([f], { tv_sec: 10, tv_nsec: 0 }); } catch (e) { err = e; }
  if (err !== null) sys.aio_cancel(fd, w); // the deadlock: end W so that F, then the process, can end
  assert.equal(err, null, 'the fsync completed');
  sys.aio_suspend([w], { tv_sec: 10, tv_nsec: 0 });
  assert.equal(sys.aio_return(f), 0);
  assert.equal(sys.aio_return(w), 5);
  assert.equal(readFileSync(p, 'utf8'), 'hello');
  closeSync(fd);
});
