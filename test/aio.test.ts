/**
 * POSIX AIO on real descriptors (temp files, pipes, Unix sockets): reads and
 * writes with their data checked, aio_fsync, aio_error / aio_return (once),
 * aio_suspend (+ _async), aio_cancel in each of its three answers, every
 * errno path, SIGEV_PORT (the event, a port closed before and after the
 * completion), requests moving between LWPs by aio_id, and kernel memory
 * back to its baseline. The engine is whatever the kernel chose (io_uring
 * here); aio-threads.test.ts runs this file again with UKERN_AIO_ENGINE=threads.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, readFileSync, openSync, closeSync, mkdtempSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe, socketpair, high } from './fixtures/osfd.js';
import { within } from './helpers.js';

const AIO_MAX = 64;
sys.boot({ aio_max: AIO_MAX, port_max_events: 32 });
const THREADS = process.env.UKERN_AIO_ENGINE === 'threads';
const SOON = { tv_sec: 5, tv_nsec: 0 };
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const dir = mkdtempSync(join(tmpdir(), 'ukern-aio-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pattern = (n: number, seed = 1): Buffer => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 255; return b; };
const shared = (n: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(n));
function file(name: string, data: Buffer, flags = 'r+'): number { const p = join(dir, name); writeFileSync(p, data); return openSync(p, flags); }
const cb = (fd: number, buf: Uint8Array, off = 0, n = buf.length, ev?: sys.aio_sigevent): sys.aiocb =>
  ({ aio_fildes: fd, aio_offset: off, aio_buf: buf, aio_nbytes: n, ...(ev ? { aio_sigevent: ev } : {}) });
const viaPort = (port: number, user = 0): sys.aio_sigevent => ({ sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: user } });
const inuse = (name: string): number => sys.kmem_snapshot().caches.find((c) => c.cache === name)!.inUse;
function errno(fn: () => unknown, code: string): void { assert.throws(fn, (e: Error & { code?: string }) => e.code === code, code); }
/** Waits for a request and collects it. */
function finish(c: sys.aiocb | number): number { sys.aio_suspend([c], SOON); return sys.aio_return(c); }

test('the engine is the one asked for', () => {
  const fd = file('e', pattern(16));
  const c = cb(fd, shared(16));
  sys.aio_read(c);
  finish(c);
  assert.equal(sys.kstat('aio')['aio.engine'], THREADS ? 2 : 1);
  closeSync(fd);
});

test('aio_read of a file: the bytes at the offset; aio_error 0; aio_return once, then EINVAL', () => {
  const data = pattern(1 << 16);
  const fd = file('r', data);
  const buf = shared(4096);
  const c = cb(fd, buf, 12288);
  sys.aio_read(c);
  assert.ok(typeof c.aio_id === 'number' && c.aio_id > 0, 'aio_id set');
  sys.aio_suspend([c], SOON);
  assert.equal(sys.aio_error(c), 0);
  assert.equal(sys.aio_return(c), 4096);
  assert.deepEqual(Buffer.from(buf), data.subarray(12288, 16384));
  errno(() => sys.aio_return(c), 'EINVAL');
  errno(() => sys.aio_error(c), 'EINVAL');
  errno(() => sys.aio_error(c.aio_id!), 'EINVAL');
  // A short read at the end of the file; a read past it returns 0.
  const c2 = cb(fd, buf, (1 << 16) - 100);
  sys.aio_read(c2);
  assert.equal(finish(c2), 100);
  const c3 = cb(fd, buf, 1 << 20);
  sys.aio_read(c3);
  assert.equal(finish(c3), 0);
  // nbytes smaller than the buffer, a view at an offset in its SAB.
  const big = new Uint8Array(new SharedArrayBuffer(8192), 1000, 500);
  const c4 = cb(fd, big, 7, 300);
  sys.aio_read(c4);
  assert.equal(finish(c4), 300);
  assert.deepEqual(Buffer.from(big.subarray(0, 300)), data.subarray(7, 307));
  assert.equal(big[300], 0, 'nothing past nbytes');
  closeSync(fd);
});

