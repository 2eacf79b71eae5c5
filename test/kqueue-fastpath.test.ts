/**
 * The kevent fast path (issue "Fast from the first microsecond", item 5).
 *
 * - Shapes: the knote offset table was built by keyed stores past V8's
 *   limit for fast properties, so every `K.field` in the knote code was a
 *   dictionary lookup through a builtin call (most of the 600 ns an event);
 *   the filter operations were one hidden class per filter; and the
 *   kernel's writes to its literal copies of changes and the doubles of
 *   returned events re-shaped the hidden class of every kevent_t user code
 *   holds (objects then migrated one by one, a trigger 2-6x slower at
 *   random). Shapes are visible only to V8's natives, so a child process
 *   with --allow-natives-syntax checks them (timing would be flaky on a
 *   shared machine; the shape is deterministic and is the cause).
 * - The lock-free knote lookup: kqueues sharing hash chains with another
 *   LWP that adds and deletes knotes meanwhile never miss a knote (ENOENT)
 *   nor register one twice, on a hash table small enough that every chain
 *   is shared (kq_knotes_max 64: 64 buckets).
 * - Idents that would collide in a naive hash (large strides) and runs of
 *   consecutive ones are all found and delivered exactly once.
 * The LWP start function is exported here; this module is loaded by that
 * LWP too, so the tests register only in the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';
import { within } from './helpers.js';
import { fd_get, DTYPE_KQUEUE } from '../src/kern/fdtab.js';
import { kn_bucket } from '../src/kqueue/knote.js';

const { EV_SET, kevent, EVFILT_USER, EV_ADD, EV_DELETE, EV_CLEAR, NOTE_TRIGGER } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const self = new URL(import.meta.url);

/** Adds and deletes knotes `idents` on `kq` until `stop` (Int32 [0]) is set; counts rounds in [1]. */
export function churn(arg: { kq: number; idents: number[]; sab: SharedArrayBuffer }): void {
  const w = new Int32Array(arg.sab);
  const add = arg.idents.map((id) => EV_SET(id, EVFILT_USER, EV_ADD, 0, 0, 0));
  const del = arg.idents.map((id) => EV_SET(id, EVFILT_USER, EV_DELETE, 0, 0, 0));
  while (Atomics.load(w, 0) === 0) {
    kevent(arg.kq, add, 0, ZERO);
    kevent(arg.kq, del, 0, ZERO);
    Atomics.add(w, 1, 1);
  }
}

/** Collects every pending event of kq (nevents 7, so several scans). */
function drain(kq: number): sys.kevent_t[] {
  const all: sys.kevent_t[] = [];
  for (let r = kevent(kq, null, 7, ZERO); r.length !== 0; r = kevent(kq, null, 7, ZERO)) all.push(...r);
  return all;
}

