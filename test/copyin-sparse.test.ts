/**
 * Lists the kernel copies in (kern/copyin.ts copyin_array): a hole of a
 * sparse array is a TypeError at once, where C's copyin meets a page it
 * cannot read (EFAULT), and nothing of the call happens. A sparse array's
 * length costs its maker nothing: copied whole, 2^31 - 1 of them held the
 * caller for minutes before the call began. (kevent's changelist, copied
 * by kqueue/kevent.ts itself: test/kevent-copyin.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Port } from 'ukern';

const ZERO = { tv_sec: 0, tv_nsec: 0 };
function sparse<T>(first: T[], n: number): T[] { const a = [...first]; a.length = n; return a; }
function failsAtOnce(f: () => unknown, hole: RegExp): void {
  const t0 = performance.now();
  assert.throws(f, (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && hole.test(e.message));
  assert.ok(performance.now() - t0 < 5000, `took ${(performance.now() - t0).toFixed(0)} ms`);
}

test('port_sendn: a hole is a TypeError before anything is sent', () => {
  const p = sys.port_create();
  try {
    for (const n of [2 ** 31 - 1, 1e7, 3]) failsAtOnce(() => sys.port_sendn(sparse([p, p], n), 1, 7), /ports\[2\] is a hole/);
    assert.throws(() => sys.port_get(p, ZERO), (e: sys.SysError) => e.code === 'ETIME', 'nothing was sent');
    const errors: (string | null)[] = [];
    assert.equal(sys.port_sendn([p, -1, p], 1, 7, errors), 2, 'a dense list still counts a bad entry as EBADF');
    assert.deepEqual(errors, [null, 'EBADF', null]);
  } finally { sys.close(p); }
});

test('aio_suspend: null entries are skipped, a hole is a TypeError', () => {
  for (const n of [2 ** 31 - 1, 1e7]) failsAtOnce(() => sys.aio_suspend(sparse([null], n), ZERO), /list\[1\] is a hole/);
  assert.throws(() => sys.aio_suspend([null, null], ZERO), (e: sys.SysError) => e.code === 'EAGAIN');
});

test('Port.postManySync: a hole is a TypeError before anything is posted', () => {
  const port = new Port();
  try {
    failsAtOnce(() => port.postManySync(sparse([1, 2], 2 ** 31 - 1)), /values\[2\] is a hole/);
    assert.equal(port.getnSync(8, 1, { timeout: 0 }).length, 0, 'nothing was posted');
    assert.equal(port.postManySync([1, undefined, 3]), 3, 'an undefined value (no hole) is a value');
    assert.deepEqual([port.receiveSync(), port.receiveSync(), port.receiveSync()], [1, undefined, 3]);
  } finally { port.close(); }
});
