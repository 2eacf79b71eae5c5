/**
 * The notification kinds of aio requests and of lio_listio lists, beside
 * SIGEV_PORT (aio.test.ts): SIGEV_KEVENT / EVFILT_AIO (ident = aio_id, udata
 * = sigev_value, once), SIGEV_SIGNAL (SI_ASYNCIO, si_value), SIGEV_THREAD
 * (the function on the submitter's loop, once), SIGEV_NONE; lio_listio's
 * modes and errno paths, its own sigevent when the whole list is done, and
 * 1024 requests across 4 descriptors with every completion delivered exactly
 * once, the data checked and kernel memory back at its baseline.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { within } from './helpers.js';

sys.boot({ aio_max: 2048 });
const SOON = { tv_sec: 5, tv_nsec: 0 };
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const dir = mkdtempSync(join(tmpdir(), 'ukern-aion-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pattern = (n: number, seed = 1): Buffer => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 13 + seed * 101 + (i >> 9)) & 255; return b; };
const shared = (n: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(n));
function file(name: string, data: Buffer): number { const p = join(dir, name); writeFileSync(p, data); return openSync(p, 'r+'); }
const cb = (fd: number, buf: Uint8Array, off = 0, n = buf.length, ev?: sys.aio_sigevent, op?: number): sys.aiocb =>
  ({ aio_fildes: fd, aio_offset: off, aio_buf: buf, aio_nbytes: n, ...(ev ? { aio_sigevent: ev } : {}), ...(op !== undefined ? { aio_lio_opcode: op } : {}) });
const inuse = (name: string): number => sys.kmem_snapshot().caches.find((c) => c.cache === name)!.inUse;
function errno(fn: () => unknown, code: string): void { assert.throws(fn, (e: Error & { code?: string }) => e.code === code, code); }

test('SIGEV_KEVENT: one EVFILT_AIO event, ident = aio_id, udata = sigev_value; a user EV_ADD is EINVAL', () => {
  const fd = file('k', pattern(4096));
  const kq = sys.kqueue();
  const ev = { sigev_notify: sys.SIGEV_KEVENT, sigev_notify_kqueue: kq, sigev_value: 77 };
  const c = cb(fd, shared(4096), 0, 4096, ev);
  sys.aio_read(c);
  const got = sys.kevent(kq, null, 4, SOON);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.ident, c.aio_id);
  assert.equal(got[0]!.filter, sys.EVFILT_AIO);
  assert.equal(got[0]!.udata, 77);
  assert.deepEqual(sys.kevent(kq, null, 4, ZERO), [], 'reported once');
  assert.equal(sys.aio_return(c), 4096);
  const add = sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_AIO, sys.EV_ADD, 0, 0, 0)], 1, ZERO);
  assert.equal(add[0]!.flags & sys.EV_ERROR, sys.EV_ERROR);
  errno(() => sys.aio_read(cb(fd, shared(8), 0, 8, { sigev_notify: sys.SIGEV_KEVENT, sigev_notify_kqueue: 12345 })), 'EBADF');
  // A kqueue closed before the completion: the request completes, no knote left.
  const [r, w] = pipe();
  const kq2 = sys.kqueue();
  const base = inuse('knote');
  const c2 = cb(r, shared(4), 0, 4, { sigev_notify: sys.SIGEV_KEVENT, sigev_notify_kqueue: kq2 });
  sys.aio_read(c2);
  assert.equal(inuse('knote'), base + 1);
  sys.close(kq2);
  assert.equal(inuse('knote'), base);
  assert.equal(sys.aio_cancel(r, c2), sys.AIO_CANCELED);
  errno(() => sys.aio_return(c2), 'ECANCELED');
  sys.close(kq); closeSync(fd); closeSync(r); closeSync(w);
});

test('SIGEV_SIGNAL: the signal with SI_ASYNCIO and sigev_value, one per completion (real-time)', () => {
  const fd = file('s', pattern(1024));
  const sig = sys.SIGRTMIN + 3;
  const set = sys.sigemptyset(); sys.sigaddset(set, sig);
  sys.sigprocmask(sys.SIG_BLOCK, set);
  const cbs = [1, 2, 3].map((v) => cb(fd, shared(100), v * 100, 100, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: sig, sigev_value: v }));
  for (const c of cbs) sys.aio_read(c);
  const vals: number[] = [];
  for (let i = 0; i < 3; i++) {
    const info = sys.sigtimedwait(set, SOON);
    assert.equal(info.si_signo, sig);
    assert.equal(info.si_code, sys.SI_ASYNCIO);
    vals.push(info.si_value);
  }
  assert.deepEqual(vals.sort(), [1, 2, 3]);
  errno(() => sys.sigtimedwait(set, ZERO), 'EAGAIN');
  for (const c of cbs) assert.equal(sys.aio_return(c), 100);
  errno(() => sys.aio_read(cb(fd, shared(8), 0, 8, { sigev_notify: sys.SIGEV_SIGNAL, sigev_signo: 0 })), 'EINVAL');
  sys.sigprocmask(sys.SIG_UNBLOCK, set);
  closeSync(fd);
});

test('SIGEV_THREAD: the function runs once on this thread, with sigev_value, after the completion', async () => {
  const fd = file('t', pattern(2048));
  const seen: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((res) => { done = res; });
  const fn = (v: number): void => { seen.push(v); if (seen.length === 2) done(); };
  const c1 = cb(fd, shared(10), 0, 10, { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: fn, sigev_value: 5 });
  const c2 = cb(fd, shared(10), 10, 10, { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: fn, sigev_value: 6 });
  sys.aio_read(c1); sys.aio_read(c2);
  assert.equal(sys.aio_return((sys.aio_suspend([c1], SOON), c1)), 10, 'collected before the call: it still runs');
  await within(all, 5000, 'SIGEV_THREAD calls');
  assert.deepEqual(seen.sort(), [5, 6]);
  assert.equal(sys.aio_return(c2), 10);
  // A second call of either would come at this thread's next delivery round,
  // which only a post starts (a wait of some ms saw nothing, since no round
  // ran in it): a third request's completion makes one.
  const third = new Promise<void>((res) => { done = res; });
  const c3 = cb(fd, shared(10), 20, 10, { sigev_notify: sys.SIGEV_THREAD, sigev_notify_function: (v: number) => { seen.push(v); done(); }, sigev_value: 7 });
  sys.aio_read(c3);
  await within(third, 5000, 'the third request\'s function');
  assert.deepEqual(seen.sort(), [5, 6, 7], 'each function once');
  assert.equal(sys.aio_return(c3), 10);
  assert.throws(() => sys.aio_read(cb(fd, shared(8), 0, 8, { sigev_notify: sys.SIGEV_THREAD } as never)), { code: 'ERR_INVALID_ARG_TYPE' });
  closeSync(fd);
});

test('lio_listio: errno paths (mode, opcode, EBADF, list too long); nothing queued by a failed call', () => {
  const fd = file('e', pattern(64));
  const base = inuse('aioreq');
  const b = shared(8);
  errno(() => sys.lio_listio(7, [], null), 'EINVAL');
  errno(() => sys.lio_listio(sys.LIO_WAIT, [cb(fd, b, 0, 8, undefined, 9)], null), 'EINVAL');
  errno(() => sys.lio_listio(sys.LIO_WAIT, [cb(fd, b, 0, 8, undefined, sys.LIO_READ), cb(-1, b, 0, 8, undefined, sys.LIO_READ)], null), 'EBADF');
  errno(() => sys.lio_listio(sys.LIO_NOWAIT, new Array(sys.AIO_LISTIO_MAX + 1).fill(null), null), 'EINVAL');
  errno(() => sys.lio_listio(sys.LIO_NOWAIT, [cb(fd, b, 0, 8, undefined, sys.LIO_READ)], { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: -3, portnfy_user: 0 } }), 'EBADF');
  assert.equal(inuse('aioreq'), base);
  // LIO_NOP entries and nulls are skipped; an empty list is done at once.
  sys.lio_listio(sys.LIO_WAIT, [null, cb(fd, b, 0, 8, undefined, sys.LIO_NOP)], null);
  // A failed member: LIO_WAIT is EIO, aio_error says which.
  const bad = cb(fd, b, 0, 8, undefined, sys.LIO_WRITE);
  const ro = openSync(join(dir, 'e'), 'r');
  const bad2 = cb(ro, b, 0, 8, undefined, sys.LIO_WRITE);
  errno(() => sys.lio_listio(sys.LIO_WAIT, [bad, bad2], null), 'EIO');
  assert.equal(sys.aio_return(bad), 8);
  assert.equal(sys.aio_error(bad2), 9 /* EBADF */);
  errno(() => sys.aio_return(bad2), 'EBADF');
  assert.equal(inuse('aioreq'), base);
  closeSync(fd); closeSync(ro);
});