test('aio_write then aio_fsync (O_SYNC, O_DSYNC): the file holds the bytes', () => {
  const fd = file('w', Buffer.alloc(0));
  const data = pattern(10000, 3);
  const buf = shared(10000); buf.set(data);
  const c = cb(fd, buf, 5000);
  sys.aio_write(c);
  assert.equal(finish(c), 10000);
  for (const op of [sys.O_SYNC, sys.O_DSYNC]) {
    const s = cb(fd, buf);
    sys.aio_fsync(op, s);
    assert.equal(finish(s), 0);
  }
  const back = readFileSync(join(dir, 'w'));
  assert.equal(back.length, 15000);
  assert.deepEqual(back.subarray(5000), data);
  errno(() => sys.aio_fsync(12345, cb(fd, buf)), 'EINVAL');
  closeSync(fd);
});

test('aio_fsync completes after the writes queued before it on that descriptor (POSIX: it syncs what was queued at the call)', () => {
  // A big write and the fsync right behind it: without a barrier the fsync
  // runs beside the write (another I/O thread, or an io-wq worker) and ends
  // first. The port's events come in completion order.
  const fd = file('order', Buffer.alloc(0));
  const port = sys.port_create();
  const big = shared(24 << 20); big.fill(7);
  for (let round = 0; round < 3; round++) {
    const w = cb(fd, big, 0, big.length, viaPort(port, 1));
    const f = cb(fd, big, 0, 0, viaPort(port, 2));
    sys.aio_write(w);
    sys.aio_fsync(sys.O_SYNC, f);
    const evs = [...sys.port_getn(port, 2, 2, { tv_sec: 30, tv_nsec: 0 })];
    assert.deepEqual(evs.map((e) => e.portev_user), [1, 2], `round ${round}: the fsync completed before the write queued ahead of it`);
    assert.equal(sys.aio_return(w), big.length);
    assert.equal(sys.aio_return(f), 0);
  }
  sys.close(port);
  closeSync(fd);
});

test('aio_fsync waits only for its own descriptor\'s earlier I/O: a read of a pipe nobody writes, pending before it, does not hold it; a held fsync is cancelled as a queued request', () => {
  // io_uring's IOSQE_IO_DRAIN would hold the fsync until every request
  // submitted before it in the ring ended, the pending pipe read included.
  const base = inuse('aioreq');
  const [r, w] = pipe();
  const fd = file('drain', Buffer.alloc(0));
  const port = sys.port_create();
  const pending = cb(r, shared(16));
  sys.aio_read(pending);
  assert.equal(sys.aio_error(pending), constants_errno.EINPROGRESS, 'the pipe read is pending');
  const big = shared(8 << 20); big.fill(3);
  for (let round = 0; round < 3; round++) {
    const wr = cb(fd, big, 0, big.length, viaPort(port, 1));
    const f = cb(fd, big, 0, 0, viaPort(port, 2));
    sys.aio_write(wr);
    sys.aio_fsync(round === 1 ? sys.O_DSYNC : sys.O_SYNC, f);
    const evs = [...sys.port_getn(port, 2, 2, { tv_sec: 30, tv_nsec: 0 })];
    assert.deepEqual(evs.map((e) => e.portev_user), [1, 2], `round ${round}: the write, then the fsync, with the pipe read still pending`);
    assert.equal(sys.aio_return(wr), big.length);
    assert.equal(sys.aio_return(f), 0);
  }
  // A held fsync (behind a write still in flight) cancelled by close(fd) through the kernel: ECANCELED or done, never left.
  const wr = cb(fd, big, 0, big.length), f = cb(fd, big, 0, 0);
  sys.aio_write(wr);
  sys.aio_fsync(sys.O_SYNC, f);
  sys.aio_cancel(fd, f);
  sys.aio_suspend([f], SOON);
  const e = sys.aio_error(f);
  assert.ok(e === 0 || e === constants_errno.ECANCELED, `the fsync ended (${e})`);
  try { sys.aio_return(f); } catch (x) { assert.equal((x as { code?: string }).code, 'ECANCELED'); }
  finish(wr);
  assert.equal(sys.aio_error(pending), constants_errno.EINPROGRESS, 'the pipe read is still pending');
  writeSync(w, 'x');
  assert.equal(finish(pending), 1);
  assert.equal(sys.kstat('aio')['aio.deferred'] ?? 0, 0, 'no fsync held');
  assert.equal(inuse('aioreq'), base, 'every request collected');
  sys.close(port); closeSync(fd); closeSync(r); closeSync(w);
});