if (isMainThread) {
  test('the knote offsets, the filter operations and kevent_t objects keep fast, shared shapes', () => {
    const url = (p: string) => new URL(p, import.meta.url).href;
    const script = `
      const { K, Q } = await import(${JSON.stringify(url('../src/kqueue/knote.js'))});
      const { filter_ops } = await import(${JSON.stringify(url('../src/kqueue/filter.js'))});
      const s = await import(${JSON.stringify(url('../src/kqueue/sys.js'))});
      const u = filter_ops(s.EVFILT_USER), r = filter_ops(s.EVFILT_READ), t = filter_ops(s.EVFILT_TIMER);
      // A kevent_t made before the kernel ran keeps its hidden class: the
      // kernel's copies and the events it returns do not re-shape it.
      const sys = await import(${JSON.stringify(url('../src/sys/index.js'))});
      const before = sys.EV_SET(1, s.EVFILT_USER, s.EV_ADD, 0, 0, 5);
      const kq = sys.kqueue(), Z = { tv_sec: 0, tv_nsec: 0 };
      let ev = [];
      for (let i = 0; i < 50; i++) {
        sys.kevent(kq, [sys.EV_SET(i, s.EVFILT_USER, s.EV_ADD | s.EV_CLEAR, s.NOTE_TRIGGER | s.NOTE_FFCOPY | 3, 7, i)], 0, Z);
        ev = sys.kevent(kq, null, 8, Z);
      }
      const after = sys.EV_SET(2, s.EVFILT_USER, s.EV_ADD, 0, 0, 6);
      console.log(JSON.stringify({ K: %HasFastProperties(K), Q: %HasFastProperties(Q),
        ops: %HaveSameMap(u, r) && %HaveSameMap(u, t),
        userShapeKept: %HaveSameMap(before, after), eventShape: ev.length === 1 && %HaveSameMap(after, ev[0]) }));
      process.exit(0);`;
    const c = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 30_000 });
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout.trim().split('\n').pop()!),
      { K: true, Q: true, ops: true, userShapeKept: true, eventShape: true });
  });

  test('lock-free lookup: chains shared with an LWP adding and deleting knotes never lose or double a knote', async () => {
    sys.boot({ kq_knotes_max: 64 });
    const kq1 = sys.kqueue(), kq2 = sys.kqueue();
    const N = 24;
    // EV_CLEAR knotes 0..N-1 on kq2; the LWP churns knotes of kq1 that hash
    // to the same buckets, so each lookup of kq2 walks past knotes being
    // unlinked and freed (they go in at the head, before kq2's).
    kevent(kq2, Array.from({ length: N }, (_, i) => EV_SET(i, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, i)), 0, ZERO);
    const h1 = fd_get(kq1, DTYPE_KQUEUE, 'test', 'EBADF'), h2 = fd_get(kq2, DTYPE_KQUEUE, 'test', 'EBADF');
    const mine = new Set(Array.from({ length: N }, (_, i) => kn_bucket(h2, EVFILT_USER, i)));
    const idents: number[] = [];
    for (let id = 1000; idents.length < 32 && id < 10_000_000; id++) if (mine.has(kn_bucket(h1, EVFILT_USER, id))) idents.push(id);
    assert.equal(idents.length, 32);
    const sab = new SharedArrayBuffer(8);
    const w = new Int32Array(sab);
    const lid = sys.lwp_create({ module: self, export: 'churn', arg: { kq: kq1, idents, sab } });
    const trig = Array.from({ length: N }, (_, i) => EV_SET(i, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0));
    // EV_ADD of a knote that exists must find it (a second knote would report the ident twice);
    // no EV_CLEAR in it: on a modify that un-triggers.
    const readd = Array.from({ length: N }, (_, i) => EV_SET(i, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, i));
    try {
      const end = Date.now() + 2500;
      let rounds = 0;
      while (Date.now() < end || Atomics.load(w, 1) < 50) {
        if (Date.now() > end + 20_000) assert.fail(`churn LWP made ${Atomics.load(w, 1)} rounds in 21 s`);
        // Many lookups per check: ENOENT would throw.
        for (let k = 0; k < 50; k++) kevent(kq2, rounds % 2 === 0 ? trig : readd, 0, ZERO);
        const got = drain(kq2).map((e) => e.ident).sort((a, b) => a - b);
        assert.deepEqual(got, Array.from({ length: N }, (_, i) => i), `round ${rounds}`);
        rounds++;
      }
      assert.ok(rounds > 10 && Atomics.load(w, 1) > 10, `rounds ${rounds}, churn ${Atomics.load(w, 1)}`);
    } finally {
      Atomics.store(w, 0, 1);
      await within(sys.lwp_wait_async(lid), 20_000, 'churn LWP exit');
      sys.close(kq1); sys.close(kq2);
    }
  });

  test('strided and consecutive idents are each found and delivered once', () => {
    const kq = sys.kqueue();
    const idents: number[] = [];
    for (let i = 0; i < 10; i++) idents.push(i, 1000 + i * 16, (i + 1) * 65536 * 16, 2 ** 40 + i * 2 ** 32, Number.MAX_SAFE_INTEGER - i);
    kevent(kq, idents.map((id) => EV_SET(id, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, id % 1000)), 0, ZERO);
    kevent(kq, idents.map((id) => EV_SET(id, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0)), 0, ZERO);
    const got = drain(kq);
    assert.deepEqual(got.map((e) => e.ident).sort((a, b) => a - b), [...idents].sort((a, b) => a - b));
    for (const e of got) assert.equal(e.udata, e.ident % 1000);
    // Deleting each is found too (ENOENT would throw), and then it is gone.
    kevent(kq, idents.map((id) => EV_SET(id, EVFILT_USER, EV_DELETE, 0, 0, 0)), 0, ZERO);
    assert.throws(() => kevent(kq, [EV_SET(idents[7]!, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0)], 0, ZERO), { code: 'ENOENT' });
    sys.close(kq);
  });
}