test('lio_listio LIO_NOWAIT: its own port event when the whole list is done, after every member', async () => {
  const fd = file('n', pattern(8192, 4));
  const port = sys.port_create();
  const bufs = [0, 1, 2, 3].map(() => shared(2048));
  const list = bufs.map((b, i) => cb(fd, b, i * 2048, 2048, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: i } }, sys.LIO_READ));
  sys.lio_listio(sys.LIO_NOWAIT, list, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 999 } });
  const evs = sys.port_getn(port, 8, 5, SOON);
  assert.equal(evs.length, 5);
  assert.equal(evs[4]!.portev_user, 999, 'the list event comes last');
  assert.deepEqual(evs.slice(0, 4).map((e) => e.portev_user).sort(), [0, 1, 2, 3]);
  for (const c of list) assert.equal(sys.aio_return(c), 2048);
  assert.deepEqual(Buffer.concat(bufs.map((b) => Buffer.from(b))), pattern(8192, 4));
  // lio_listio_async with LIO_WAIT settles when the list is done.
  const l2 = [cb(fd, shared(100), 0, 100, undefined, sys.LIO_READ)];
  await within(sys.lio_listio_async(sys.LIO_WAIT, l2, null), 5000, 'lio_listio_async');
  assert.equal(sys.aio_error(l2[0]!), 0);
  assert.equal(sys.aio_return(l2[0]!), 100);
  sys.close(port);
  closeSync(fd);
});

