/**
 * fd_file reads an entry's generation and type without a lock, so its
 * answer can be stale by the time the caller uses it: its callers must
 * check again under a lock. EVFILT_READ's attach on a kernel descriptor
 * looks the number up (fd_file), then puts the knote on the entry's watch
 * list (knote_watch), which checks under the entry's lock that the entry is
 * not closing and has a type, but not that it still holds the descriptor
 * the knote names. If that descriptor is closed and its entry handed to a
 * new one in between, the knote watches the new descriptor under the old
 * number: it reports the new descriptor's readiness as the old one's, and
 * nothing drops it when the old one is gone.
 *
 * The window is placed deterministically: the test's own file type has a
 * `readable` getter, which attach reads between the lookup and
 * knote_watch; the getter closes the descriptor and allocates until the
 * same entry comes back (what two other LWPs could do at that moment).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { fd_alloc, fd_close, fd_index, fd_file, fileops_register, file_notify, FF } from '../src/kern/fdtab.js';

const DTYPE_TEST = 77;
let inWindow: (() => void) | undefined;
let level = 0;
fileops_register(DTYPE_TEST, {
  name: 'test-file',
  close() { /* nothing to release */ },
  get readable() {
    const f = inWindow;
    inWindow = undefined;
    f?.();
    return () => level;
  },
});

test('EVFILT_READ on a descriptor closed and reused between its lookup and its watch does not watch the new descriptor', () => {
  const kq = sys.kqueue();
  const x = fd_alloc(DTYPE_TEST, 0, 'test');
  const fillers: number[] = [];
  let y = 0;
  inWindow = () => {
    fd_close(x);
    // Every entry never used comes first, then the free list in close order: x's entry comes back within the table's size.
    for (let i = 0; i <= 1 << 20 && y === 0; i++) {
      const f = fd_alloc(DTYPE_TEST, 0, 'test');
      if (fd_index(f) === fd_index(x)) y = f; else fillers.push(f);
    }
  };
  let err = '';
  try {
    const out = sys.kevent(kq, [sys.EV_SET(x, sys.EVFILT_READ, sys.EV_ADD | sys.EV_RECEIPT, 0, 0, 0)], 1, { tv_sec: 0, tv_nsec: 0 });
    const e = out[0];
    if (e !== undefined && (e.flags & sys.EV_ERROR) !== 0 && e.data !== 0) err = `errno ${e.data}`;
  } catch (e) { err = (e as { code?: string }).code ?? String(e); }
  for (const f of fillers) fd_close(f);
  assert.ok(inWindow === undefined && y !== 0, 'the window ran and x\'s entry was handed out again');
  const file = fd_file(y);
  assert.notEqual(file, 0);
  // The new descriptor becomes readable: a knote for x must not report it.
  level = 1;
  file_notify(file, y);
  const evs = sys.kevent(kq, null, 8, { tv_sec: 0, tv_nsec: 0 });
  assert.deepEqual(evs.filter((e) => e.ident === x).map((e) => [e.ident, e.filter]), [], `a knote for the closed fd ${x} reports fd ${y} (registration: ${err || 'accepted'})`);
  assert.equal(I32[file + FF.watch], 0, 'nothing watches the new descriptor');
  assert.match(err, /EBADF|errno 9/, 'the registration saw the descriptor closed');
  fd_close(y);
  sys.close(kq);
});
