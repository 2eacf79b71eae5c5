/**
 * The `{ signal }` of the _async calls is a user object too: a real
 * AbortSignal may carry an own `aborted` getter. The kernel must never read
 * it with a kernel lock held (a syscall made from the getter then panicked
 * the kernel: copy-in under a lock), and a getter that answers differently
 * from one read to the next, or throws, must leave nothing held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { cur } from '../src/kern/hdr.js';

const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SHORT = { tv_sec: 0, tv_nsec: 5_000_000 };

/** A real AbortSignal whose `aborted` is an own getter: `answer(n)` for its n-th read (from 0); every read records the kernel locks held. */
function hostile(answer: (n: number) => boolean, held: number[], reenter?: () => void): AbortSignal {
  const s = new AbortController().signal;
  let n = 0;
  Object.defineProperty(s, 'aborted', {
    configurable: true,
    get() { held.push(I32[cur.nlocksw]! | 0); reenter?.(); return answer(n++); },
  });
  return s;
}

const kqInUse = (): number => sys.kmem_snapshot().caches.find((c) => c.cache === 'kqueue')!.inUse;

test('an AbortSignal getter never runs under a kernel lock, and may make a syscall', async () => {
  const kq = sys.kqueue();
  const other = sys.kqueue();
  const port = sys.port_create();
  const held: number[] = [];
  // The getter makes a syscall that copies in (a copy-in under a lock is a kernel panic).
  const reenter = (): void => { sys.kevent(other, null, 0, ZERO); };
  assert.deepEqual(await sys.kevent_async(kq, null, 1, SHORT, { signal: hostile(() => false, held, reenter) }), []);
  await assert.rejects(sys.port_get_async(port, SHORT, { signal: hostile(() => false, held, reenter) }), (e: unknown) => e instanceof sys.SysError && e.code === 'ETIME');
  await assert.rejects(sys.lwp_park_async({ tv_sec: Math.floor(Date.now() / 1000) + 1, tv_nsec: 0 }, 0.5, { signal: hostile(() => false, held, reenter) }),
    (e: unknown) => e instanceof sys.SysError && e.code === 'ETIMEDOUT');
  await assert.rejects(sys.sigtimedwait_async(sys.sigemptyset(), SHORT, { signal: hostile(() => false, held, reenter) }),
    (e: unknown) => e instanceof sys.SysError && e.code === 'EAGAIN');
  assert.ok(held.length >= 8, `the getters ran (${held.length} reads)`);
  assert.deepEqual(held.filter((n) => n !== 0), [], 'kernel locks held while the user getter ran');
  // The kernel still works.
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD, sys.NOTE_TRIGGER, 0, 7)], 0, ZERO);
  assert.equal(sys.kevent(kq, null, 1, ZERO)[0]!.udata, 7);
  sys.close(kq); sys.close(other); sys.close(port);
});

test('kevent_async: a signal that reads not aborted, then aborted (or throws), leaves the kqueue unlocked and unreferenced', async () => {
  const before = kqInUse();
  for (const kind of ['flips', 'throws'] as const) {
    const kq = sys.kqueue();
    const held: number[] = [];
    const boom = new Error('thrown by the getter');
    // Not aborted for kevent_async's own looks (before and after its copy-in); aborted, or a throw, for run_async's.
    const s = hostile((n) => { if (n < 2) return false; if (kind === 'throws') throw boom; return true; }, held);
    const p = sys.kevent_async(kq, null, 1, SHORT, { signal: s });
    if (kind === 'flips') await assert.rejects(p, (e: unknown) => e instanceof Error && e.name === 'AbortError');
    else await assert.rejects(p, (e: unknown) => e === boom);
    assert.ok(held.length >= 3, `${kind}: the getter ran ${held.length} times`);
    assert.deepEqual(held.filter((n) => n !== 0), [], `${kind}: kernel locks held while the user getter ran`);
    assert.equal(I32[cur.nlocksw]! | 0, 0, `${kind}: a kernel lock left held`);
    // The kqueue is usable (its lock free) and, closed, freed (no reference left behind).
    assert.deepEqual(sys.kevent(kq, null, 1, ZERO), [], kind);
    sys.close(kq);
  }
  assert.equal(kqInUse(), before, 'every kqueue closed was freed');
});