test('lio_listio of 1024 requests across 4 descriptors: each completion once, data checked, memory back to baseline', () => {
  const N = 1024, BS = 4096;
  const data = [0, 1, 2, 3].map((i) => pattern(N / 4 * BS, 10 + i));
  const fds = data.map((d, i) => file(`big${i}`, d));
  const port = sys.port_create();
  const base = { req: inuse('aioreq'), kev: inuse('port_kevent') };
  const sab = new SharedArrayBuffer(N * BS);
  const list: sys.aiocb[] = [];
  for (let i = 0; i < N; i++) {
    const f = i % 4, blk = (i * 7) % (N / 4);
    list.push(cb(fds[f]!, new Uint8Array(sab, i * BS, BS), blk * BS, BS, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: i } }, sys.LIO_READ));
  }
  sys.lio_listio(sys.LIO_WAIT, list, null);
  const seen = new Uint8Array(N);
  let got = 0;
  while (got < N) {
    const evs = sys.port_getn(port, 256, 1, SOON);
    assert.ok(evs.length > 0, 'events within the deadline');
    for (const e of evs) { assert.equal(e.portev_source, sys.PORT_SOURCE_AIO); seen[e.portev_user]!++; got++; }
  }
  assert.deepEqual(sys.port_getn(port, 8, 0, ZERO).nget, 0, 'nothing more');
  assert.ok(seen.every((n) => n === 1), 'each completion delivered once');
  for (let i = 0; i < N; i++) {
    const c = list[i]!, f = i % 4, blk = (i * 7) % (N / 4);
    assert.equal(sys.aio_error(c), 0);
    assert.equal(sys.aio_return(c), BS);
    assert.ok(Buffer.from(c.aio_buf).equals(data[f]!.subarray(blk * BS, (blk + 1) * BS)), `data of request ${i}`);
  }
  assert.equal(inuse('aioreq'), base.req);
  sys.close(port);
  assert.equal(inuse('port_kevent'), base.kev, 'port event slots back (after the close: a port caches its freed slots)');
  for (const fd of fds) closeSync(fd);
  const k = sys.kstat('aio');
  assert.equal(k['aio.in_flight'], 0);
});
