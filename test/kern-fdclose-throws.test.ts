/**
 * fd_close when the file type's close operation throws (none of the
 * kernel's does but after a panic; the table must not depend on it): the
 * descriptor is gone all the same, EBADF to lookups and to a second close,
 * and its entry is handed out again. Before, the entry stayed "closing"
 * for ever: the number still named its object for lookups (fd_file,
 * fd_get), a close was EBADF, and the entry was never reused. When the
 * notify hook throws (some watchers may still be on the entry's list) the
 * descriptor is gone too, but the entry is not reused. This file uses no
 * kqueue: it installs its own notify hook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import { fd_alloc, fd_close, fd_file, fd_index, fd_list, fileops_register, file_set_notify_hook } from '../src/kern/fdtab.js';
import { boot } from '../src/kern/boot.js';

boot({ maxfiles: 64 }); // a small table: an entry's reuse, or its absence, is seen within 64 allocations
const DTYPE_TEST = 78;
let closeThrows = false, hookThrows = false;
fileops_register(DTYPE_TEST, {
  name: 'test-file',
  close() { if (closeThrows) throw new Error('deliberate: the close operation failed'); },
});
file_set_notify_hook(() => { if (hookThrows) throw new Error('deliberate: the notify hook failed'); });

/** Allocates test descriptors until entry `index` is handed out again (or the table's size is exhausted): returns it or 0, closing the others. */
function reuse_of(index: number): number {
  const others: number[] = [];
  let got = 0;
  for (let i = 0; i <= 1 << 20 && got === 0; i++) {
    let f: number;
    try { f = fd_alloc(DTYPE_TEST, 0, 'test'); } catch { break; } // EMFILE: the entry never came back
    if (fd_index(f) === index) got = f; else others.push(f);
  }
  for (const f of others) fd_close(f);
  return got;
}

test('a close operation that throws still frees the descriptor and its entry', () => {
  const fd = fd_alloc(DTYPE_TEST, 0, 'test');
  closeThrows = true;
  try {
    assert.throws(() => fd_close(fd), /deliberate: the close operation failed/);
  } finally {
    closeThrows = false;
  }
  assert.equal(fd_file(fd), 0, 'the number names nothing');
  assert.ok(!fd_list().some((f) => f.fd === fd));
  assert.throws(() => fd_close(fd), (e: unknown) => (e as { code?: string }).code === 'EBADF');
  const again = reuse_of(fd_index(fd));
  assert.notEqual(again, 0, 'the entry is handed out again');
  assert.notEqual(again, fd, 'under a new generation');
  fd_close(again);
});

test('a notify hook that throws frees the descriptor, but its entry is not reused', () => {
  const fd = fd_alloc(DTYPE_TEST, 0, 'test');
  hookThrows = true;
  try {
    assert.throws(() => fd_close(fd), /deliberate: the notify hook failed/);
  } finally {
    hookThrows = false;
  }
  assert.equal(fd_file(fd), 0, 'the number names nothing');
  assert.throws(() => fd_close(fd), (e: unknown) => (e as { code?: string }).code === 'EBADF');
  assert.equal(reuse_of(fd_index(fd)), 0, 'never handed out again (watchers may still be on its list)');
});
