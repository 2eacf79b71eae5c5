/**
 * lwp_create's start.arg is copied in on entry: its getters run (during its
 * structured clone) before the LWP exists, not in the middle of the create.
 * Run by the post to the LWP's worker, a getter ran with the new LWP made
 * but unstarted until it returned (an lwp_wait for it from there waited for
 * ever), and a getter's throw became EAGAIN, which invites a retry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { fixtures, within } from './helpers.js';

const lids = (): number[] => sys.lwp_snapshot().lwps.map((l) => l.lid).sort((a, b) => a - b);

test('start.arg getters run before the LWP exists; their values reach it, SharedArrayBuffers shared', async () => {
  const before = lids();
  const sab = new SharedArrayBuffer(16);
  let during: number[] = [];
  const arg = { sab, get value() { during = lids(); return 42.5; } };
  const lid = sys.lwp_create({ module: fixtures, export: 'selfAndPrivate', arg });
  assert.deepEqual(during, before, 'the getter ran while the new LWP already existed');
  assert.equal(await within(sys.lwp_wait_async(lid), 10000, 'lwp_wait'), lid);
  const a = new Float64Array(sab);
  assert.equal(a[0], lid);
  assert.equal(a[1], 42.5);
  assert.deepEqual(sys.lwp_check(), []);
});

test('a start.arg getter that throws: lwp_create throws its error, and no LWP was made', () => {
  const before = lids();
  const created = sys.kstat('lwp')['lwp.created'];
  const boom = new Error('thrown by the getter');
  assert.throws(() => sys.lwp_create({ module: fixtures, export: 'returnsAtOnce', arg: { get x() { throw boom; } } }), (e: unknown) => e === boom);
  assert.deepEqual(lids(), before);
  assert.equal(sys.kstat('lwp')['lwp.created'], created, 'lwp.created moved');
  assert.deepEqual(sys.lwp_check(), []);
  // What cannot be cloned is still a TypeError.
  assert.throws(() => sys.lwp_create({ module: fixtures, export: 'returnsAtOnce', arg: { f: () => 1 } }),
    (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE');
  assert.deepEqual(lids(), before);
});
