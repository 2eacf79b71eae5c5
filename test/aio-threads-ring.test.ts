/**
 * The threads engine's queue (a ring of aio_ids under the aio lock) when
 * cancelled requests pile up in it: a queued request cancelled by aio_cancel
 * stays in the ring as a dead id until an I/O thread passes it, so while
 * every I/O thread is held (here the only one, by a read of a pipe nobody
 * writes yet) submit-cancel-collect cycles grow the ring past its size with
 * at most a few requests alive. A live queued request must never be
 * overwritten by such a cycle: it must still run once the thread is free.
 */
process.env.UKERN_AIO_ENGINE = 'threads';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, openSync, closeSync, mkdtempSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';

const AIO_MAX = 16; // the ring then has 16 entries
sys.boot({ aio_max: AIO_MAX, aio_threads: 1 });
const dir = mkdtempSync(join(tmpdir(), 'ukern-aior-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const shared = (n: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(n));
const cb = (fd: number, buf: Uint8Array): sys.aiocb => ({ aio_fildes: fd, aio_offset: 0, aio_buf: buf, aio_nbytes: buf.length });

test('threads engine: a queued request survives more submit/cancel cycles than the ring holds', () => {
  const p = join(dir, 'f');
  writeFileSync(p, Buffer.from('0123456789abcdef'));
  const fd = openSync(p, 'r');
  const [r, w] = pipe();
  // Holds the only I/O thread (FIFO: nothing behind it runs before it ends).
  const blocker = cb(r, shared(4));
  sys.aio_read(blocker);
  const live = cb(fd, shared(16));
  sys.aio_read(live);
  for (let i = 0; i < 3 * AIO_MAX; i++) {
    const x = cb(fd, shared(16));
    sys.aio_read(x);
    assert.equal(sys.aio_cancel(fd, x), sys.AIO_CANCELED, `cycle ${i}: queued, so cancelled`);
    assert.throws(() => sys.aio_return(x), { code: 'ECANCELED' });
  }
  assert.equal(sys.kstat('aio')['aio.engine'], 2, 'the threads engine');
  writeSync(w, Buffer.from('go!!'));
  // Generous: the thread only has to pass ~50 dead ids and do two reads.
  sys.aio_suspend([blocker], { tv_sec: 10, tv_nsec: 0 });
  assert.equal(sys.aio_return(blocker), 4);
  let err: unknown = null;
  try { sys.aio_suspend([live], { tv_sec: 10, tv_nsec: 0 }); } catch (e) { err = e; }
  if (err !== null) sys.aio_cancel(fd, live); // lost in the ring: end it so the process can exit
  assert.equal(err, null, 'the live request ran');
  assert.equal(sys.aio_return(live), 16);
  assert.equal(Buffer.from(live.aio_buf).toString(), '0123456789abcdef');
  closeSync(fd); closeSync(r); closeSync(w);
});
