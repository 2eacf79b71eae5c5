/**
 * The class layer's argument errors (issue 12 item 7): Node's codes, and
 * none of the inputs the issue names is accepted or waits for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port, KQueue, ParkMutex, SysError } from 'ukern';
import { EVFILT_USER } from 'ukern/sys';

const type = (e: unknown): boolean => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE';
const range = (e: unknown): boolean => e instanceof RangeError && (e as { code?: string }).code === 'ERR_OUT_OF_RANGE';

test('Port: descriptor, event words and counts are checked', async () => {
  assert.throws(() => new Port('abc' as unknown as number), type);
  assert.throws(() => new Port(-1), range);
  assert.throws(() => new Port(1.5), range);
  assert.throws(() => new Port(12345), (e: unknown) => e instanceof SysError && e.code === 'EBADF');
  using kq = new KQueue();
  assert.throws(() => new Port(kq.fd), (e: unknown) => e instanceof SysError && (e.code === 'EBADFD' || e.code === 'EBADF'), 'a kqueue is not a port');
  using port = new Port();
  const again = new Port(port.fd);
  assert.equal(again.fd, port.fd);
  for (const v of [2 ** 31, -(2 ** 31) - 1, 2 ** 32, 1.5, NaN]) assert.throws(() => port.sendSync(v), range, `events ${v}`);
  assert.throws(() => port.sendSync('1' as unknown as number), type);
  assert.throws(() => port.sendSync(1, Infinity), range);
  await assert.rejects(port.send(2 ** 31), range);
  await assert.rejects(port.send(1, 1, { timeout: -1 }), range);
  port.sendSync(2 ** 31 - 1, 0.5);
  assert.equal(port.getSync({ timeout: 0 }).portev_events, 2 ** 31 - 1);
  assert.throws(() => port.getnSync(-5), range, 'a negative max never waits for ever');
  assert.throws(() => port.getnSync(4, 5), range, 'nget > max');
  await assert.rejects(port.getn(-5), range);
  assert.throws(() => port.getSync({ timeout: '1' as unknown as number }), type);
});

test('KQueue options and ParkMutex sizes are checked', () => {
  using kq = new KQueue();
  assert.throws(() => kq.register(1, EVFILT_USER, { flags: 'x' as unknown as number }), type);
  assert.throws(() => kq.register(1, EVFILT_USER, { fflags: 2 ** 33 }), range);
  assert.throws(() => kq.register(-1, EVFILT_USER), range);
  assert.throws(() => kq.register(1, EVFILT_USER, { udata: NaN }), range);
  kq.register(1, EVFILT_USER, { udata: 2.5 });
  const again = new KQueue({ fd: kq.fd });
  again.trigger(1);
  assert.equal(kq.waitSync({ timeout: 0 })[0]!.udata, 2.5, 'a wrapped kqueue is the same kqueue');
  using port = new Port();
  assert.throws(() => new KQueue({ fd: port.fd }), (e: unknown) => e instanceof SysError, 'a port is not a kqueue');
  assert.throws(() => new KQueue({ fd: -1 }), range);
  assert.throws(() => new ParkMutex(-3), range);
  assert.throws(() => new ParkMutex(0), range);
  assert.throws(() => new ParkMutex('x' as unknown as number), type);
  assert.throws(() => new ParkMutex(new SharedArrayBuffer(4)), range);
  const m = new ParkMutex(2);
  assert.ok(m.tryLock());
  m.unlock();
});
