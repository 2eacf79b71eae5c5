/**
 * The class layer read against Node's conventions (review of src/ukern):
 * each test here failed before its fix (the commit that added it says how).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync, openSync, closeSync, statSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lwp, KQueue, Port, Timer, aio, SysError } from 'ukern';
import * as sys from 'ukern/sys';
import { within } from './helpers.js';

const F = new URL('./fixtures/outcomes.js', import.meta.url);
const code = (c: string) => (e: unknown): boolean => (e as { code?: string }).code === c;
const type = (e: unknown): boolean => e instanceof TypeError && code('ERR_INVALID_ARG_TYPE')(e);
const range = (e: unknown): boolean => e instanceof RangeError && code('ERR_OUT_OF_RANGE')(e);

test('Lwp.wait: a timeout past 2^31-1 ms waits (it ended at once with ETIMEDOUT); a fractional one times out with ETIMEDOUT', async () => {
  const sab = new SharedArrayBuffer(16);
  const l = Lwp.create<string>({ module: F, export: 'hold', arg: { sab } });
  try {
    // The fraction is the class layer's ms (waitopts): ETIMEDOUT, not an argument error about a "delay".
    await assert.rejects(l.wait({ timeout: 1.5 }), (e: unknown) => e instanceof SysError && e.code === 'ETIMEDOUT');
    const long = l.wait({ timeout: 3e9 });
    let settled: unknown = 'pending';
    long.then((v) => { settled = v; }, (e: unknown) => { settled = e; });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, 'pending', 'a 35-day timeout is still waiting after 300 ms');
    Atomics.store(new Int32Array(sab), 0, 1);
    assert.equal(await within(long, 20_000, 'the released LWP is collected by the long wait'), 'released');
  } finally {
    Atomics.store(new Int32Array(sab), 0, 1);
  }
});

test('KQueue.close() of a wrapped descriptor its other owner closed first still closes the descriptors it opened for watched paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clsr-'));
  try {
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    const owner = sys.kqueue();
    const kq = new KQueue({ fd: owner });
    const ident = kq.watch(file, 'vnode', { fflags: sys.NOTE_WRITE });
    const st = statSync(file);
    const names_file = (): boolean => {
      try { const f = fstatSync(ident); return f.ino === st.ino && f.dev === st.dev; } catch { return false; } // EBADF: closed
    };
    assert.ok(names_file(), 'the watch opened the path');
    sys.close(owner); // the other owner
    assert.throws(() => kq.close(), code('EBADF'), 'close(2) of a closed descriptor');
    // Whether the number still names the watched file, not whether it is open:
    // another thread of this process (the intr thread, starting for the watch)
    // may have opened a descriptor of its own under the freed number since
    // (this assertion, as close(ident) expecting EBADF, failed so in a CI run).
    assert.equal(names_file(), false, 'the descriptor opened for the path was closed too (it leaked)');
    kq.close(); // idempotent
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Timer.close() after its id was deleted through ukern/sys still ends its pending next() and iterator', async () => {
  const t = new Timer({ delay: 60_000, interval: 60_000 });
  const next = t.next();
  const it = t[Symbol.asyncIterator]();
  const step = it.next();
  sys.timer_delete(t.id); // its other owner
  assert.throws(() => t.close(), code('EINVAL'), 'timer_delete of a deleted timer');
  assert.equal(t.closed, true);
  assert.equal(await within(next, 10_000, 'the pending next() ends'), undefined);
  assert.deepEqual(await within(step, 10_000, 'the iterator ends'), { value: undefined, done: true });
  t.close(); // idempotent
});

test('aio: options are checked before anything is submitted; an aborted signal submits no fsync', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clsr-'));
  try {
    const file = join(dir, 'f');
    writeFileSync(file, 'abcd');
    const fd = openSync(file, 'r+');
    try {
      const b = aio.buffer(4);
      const before = sys.kstat('aio')['aio.submitted'];
      // A signal that is no AbortSignal was found only after aio_read (a TypeError with no code), the request left uncollected.
      await assert.rejects(aio.read(fd, b, 0, { signal: {} as AbortSignal }), type);
      await assert.rejects(aio.write(fd, b, 0, { ref: 'no' as unknown as boolean }), type);
      await assert.rejects(aio.fsync(fd, { signal: 1 as unknown as AbortSignal }), type);
      await assert.rejects(aio.batch([{ op: 'read', fd, buffer: b, position: 0 }], { signal: 'x' as unknown as AbortSignal }), type);
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(aio.fsync(fd, { signal: ac.signal }), code('ABORT_ERR'), 'an aborted signal rejects, as aio.read does');
      assert.equal(sys.kstat('aio')['aio.submitted'], before, 'nothing was submitted');
      assert.equal(await aio.read(fd, b, 0), 4);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('argument errors: counts, event words and boolean options carry Node\'s codes in every class (not EINVAL, not coerced)', async () => {
  using kq = new KQueue();
  for (const max of [-1, 1.5, 2 ** 40]) {
    assert.throws(() => kq.waitSync({ max, timeout: 0 }), range, `waitSync max ${max}`);
    await assert.rejects(kq.wait({ max, timeout: 0 }), range, `wait max ${max}`);
  }
  assert.deepEqual(kq.waitSync({ max: 0, timeout: 0 }), []);
  kq.register(7, sys.EVFILT_USER, { flags: sys.EV_CLEAR });
  assert.throws(() => kq.trigger(7, 'x' as unknown as number), type, 'a string fflags was coerced by the OR');
  assert.throws(() => kq.trigger(7, 2 ** 40), range, 'fflags past 32 bits were wrapped by the OR');
  assert.deepEqual(kq.waitSync({ timeout: 0 }), [], 'no trigger was applied');
  using port = new Port();
  assert.throws(() => Port.sendAll([port], 2 ** 40), range);
  assert.throws(() => Port.sendAll([port], 1, NaN), range);
  assert.throws(() => Port.sendAll([port], '1' as unknown as number), type);
  assert.throws(() => port.alert(2 ** 40), range);
  assert.throws(() => port.alert(1, Infinity), range);
  assert.equal(port.pending, 0);
  assert.throws(() => new Port({ ref: 'no' as unknown as boolean }), type);
  assert.throws(() => new KQueue({ ref: 0 as unknown as boolean }), type);
  assert.throws(() => new Timer({ delay: 1, ref: 'no' as unknown as boolean }), type);
  assert.throws(() => new Timer({ delay: 1, absolute: 'yes' as unknown as boolean }), type);
  using t = new Timer({ delay: 0 });
  assert.throws(() => t.set({ delay: 1, absolute: 1 as unknown as boolean }), type);
});
