/**
 * EVFILT_AIO idents are aio_ids, and an aio_id comes back after 32767
 * allocations of its slot's generations (aio.ts aio_alloc). A request whose
 * kevent was not read yet when its id is reused: the new request's
 * SIGEV_KEVENT registration met the old knote (same ident, same filter, same
 * kqueue) and EV_ADD modified it instead of adding one, so the new request
 * had no knote (its completion notified nothing) and the two completions
 * were reported as one event (found by reading). Submissions that fail after
 * the allocation (a bad kqueue: EBADF) use up generations cheaply; the
 * cache's free list is LIFO, so they all take a's slot.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';

sys.boot({ aio_max: 4 });
const dir = mkdtempSync(join(tmpdir(), 'ukern-aio2k-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const shared = (n: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(n));
const TEN = { tv_sec: 10, tv_nsec: 0 };

test('SIGEV_KEVENT: a reused aio_id whose old event is unread still gets its own event', () => {
  const p = join(dir, 'f');
  writeFileSync(p, Buffer.from('0123456789abcdef'));
  const fd = openSync(p, 'r');
  const kq = sys.kqueue();
  const cb = (udata: number): sys.aiocb => ({
    aio_fildes: fd, aio_offset: 0, aio_buf: shared(16), aio_nbytes: 16,
    aio_sigevent: { sigev_notify: sys.SIGEV_KEVENT, sigev_notify_kqueue: kq, sigev_value: udata },
  });
  const a = cb(1);
  sys.aio_read(a);
  sys.aio_suspend([a], TEN);
  assert.equal(sys.aio_return(a), 16); // collected; its event is left unread
  const bad: sys.aiocb = { aio_fildes: fd, aio_offset: 0, aio_buf: shared(16), aio_nbytes: 16,
    aio_sigevent: { sigev_notify: sys.SIGEV_KEVENT, sigev_notify_kqueue: 12345 } };
  // The cache's free list is LIFO: every allocation below takes a's slot, so
  // after 32766 of them the next one has a's generation again.
  for (let i = 0; i < 32766; i++) assert.throws(() => sys.aio_read(bad), { code: 'EBADF' });
  const b = cb(2);
  sys.aio_read(b);
  // b's allocation drew a's id; with a's event unread on kq it takes another.
  assert.notEqual(b.aio_id, a.aio_id, "a's aio_id is not reused while its event is unread");
  sys.aio_suspend([b], TEN);
  assert.equal(sys.aio_return(b), 16);
  const got = sys.kevent(kq, null, 8, TEN).map((e) => ({ ident: e.ident, udata: e.udata }));
  assert.deepEqual(got, [{ ident: a.aio_id, udata: 1 }, { ident: b.aio_id, udata: 2 }], 'one event per completion');
  sys.close(kq); closeSync(fd);
});

test('SIGEV_KEVENT: an aio_id whose event was read is reused as before', () => {
  const p = join(dir, 'g');
  writeFileSync(p, Buffer.from('0123456789abcdef'));
  const fd = openSync(p, 'r');
  const kq = sys.kqueue();
  const cb = (kqfd: number): sys.aiocb => ({
    aio_fildes: fd, aio_offset: 0, aio_buf: shared(16), aio_nbytes: 16,
    aio_sigevent: { sigev_notify: sys.SIGEV_KEVENT, sigev_notify_kqueue: kqfd, sigev_value: 3 },
  });
  const a = cb(kq);
  sys.aio_read(a);
  assert.equal(sys.kevent(kq, null, 8, TEN).length, 1);
  assert.equal(sys.aio_return(a), 16);
  for (let i = 0; i < 32766; i++) assert.throws(() => sys.aio_read(cb(12345)), { code: 'EBADF' });
  const b = cb(kq);
  sys.aio_read(b);
  assert.equal(b.aio_id, a.aio_id, 'the generation came back and nothing holds the id');
  const got = sys.kevent(kq, null, 8, TEN);
  assert.deepEqual(got.map((e) => e.ident), [b.aio_id]);
  assert.equal(sys.aio_return(b), 16);
  sys.close(kq); closeSync(fd);
});
