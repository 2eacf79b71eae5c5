/**
 * KQueue#apply copies every entry in before it applies any, as kevent does
 * with its changelist: an entry that is no object with six numeric fields
 * is an ERR_INVALID_ARG_TYPE naming its index, and no change before it has
 * been applied (they were, one kevent call each, before the throw).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { KQueue } from '../src/ukern/kqueue.js';

const { EV_SET, EVFILT_USER, EV_ADD, EV_DELETE, NOTE_TRIGGER } = sys;

test('KQueue#apply: a bad entry throws before any change is applied, naming its index', () => {
  const kq = new KQueue();
  try {
    const bad: unknown[] = [{ ident: 'x' }, 5, null, { ident: 1, filter: EVFILT_USER, flags: EV_ADD, fflags: 0, data: 0 }];
    for (const b of bad) {
      assert.throws(() => kq.apply([EV_SET(1, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, 0), b as sys.kevent_t]),
        (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE' && /changes\[1\]/.test((e as Error).message));
      // Nothing was added: no knote to delete, no event pending.
      assert.deepEqual(kq.apply([EV_SET(1, EVFILT_USER, EV_DELETE, 0, 0, 0)]), ['ENOENT']);
      assert.deepEqual(kq.waitSync({ timeout: 0 }), []);
    }
    // Each field read once: a getter's second answer is never seen.
    let reads = 0;
    const tricky = { ident: 2, filter: EVFILT_USER, fflags: 0, data: 0, udata: 0, get flags() { return reads++ === 0 ? EV_ADD : 'x'; } };
    assert.deepEqual(kq.apply([tricky as unknown as sys.kevent_t]), [null]);
    assert.equal(reads, 1);
    assert.deepEqual(kq.apply([EV_SET(2, EVFILT_USER, EV_DELETE, 0, 0, 0)]), [null]);
  } finally {
    kq.close();
  }
});
