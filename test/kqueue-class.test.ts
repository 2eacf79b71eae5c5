/**
 * The idiomatic layer (KQueue) and the async form of kevent: waits that
 * never block the event loop, AbortSignal, the async iterator, dispose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { KQueue } from '../src/ukern/kqueue.js';
import { kstat } from '../src/sys/index.js';
import { within } from './helpers.js';

const { EVFILT_USER, EVFILT_TIMER, EV_CLEAR, EV_ONESHOT, EV_ADD, NOTE_FFCOPY } = sys;
const code = (c: string) => (e: unknown) => e instanceof sys.SysError && e.code === c;

test('KQueue: register / trigger / waitSync / modify / delete; errors are SysErrors', () => {
  using kq = new KQueue();
  kq.register(1, EVFILT_USER, { flags: EV_CLEAR, udata: 2.5 });
  assert.deepEqual(kq.waitSync({ timeout: 0 }), []);
  kq.trigger(1, NOTE_FFCOPY | 0x7, 11);
  assert.deepEqual(kq.waitSync({ timeout: 0 }), [{ ident: 1, filter: EVFILT_USER, flags: EV_ADD | EV_CLEAR, fflags: 7, data: 11, udata: 2.5 }]);
  kq.disable(1, EVFILT_USER);
  kq.trigger(1);
  assert.deepEqual(kq.waitSync({ timeout: 0 }), []);
  kq.enable(1, EVFILT_USER);
  assert.equal(kq.waitSync({ timeout: 0 }).length, 1);
  kq.delete(1, EVFILT_USER);
  assert.throws(() => kq.delete(1, EVFILT_USER), code('ENOENT'));
  assert.throws(() => kq.modify(1, EVFILT_USER, { flags: sys.EV_ENABLE }), code('ENOENT'));
  assert.throws(() => kq.register(1, 5), code('EINVAL'));
  assert.deepEqual(kq.apply([sys.EV_SET(5, EVFILT_USER, EV_ADD, 0, 0, 0), sys.EV_SET(6, EVFILT_USER, sys.EV_DELETE, 0, 0, 0)]), [null, 'ENOENT']);
  assert.throws(() => kq.waitSync({ timeout: -1 }), RangeError);
});

test('KQueue: Symbol.dispose closes; close is idempotent; a closed kqueue is EBADF', () => {
  let fd = 0;
  {
    using kq = new KQueue();
    fd = kq.fd;
  }
  assert.throws(() => sys.kevent(fd, null, 1, { tv_sec: 0, tv_nsec: 0 }), code('EBADF'));
  const kq = new KQueue();
  kq.close(); kq.close();
});

test('KQueue.wait: does not block the event loop; resolves on a trigger from a timer callback', async () => {
  using kq = new KQueue();
  kq.register(1, EVFILT_USER, { flags: EV_CLEAR });
  let ticks = 0;
  const iv = setInterval(() => ticks++, 1);
  setTimeout(() => kq.trigger(1), 20);
  const r = await within(kq.wait(), 10000, 'wait');
  clearInterval(iv);
  assert.equal(r[0]!.ident, 1);
  assert.ok(ticks > 0);
});

test('KQueue.wait: a timeout expires with [] (not an error)', async () => {
  using kq = new KQueue();
  const t0 = Date.now();
  assert.deepEqual(await kq.wait({ timeout: 30 }), []);
  assert.ok(Date.now() - t0 >= 29);
});

const aborted = (why: string) => (e: unknown): boolean =>
  e instanceof Error && e.name === 'AbortError' && (e as { code?: string }).code === 'ABORT_ERR' && String((e.cause as Error)?.message ?? e.cause) === why;

test('KQueue.wait: AbortSignal ends a pending wait with an AbortError (cause: the reason); an aborted signal rejects at once', async () => {
  using kq = new KQueue();
  const ac = new AbortController();
  const p = kq.wait({ signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 10);
  await assert.rejects(within(p, 10000, 'abort'), aborted('stop'));
  await assert.rejects(kq.wait({ signal: AbortSignal.abort(new Error('early')) }), aborted('early'));
  // An abort does not steal events: afterwards the kqueue still works.
  kq.register(1, EVFILT_USER, { flags: EV_CLEAR });
  kq.trigger(1);
  assert.equal((await kq.wait({ signal: new AbortController().signal })).length, 1);
});

test('KQueue.wait: AbortSignal.timeout aborts; several waits on one kqueue abort independently', async () => {
  using kq = new KQueue();
  const a = new AbortController();
  const p1 = kq.wait({ signal: a.signal, max: 1 });
  const p2 = kq.wait({ signal: AbortSignal.timeout(20), max: 1 });
  await assert.rejects(within(p2, 10000, 'p2'), (e: unknown) => (e as Error).name === 'AbortError' && ((e as Error).cause as Error).name === 'TimeoutError');
  kq.register(9, EVFILT_USER, { flags: EV_CLEAR });
  kq.trigger(9);
  assert.equal((await within(p1, 10000, 'p1'))[0]!.ident, 9, 'the other wait is still there and gets the event');
});

test('KQueue: the async iterator yields events until the kqueue is closed', async () => {
  const kq = new KQueue();
  kq.register(1, EVFILT_TIMER, { data: 5 });
  const got: sys.kevent_t[] = [];
  for await (const e of kq) {
    got.push(e);
    if (got.length === 3) kq.close();
  }
  assert.equal(got.length, 3);
  assert.ok(got.every((e) => e.filter === EVFILT_TIMER && e.data >= 1));
});

test('KQueue.events: the signal\'s abort rejects the pending step with an AbortError', async () => {
  using kq = new KQueue();
  const ac = new AbortController();
  kq.register(1, EVFILT_USER, { flags: EV_ONESHOT });
  kq.trigger(1);
  const got: number[] = [];
  setTimeout(() => ac.abort(new Error('done')), 20);
  await assert.rejects(within((async () => { for await (const e of kq.events({ signal: ac.signal })) got.push(e.ident); })(), 10000, 'iterate'), aborted('done'));
  assert.deepEqual(got, [1]);
});

test('KQueue: leaving for await early loses no event (the iterator takes no more than it yields)', async () => {
  using kq = new KQueue();
  for (let i = 1; i <= 6; i++) { kq.register(i, EVFILT_USER, { flags: EV_ONESHOT }); kq.trigger(i); }
  const got: number[] = [];
  for await (const e of kq) { got.push(e.ident); if (got.length === 2) break; }
  const rest = kq.waitSync({ timeout: 0 }).map((e) => e.ident);
  assert.deepEqual([...got, ...rest].sort(), [1, 2, 3, 4, 5, 6]);
  assert.equal(rest.length, 4);
});

test('KQueue wait options: one rule (negative/NaN timeout: ERR_OUT_OF_RANGE; wrong types: ERR_INVALID_ARG_TYPE; Infinity waits)', async () => {
  using kq = new KQueue();
  for (const t of [-1, NaN, -Infinity]) assert.throws(() => kq.waitSync({ timeout: t }), (e: unknown) => e instanceof RangeError && (e as { code?: string }).code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => kq.waitSync({ timeout: '5' as unknown as number }), (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  await assert.rejects(kq.wait({ signal: 'x' as unknown as AbortSignal }), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  kq.register(3, EVFILT_USER, { flags: EV_CLEAR });
  const p = kq.wait({ timeout: Infinity });
  kq.trigger(3);
  assert.equal((await within(p, 10000, 'Infinity waits until the event'))[0]!.ident, 3);
});

test('kevent_async: closing the kqueue fails pending waits with EBADF', async () => {
  const kq = sys.kqueue();
  const ps = [sys.kevent_async(kq, null, 1, null), sys.kevent_async(kq, null, 1, { tv_sec: 30, tv_nsec: 0 })];
  setTimeout(() => sys.close(kq), 10);
  for (const p of ps) await assert.rejects(within(p, 10000, 'close wakes'), code('EBADF'));
});

test('kevent_async: argument errors reject (never throw synchronously)', async () => {
  const p = sys.kevent_async(-5, null, 1, null);
  assert.ok(p instanceof Promise);
  await assert.rejects(p, code('EBADF'));
  await assert.rejects(sys.kevent_async(sys.kqueue(), null, -1, null), code('EINVAL'));
});

test('kstat("kqueue"): objects in use and bytes per knote', () => {
  const s0 = kstat('kqueue');
  using kq = new KQueue();
  for (let i = 0; i < 10; i++) kq.register(i, EVFILT_USER);
  const s = kstat('kqueue');
  assert.equal(s['kqueue.knotes_in_use']! - s0['kqueue.knotes_in_use']!, 10);
  assert.equal(s['kqueue.kqueues_in_use']! - s0['kqueue.kqueues_in_use']!, 1);
  assert.ok(s['kqueue.bytes_per_knote']! > 0 && s['kqueue.bytes_per_knote']! < 256);
});

test('the npm start demo part: a port, a user event and timers multiplexed on one kqueue', async () => {
  const { kqueueDemo } = await import('../src/cli/demo-kqueue.js');
  const lines = await within(kqueueDemo(), 10000, 'demo');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /port \d+ readable \(1 event\): user 42/);
  assert.match(lines[1]!, /user event 7: fflags 0x5 data 99/);
  assert.match(lines[2]!, /oneshot timer: \d+ ticks/);
});
