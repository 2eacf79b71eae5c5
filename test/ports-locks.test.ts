/**
 * No lock outlives a call: every error path of the port and kqueue calls
 * (an errno thrown after or while a port / kqueue lock was held, a wait
 * ended by a close, an abort or a timeout) leaves the calling thread with
 * no kernel lock held. Checked through the thread's lock count, the word
 * copy-in's own check reads, after each path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as s from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';
import { Port } from '../src/ukern/port.js';
import { KQueue } from '../src/ukern/kqueue.js';
import { within } from './helpers.js';

const ZERO = { tv_sec: 0, tv_nsec: 0 };
const nlocks = (): number => I32[cur.nlocksw]!;

function throwsClean(fn: () => unknown, code: string, what: string): void {
  assert.throws(fn, { code }, what);
  assert.equal(nlocks(), 0, `${what}: a kernel lock is still held`);
}

async function rejectsClean(p: Promise<unknown>, match: object | RegExp | ((e: unknown) => boolean), what: string): Promise<void> {
  await assert.rejects(within(p, 10000, what), match, what);
  assert.equal(nlocks(), 0, `${what}: a kernel lock is still held`);
}

test('port error paths release the port lock', async () => {
  const p = s.port_create(), dead = s.port_create();
  s.close(dead);
  throwsClean(() => s.port_send(dead, 1, 1), 'EBADF', 'send to a closed port');
  throwsClean(() => s.port_getn(p, 1, 2, ZERO), 'EINVAL', 'nget > max');
  throwsClean(() => s.port_get(p, { tv_sec: -1, tv_nsec: 0 }), 'EINVAL', 'bad timeout when it would wait');
  throwsClean(() => s.port_get(p, ZERO), 'ETIME', 'poll on an empty port');
  throwsClean(() => s.port_get(p, { tv_sec: 0, tv_nsec: 2e6 }), 'ETIME', 'timed out');
  s.port_alert(p, s.PORT_ALERT_SET, 1, 1);
  throwsClean(() => s.port_alert(p, s.PORT_ALERT_UPDATE, 1, 1), 'EBUSY', 'alert update when set');
  throwsClean(() => s.port_alert(p, s.PORT_ALERT_SET | s.PORT_ALERT_UPDATE, 1, 1), 'EINVAL', 'both alert flags');
  s.port_alert(p, 0, 0, 0);
  throwsClean(() => s.port_associate(p, s.PORT_SOURCE_USER, 0, 1, 0), 'EINVAL', 'associate a user source');
  const errs: (string | null)[] = [];
  assert.equal(s.port_sendn([dead, p], 1, 1, errs), 1);
  assert.deepEqual(errs, ['EBADF', null]);
  assert.equal(nlocks(), 0, 'sendn with a dead port');
  s.port_get(p, ZERO);
  // A wait ended by a close (EBADFD), and by an abort.
  const w = s.port_get_async(p);
  setTimeout(() => s.close(p), 5);
  await rejectsClean(w, { code: 'EBADFD' }, 'closed while waiting');
  const port = new Port();
  const ac = new AbortController();
  const g = port.get({ signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 5);
  await rejectsClean(g, (e: unknown) => (e as Error).name === 'AbortError' && ((e as Error).cause as Error).message === 'stop', 'aborted while waiting');
  port.close();
});

test('kqueue error paths release the kqueue lock', async () => {
  const kq = s.kqueue();
  const user = (ident: number, flags: number) => s.EV_SET(ident, s.EVFILT_USER, flags, 0, 0, 0);
  throwsClean(() => s.kevent(kq, [user(1, s.EV_DELETE)], 0, ZERO), 'ENOENT', 'a failing change with no room for its entry');
  throwsClean(() => s.kevent(kq, [user(1, s.EV_ADD), user(2, s.EV_DELETE)], 0, ZERO), 'ENOENT', 'the second change of a chunk fails');
  const closed = s.kqueue();
  s.close(closed);
  throwsClean(() => s.kevent(closed, null, 1, ZERO), 'EBADF', 'a closed kqueue');
  assert.deepEqual(s.kevent(kq, null, 1, { tv_sec: 0, tv_nsec: 2e6 }), []);
  assert.equal(nlocks(), 0, 'timed out');
  const w = s.kevent_async(kq, null, 1, null);
  setTimeout(() => s.close(kq), 5);
  await rejectsClean(w, { code: 'EBADF' }, 'closed while waiting');
  const k = new KQueue();
  const ac = new AbortController();
  const g = k.wait({ signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 5);
  await rejectsClean(g, (e: unknown) => (e as Error).name === 'AbortError' && ((e as Error).cause as Error).message === 'stop', 'aborted while waiting');
  // A watched kqueue closed: the watcher's knote is dropped under both locks.
  const outer = s.kqueue(), inner = s.kqueue();
  s.kevent(outer, [s.EV_SET(inner, s.EVFILT_READ, s.EV_ADD, 0, 0, 0)], 0, ZERO);
  s.close(inner);
  assert.equal(nlocks(), 0, 'close of a watched kqueue');
  s.close(outer);
  k.close();
});
