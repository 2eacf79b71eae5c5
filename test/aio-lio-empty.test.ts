/**
 * lio_listio LIO_NOWAIT of a list with no I/O in it (empty, nulls, LIO_NOP
 * entries only) and a sigevent: the whole list is done at once, so its
 * sigevent fires at once (POSIX: the notification is made when all the
 * list's operations are done; glibc notifies at the call). It was never
 * made: the list's group request was only made for a list with members,
 * and a caller waiting for the list's event waited for ever (found by
 * reading).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import * as sys from 'ukern/sys';
import { within } from './helpers.js';

sys.boot({ aio_max: 16 });
const inuse = (name: string): number => sys.kmem_snapshot().caches.find((c) => c.cache === name)!.inUse;
const nop = (fd: number): sys.aiocb => ({ aio_fildes: fd, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(1)), aio_nbytes: 0, aio_lio_opcode: sys.LIO_NOP });

test('LIO_NOWAIT with no I/O: its SIGEV_PORT event comes at once, once; nothing left in the kernel', () => {
  const fd = openSync('/dev/null', 'r');
  const port = sys.port_create();
  const base = { req: inuse('aioreq'), ev: inuse('port_kevent') };
  const lists: (sys.aiocb | null)[][] = [[], [null], [nop(fd), null, nop(fd)]];
  lists.forEach((l, i) => sys.lio_listio(sys.LIO_NOWAIT, l, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 100 + i } }));
  const got: number[] = [];
  for (let i = 0; i < lists.length; i++) {
    let ev: sys.port_event_t;
    try { ev = sys.port_get(port, { tv_sec: 5, tv_nsec: 0 }); } catch (e) { assert.fail(`list ${i}'s event did not come: ${(e as Error).message}`); }
    assert.equal(ev.portev_source, sys.PORT_SOURCE_AIO);
    got.push(ev.portev_user);
  }
  assert.deepEqual(got.sort(), [100, 101, 102]);
  assert.equal(sys.port_getn(port, 8, 0, { tv_sec: 0, tv_nsec: 0 }).length, 0, 'one event per list');
  assert.equal(inuse('aioreq'), base.req, 'no request left');
  sys.close(port);
  assert.equal(inuse('port_kevent'), base.ev, 'no port event slot left');
  // LIO_WAIT and SIGEV_NONE with no I/O return at once, as before.
  sys.lio_listio(sys.LIO_WAIT, [nop(fd)], null);
  sys.lio_listio(sys.LIO_NOWAIT, [], null);
  assert.equal(inuse('aioreq'), base.req);
  closeSync(fd);
});

test('LIO_NOWAIT with no I/O: its SIGEV_THREAD function runs once, with sigev_value', async () => {
  const calls: number[] = [];
  let done!: () => void;
  const called = new Promise<void>((r) => { done = r; });
  sys.lio_listio(sys.LIO_NOWAIT, [null], { sigev_notify: sys.SIGEV_THREAD, sigev_value: 42, sigev_notify_function: (v: number) => { calls.push(v); done(); } });
  await within(called, 5000, 'the list\'s function');
  // A second call would come from this thread's mailbox at its next delivery
  // round, which only a post starts: a second list's notification makes one
  // (a wait of some ms saw nothing, since no round ran in it).
  const second = new Promise<void>((r) => { done = r; });
  sys.lio_listio(sys.LIO_NOWAIT, [null], { sigev_notify: sys.SIGEV_THREAD, sigev_value: 43, sigev_notify_function: (v: number) => { calls.push(v); done(); } });
  await within(second, 5000, 'the second list\'s function');
  assert.deepEqual(calls, [42, 43]);
});
