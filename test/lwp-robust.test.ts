/**
 * LWP robustness: workers that die or exit with async sleeps pending leave
 * no sleeper behind, and a property test that bad arguments to every lwp_*
 * call leave the kernel's counters consistent (lwp_check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as sys from 'ukern/sys';
import { pkgFixtures as fixtures, until, within } from './helpers.js';

const st = (lid: number) => sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.state;
const sleepersInUse = () => sys.kmem_snapshot().caches.find((c) => c.cache === 'sleeper')!.inUse;

test('a worker that dies with an async park pending: zombie, its sleeper leaves the park queue and is freed', async () => {
  const base = sleepersInUse();
  const sab = new SharedArrayBuffer(8);
  const lid = sys.lwp_create({ module: fixtures, export: 'diesWhileParkedAsync', arg: { sab } });
  await until(() => st(lid) === 'ZOMB', 10000, 'zombie after the worker died');
  assert.equal(sys.lwp_snapshot().lwps.find((l) => l.lid === lid)?.died, true);
  assert.equal(await sys.lwp_wait_async(lid), lid);
  await until(() => sleepersInUse() === base, 10000, 'its sleeper freed');
  assert.deepEqual(sys.lwp_check(), []);
});

test('an LWP that exits with an async wait pending: its worker is retired and the sleeper freed', async () => {
  const base = sleepersInUse();
  const lid = sys.lwp_create({ module: fixtures, export: 'exitsWithAsyncPending' });
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'wait'), lid);
  await until(() => sleepersInUse() === base, 10000, 'sleeper freed when the worker was retired');
  // The pool still works.
  const l2 = sys.lwp_create({ module: fixtures, export: 'returnsAtOnce' });
  assert.equal(await within(sys.lwp_wait_async(l2), 10000, 'wait'), l2);
  assert.deepEqual(sys.lwp_check(), []);
});

// Any garbage given to the LWP calls gives a TypeError or a SysError and leaves the kernel consistent.
test('bad arguments never corrupt the kernel (property)', () => {
  const junk = fc.oneof(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1, 2 ** 31, 2 ** 32),
    fc.string(), fc.constant(null), fc.constant(undefined), fc.boolean(), fc.object(), fc.array(fc.integer()),
  );
  const calls: ((a: unknown, b: unknown) => unknown)[] = [
    (a) => sys.lwp_wait(a as number), (a) => sys.lwp_detach(a as number), (a) => sys.lwp_suspend(a as number),
    (a) => sys.lwp_continue(a as number), (a) => sys.lwp_wakeup(a as number), (a, b) => sys.lwp_kill(a as number, b as number),
    (a, b) => sys.lwp_unpark(a as number, b as number), (a, b) => sys.lwp_unpark_all(a as number[], b as number),
    (a, b) => sys.lwp_park(a as sys.Timespec, b as number), (a, b) => sys.lwp_create(a as sys.LwpStart, b as number),
  ];
  const before = sys.lwp_snapshot().proc;
  fc.assert(fc.property(fc.nat(calls.length - 1), junk, junk, (i, a, b) => {
    try {
      // A park that could sleep is made harmless: give it an unpark first.
      if (i === 8) sys.lwp_unpark(1);
      if (i === 1 && a === 1) return; // detaching LWP 1 is legal and permanent: not junk
      if (i === 5 && typeof b === 'number' && b >= 1 && b < 65) return; // a real signal: its default action is not junk (signals.test.ts)
      const r = calls[i]!(a, b);
      if (i === 9 && typeof r === 'number') sys.lwp_wait(r); // junk that happened to be a valid start
    } catch (e) {
      if (!(e instanceof TypeError) && !(e instanceof sys.SysError)) throw e;
    }
    try { sys.lwp_park({ tv_sec: 0, tv_nsec: 0 }); } catch { /* consume a stray pending unpark */ }
    assert.deepEqual(sys.lwp_check(), []);
  }), { numRuns: 3000 });
  assert.deepEqual(sys.lwp_snapshot().proc, before);
});
