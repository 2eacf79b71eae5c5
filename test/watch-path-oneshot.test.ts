/**
 * KQueue#watch(path, 'vnode', { flags: EV_ONESHOT }): the watch ends at its
 * event (the kernel deletes the knote as it returns it), and the descriptor
 * the kqueue opened for the path is closed then, as unwatch() closes it.
 * Before, it stayed open until the kqueue was closed: a program that
 * re-armed a one-shot watch after each event opened one more descriptor
 * per event, for the kqueue's lifetime. A watch without EV_ONESHOT keeps its
 * descriptor past its events, until unwatch().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KQueue, EV_ONESHOT, EV_CLEAR, EVFILT_VNODE, NOTE_WRITE } from 'ukern';
import type { kevent_t } from 'ukern/sys';
import { within } from './helpers.js';

/** Host descriptors of this process open on `path`. */
function nfds_on(path: string): number {
  const real = realpathSync(path);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`) === real; } catch { return false; }
  }).length;
}

test('a one-shot watch of a path closes its descriptor at its event (wait, waitSync, events); a lasting one keeps it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-watch-oneshot-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  const kq = new KQueue();
  try {
    const takers: [string, () => Promise<kevent_t[]>][] = [
      ['wait', () => kq.wait({ timeout: 5000 })],
      ['waitSync', async () => kq.waitSync({ timeout: 5000 })],
      ['events', async () => {
        const it = kq.events();
        try { const r = await it.next(); return r.done === true ? [] : [r.value]; } finally { await it.return(); }
      }],
    ];
    for (const [name, take] of takers) {
      for (let i = 0; i < 3; i++) {
        const ident = kq.watch(path, 'vnode', { flags: EV_ONESHOT, fflags: NOTE_WRITE });
        assert.equal(nfds_on(path), 1, `${name} ${i}: the watch's descriptor`);
        appendFileSync(path, 'y');
        const evs = await within(take(), 6000, `${name} ${i}: NOTE_WRITE`);
        assert.deepEqual(evs.map((e) => [e.ident, e.filter, (e.flags & EV_ONESHOT) !== 0]), [[ident, EVFILT_VNODE, true]]);
        assert.equal(nfds_on(path), 0, `${name} ${i}: the one-shot watch ended, its descriptor closed`);
      }
    }
    const lasting = kq.watch(path, 'vnode', { flags: EV_CLEAR, fflags: NOTE_WRITE });
    appendFileSync(path, 'z');
    assert.equal((await within(kq.wait({ timeout: 5000 }), 6000, 'lasting NOTE_WRITE')).length, 1);
    assert.equal(nfds_on(path), 1, 'a lasting watch keeps its descriptor past its events');
    kq.unwatch(lasting, 'vnode');
    assert.equal(nfds_on(path), 0);
  } finally {
    kq.close();
    rmSync(dir, { recursive: true });
  }
});

test('KQueue#delete of a path watch closes the descriptor opened for it, as unwatch() does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-watch-delete-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  const kq = new KQueue();
  try {
    for (let i = 0; i < 3; i++) {
      const ident = kq.watch(path, 'vnode', { flags: EV_CLEAR, fflags: NOTE_WRITE });
      assert.equal(nfds_on(path), 1, `${i}: the watch's descriptor`);
      kq.delete(ident, EVFILT_VNODE);
      assert.equal(nfds_on(path), 0, `${i}: deleted, its descriptor closed`);
    }
  } finally {
    kq.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
