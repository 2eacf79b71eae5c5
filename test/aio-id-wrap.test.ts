/**
 * aio_ids after the kernel-wide generation counter passes 2^31: the counter
 * is an int32 word that only grows (one step per request made), and read
 * signed its remainder went negative, so the next requests got negative
 * aio_ids (or a generation 0): aio_error / aio_return answered EINVAL and
 * aio_suspend took them for collected, and the request, never collectable,
 * held its slot for ever (found by reading; at a million requests a second
 * that is half an hour in). The counter is set near the edges here.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from '../src/sys/index.js';
import { aiostate, W_GEN } from '../src/aio/aio.js';
import { I32 } from '../src/kern/kmem.js';

sys.boot({ aio_max: 16 });
const dir = mkdtempSync(join(tmpdir(), 'ukern-aioid-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const inuse = (name: string): number => sys.kmem_snapshot().caches.find((c) => c.cache === name)!.inUse;

test('aio_ids stay valid when the generation counter passes 2^31 and 2^32', () => {
  const p = join(dir, 'f');
  writeFileSync(p, 'hello world');
  const fd = openSync(p, 'r');
  const base = inuse('aioreq');
  let prev = 0;
  for (const start of [0x7ffffffd, -3]) { // 2^31 - 3, then 2^32 - 3 (the word reads -3)
    Atomics.store(I32, aiostate.base + W_GEN, start);
    for (let i = 0; i < 6; i++) {
      const c: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 5 };
      sys.aio_read(c);
      const id = c.aio_id!;
      assert.ok(Number.isInteger(id) && id > 0xffff, `aio_id ${id} has a generation (counter from ${start}, request ${i})`);
      assert.notEqual(id, prev, 'the slot\'s next request has another aio_id');
      prev = id;
      sys.aio_suspend([c], { tv_sec: 5, tv_nsec: 0 });
      assert.equal(sys.aio_error(c), 0, `aio_error of ${id}`);
      assert.equal(sys.aio_return(c), 5, `aio_return of ${id}`);
      assert.equal(Buffer.from(c.aio_buf.subarray(0, 5)).toString(), 'hello');
    }
  }
  assert.equal(inuse('aioreq'), base, 'every request collected');
  closeSync(fd);
});