test('errno paths at submission: EBADF, EINVAL, TypeError; nothing left in the kernel', () => {
  const base = inuse('aioreq');
  const fd = file('x', pattern(100));
  const buf = shared(64);
  const [r, w] = pipe();
  closeSync(w);
  errno(() => sys.aio_read(cb(-1, buf)), 'EBADF');
  errno(() => sys.aio_read(cb(r + 1000, buf)), 'EBADF');
  const closed = high(file('y', pattern(1))); closeSync(closed); // a number nobody else takes
  errno(() => sys.aio_read(cb(closed, buf)), 'EBADF');
  errno(() => sys.aio_read(cb(fd, buf, -1)), 'EINVAL');
  errno(() => sys.aio_read(cb(fd, buf, 0.5)), 'EINVAL');
  errno(() => sys.aio_read(cb(fd, buf, 0, 65)), 'EINVAL');
  errno(() => sys.aio_read(cb(fd, buf, 0, -1)), 'EINVAL');
  errno(() => sys.aio_read(cb(fd, new Uint8Array(64))), 'EINVAL');
  errno(() => sys.aio_write({ ...cb(fd, buf), aio_reqprio: 99 }), 'EINVAL');
  errno(() => sys.aio_read(cb(fd, buf, 0, 64, { sigev_notify: 99 })), 'EINVAL');
  errno(() => sys.aio_read(cb(fd, buf, 0, 64, viaPort(-5))), 'EBADF');
  for (const bad of [null, 5, 'x']) assert.throws(() => sys.aio_read(bad as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => sys.aio_read(cb(fd, Buffer.alloc(4) as never)), (e: Error & { code?: string }) => e.code === 'EINVAL' || e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => sys.aio_read({ ...cb(fd, buf), aio_buf: new Uint16Array(new SharedArrayBuffer(8)) as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => sys.aio_read({ ...cb(fd, buf), aio_offset: '0' as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => sys.aio_error('x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  errno(() => sys.aio_error({} as never), 'EINVAL');
  errno(() => sys.aio_error(123456789), 'EINVAL');
  // Each field is read once, by the kernel's copy.
  let reads = 0;
  const tricky = { aio_fildes: fd, aio_buf: buf, aio_nbytes: 64, get aio_offset() { reads++; return reads === 1 ? 0 : -1; } };
  sys.aio_read(tricky as never);
  assert.equal(reads, 1);
  assert.equal(finish((tricky as sys.aiocb).aio_id!), 64);
  assert.equal(inuse('aioreq'), base);
  closeSync(fd); closeSync(r);
});

test('EAGAIN at aio_max (nothing queued by the failed call); a port at its event limit: EAGAIN', () => {
  const [r, w] = pipe();
  const buf = shared(8);
  const base = inuse('aioreq');
  const cbs: sys.aiocb[] = [];
  for (let i = base; i < AIO_MAX; i++) { const c = cb(r, buf); sys.aio_read(c); cbs.push(c); }
  errno(() => sys.aio_read(cb(r, buf)), 'EAGAIN');
  assert.equal(inuse('aioreq'), AIO_MAX);
  assert.equal(sys.aio_cancel(r, null), sys.AIO_CANCELED);
  for (const c of cbs) { assert.equal(sys.aio_error(c), constants_errno.ECANCELED); errno(() => sys.aio_return(c), 'ECANCELED'); }
  assert.equal(inuse('aioreq'), base);
  // SIGEV_PORT reserves its event at submission: past the port's limit, EAGAIN then (never a lost event later).
  const port = sys.port_create();
  const pcbs: sys.aiocb[] = [];
  for (let i = 0; i < 32; i++) { const c = cb(r, buf, 0, 8, viaPort(port, i)); sys.aio_read(c); pcbs.push(c); }
  errno(() => sys.aio_read(cb(r, buf, 0, 8, viaPort(port))), 'EAGAIN');
  assert.equal(inuse('aioreq'), base + 32, 'the refused request left nothing');
  writeSync(w, Buffer.alloc(32 * 8, 1));
  const evs = sys.port_getn(port, 64, 32, SOON);
  assert.equal(evs.length, 32, 'every reserved event delivered');
  for (const c of pcbs) assert.equal(sys.aio_return(c), 8);
  sys.close(port);
  closeSync(r); closeSync(w);
});
import { constants } from 'node:os';
const constants_errno = constants.errno;

test('a pending pipe read: EINPROGRESS; aio_return EINPROGRESS (and stays); completes when written', async () => {
  const [r, w] = pipe();
  const buf = shared(16);
  const c = cb(r, buf);
  sys.aio_read(c);
  assert.equal(sys.aio_error(c), constants_errno.EINPROGRESS);
  errno(() => sys.aio_return(c), 'EINPROGRESS');
  errno(() => sys.aio_suspend([c], ZERO), 'EAGAIN');
  errno(() => sys.aio_suspend([c], { tv_sec: 0, tv_nsec: 20e6 }), 'EAGAIN');
  const p = sys.aio_suspend_async([null, c], SOON);
  writeSync(w, 'hello');
  await within(p, 6000, 'aio_suspend_async');
  assert.equal(sys.aio_return(c), 5);
  assert.equal(Buffer.from(buf.subarray(0, 5)).toString(), 'hello');
  closeSync(r); closeSync(w);
});

test('a pipe read nobody waits for completes when written, and notifies (the host completes it later: io_uring posts it from the submitter\'s task work)', async () => {
  const [r, w] = pipe();
  const buf = shared(8);
  let value = 0;
  const done = new Promise<void>((res) => {
    sys.aio_read(cb(r, buf, 0, 8, { sigev_notify: sys.SIGEV_THREAD, sigev_value: 7, sigev_notify_function: (v) => { value = v; res(); } }));
  });
  setTimeout(() => writeSync(w, 'abc'), 50);
  await within(done, 6000, 'the notification of a pipe read nobody waits for');
  assert.equal(value, 7);
  assert.equal(Buffer.from(buf.subarray(0, 3)).toString(), 'abc');
  closeSync(r); closeSync(w);
});

test('aio_suspend_async is aborted by its AbortSignal; an empty wait times out with EAGAIN', async () => {
  const [r, w] = pipe();
  const c = cb(r, shared(4));
  sys.aio_read(c);
  const ac = new AbortController();
  const p = sys.aio_suspend_async([c], SOON, { signal: ac.signal });
  setTimeout(() => ac.abort(), 10);
  await assert.rejects(within(p, 6000, 'abort'), { name: 'AbortError' });
  await assert.rejects(sys.aio_suspend_async([c], { tv_sec: 0, tv_nsec: 1e6 }), { code: 'EAGAIN' });
  assert.equal(sys.aio_cancel(r, c), sys.AIO_CANCELED);
  errno(() => sys.aio_return(c), 'ECANCELED');
  closeSync(r); closeSync(w);
});

test('aio_cancel: a waiting pipe read is cancelled (ECANCELED, notified); done: AIO_ALLDONE; EBADF; EINVAL', () => {
  const [r, w] = pipe();
  const port = sys.port_create();
  const c = cb(r, shared(4), 0, 4, viaPort(port, 9));
  sys.aio_read(c);
  assert.equal(sys.aio_cancel(r, c), sys.AIO_CANCELED);
  assert.equal(sys.aio_error(c), constants_errno.ECANCELED);
  const ev = sys.port_get(port, SOON);
  assert.deepEqual(ev, { portev_events: 0, portev_source: sys.PORT_SOURCE_AIO, portev_object: c.aio_id, portev_user: 9 });
  assert.equal(sys.aio_cancel(r, c), sys.AIO_ALLDONE);
  errno(() => sys.aio_return(c), 'ECANCELED');
  const fd = file('c', pattern(64));
  const d = cb(fd, shared(64));
  sys.aio_read(d);
  sys.aio_suspend([d], SOON);
  assert.equal(sys.aio_cancel(fd, d), sys.AIO_ALLDONE);
  assert.equal(sys.aio_cancel(fd, null), sys.AIO_ALLDONE);
  errno(() => sys.aio_cancel(r, d), 'EINVAL');
  assert.equal(sys.aio_return(d), 64);
  errno(() => sys.aio_cancel(-1, null), 'EBADF');
  const closed = high(file('z', pattern(1))); closeSync(closed); // a number nobody else takes
  errno(() => sys.aio_cancel(closed, null), 'EBADF');
  assert.equal(sys.aio_cancel(r, null), sys.AIO_ALLDONE, 'nothing of fd left');
  sys.close(port);
  closeSync(fd); closeSync(r); closeSync(w);
});

test('SIGEV_PORT: one PORT_SOURCE_AIO event per request; a closed port gives the slot back', () => {
  const fd = file('p', pattern(4096));
  const port = sys.port_create();
  const cbs = [0, 1, 2, 3].map((i) => cb(fd, shared(1024), i * 1024, 1024, viaPort(port, 100 + i)));
  for (const c of cbs) sys.aio_read(c);
  const evs = sys.port_getn(port, 8, 4, SOON);
  assert.equal(evs.length, 4);
  assert.deepEqual(evs.map((e) => e.portev_object).sort(), cbs.map((c) => c.aio_id).sort());
  for (const e of evs) {
    const i = cbs.findIndex((c) => c.aio_id === e.portev_object);
    assert.equal(e.portev_user, 100 + i);
    assert.equal(sys.aio_return(e.portev_object), 1024);
  }
  assert.deepEqual(sys.port_getn(port, 8, 0, ZERO), Object.assign([], { nget: 0 }));
  // Closed before the completion: the request completes, no event, nothing leaks.
  const [r, w] = pipe();
  const base = inuse('aioreq');
  const c = cb(r, shared(4), 0, 4, viaPort(port));
  sys.aio_read(c);
  sys.close(port);
  writeSync(w, 'abcd');
  assert.equal(finish(c), 4);
  // Closed after the completion, before anyone took the event.
  const port2 = sys.port_create();
  const c2 = cb(fd, shared(8), 0, 8, viaPort(port2));
  sys.aio_read(c2);
  assert.equal(finish(c2), 8);
  sys.close(port2);
  assert.equal(inuse('aioreq'), base);
  errno(() => sys.aio_read(cb(fd, shared(8), 0, 8, viaPort(port2))), 'EBADF');
  assert.equal(inuse('aioreq'), base);
  closeSync(fd); closeSync(r); closeSync(w);
});

test('pipes and sockets: aio_write into one end, aio_read from the other', () => {
  for (const [a, b] of [pipe(), socketpair()]) {
    const out = shared(3000); out.set(pattern(3000, 5));
    const wc = cb(b, out);
    sys.aio_write(wc);
    assert.equal(finish(wc), 3000);
    const inb = shared(3000);
    let got = 0;
    while (got < 3000) {
      const rc = cb(a, inb.subarray(got), 0);
      sys.aio_read(rc);
      got += finish(rc);
    }
    assert.deepEqual(Buffer.from(inb), pattern(3000, 5));
    closeSync(a); closeSync(b);
  }
});

test('a request submitted in one LWP is waited for and collected in another by aio_id', async () => {
  const fd = file('l', pattern(8192, 9));
  const sab = new SharedArrayBuffer(4096), res = new SharedArrayBuffer(8);
  const fixtures = new URL('./fixtures/aio-lwp.js', import.meta.url);
  const port = sys.port_create();
  const a = sys.lwp_create({ module: fixtures, export: 'submitRead', arg: { fd, off: 4096, len: 4096, sab, res, port } });
  await within(sys.lwp_wait_async(a), 10000, 'submitter');
  const id = new Int32Array(res)[0]!;
  const ev = sys.port_get(port, SOON);
  assert.equal(ev.portev_object, id);
  const b = sys.lwp_create({ module: fixtures, export: 'collect', arg: { res } });
  await within(sys.lwp_wait_async(b), 10000, 'collector');
  assert.equal(new Int32Array(res)[1], 4096);
  assert.deepEqual(Buffer.from(new Uint8Array(sab)), pattern(8192, 9).subarray(4096));
  errno(() => sys.aio_error(id), 'EINVAL');
  sys.close(port);
  closeSync(fd);
});

test('kstat counters balance; nothing in flight at the end', () => {
  const k = sys.kstat('aio');
  assert.equal(k['aio.in_flight'], 0);
  assert.equal(k['aio.submitted'], k['aio.completed']! + k['aio.cancelled']! + k['aio.failed']!);
  assert.ok(k['aio.service_time_us']! >= 0 && k['aio.queue_time_us']! >= 0);
});

test('an LWP that exits with a request in flight on its buffer: io_uring stops it (ECANCELED); threads keep it', async () => {
  const [r, w] = pipe();
  const res = new SharedArrayBuffer(8);
  const fixtures = new URL('./fixtures/aio-lwp.js', import.meta.url);
  const port = sys.port_create();
  const a = sys.lwp_create({ module: fixtures, export: 'submitRead', arg: { fd: r, off: 0, len: 4, sab: new SharedArrayBuffer(4), res, port } });
  await within(sys.lwp_wait_async(a), 10000, 'submitter');
  const id = new Int32Array(res)[0]!;
  if (THREADS) {
    assert.equal(sys.aio_error(id), constants_errno.EINPROGRESS, 'the I/O thread holds the buffer: the request goes on');
    assert.equal(sys.aio_cancel(r, id), sys.AIO_CANCELED);
  }
  assert.equal(sys.port_get(port, SOON).portev_object, id);
  assert.equal(sys.aio_error(id), constants_errno.ECANCELED);
  errno(() => sys.aio_return(id), 'ECANCELED');
  sys.close(port);
  closeSync(r); closeSync(w);
});

test('aio_suspend in an LWP is interrupted (EINTR) by lwp_wakeup; the request goes on', async () => {
  const [r, w] = pipe();
  const c = cb(r, shared(4));
  sys.aio_read(c);
  const res = new SharedArrayBuffer(12);
  const v = new Int32Array(res);
  v[0] = c.aio_id!;
  const lid = sys.lwp_create({ module: new URL('./fixtures/aio-lwp.js', import.meta.url), export: 'suspendOn', arg: { res } });
  const end = Date.now() + 10_000;
  // Wake it until its sleep is interrupted (a wakeup before it sleeps is lost, as lwp_wakeup's is).
  while (Atomics.load(v, 1) === 0 && Date.now() < end) {
    if (Atomics.load(v, 2) === 1) { try { sys.lwp_wakeup(lid); } catch { /* not asleep yet */ } }
    await new Promise((res2) => setTimeout(res2, 20));
  }
  await within(sys.lwp_wait_async(lid), 10_000, 'suspender');
  assert.equal(v[1], 1, 'EINTR');
  assert.equal(sys.aio_error(c), constants_errno.EINPROGRESS);
  writeSync(w, 'abcd');
  assert.equal(finish(c), 4);
  closeSync(r); closeSync(w);
});

test('aio_cancel racing big reads: each answer agrees with how the request ended', () => {
  const size = 8 << 20;
  const fd = file('big', Buffer.alloc(size, 9));
  const buf = shared(size);
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const c = cb(fd, buf);
    sys.aio_read(c);
    const v = sys.aio_cancel(fd, c);
    seen.add(v);
    sys.aio_suspend([c], SOON);
    if (v === sys.AIO_CANCELED) errno(() => sys.aio_return(c), 'ECANCELED');
    else assert.equal(sys.aio_return(c), size, `answer ${v}: the read completed`);
  }
  assert.ok([...seen].every((v) => v === sys.AIO_CANCELED || v === sys.AIO_NOTCANCELED || v === sys.AIO_ALLDONE));
  closeSync(fd);
});
