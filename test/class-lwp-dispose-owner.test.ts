/**
 * Disposing an Lwp lets its LWP go (lwp_detach) only when the object made
 * it (Lwp.create). One from Lwp.of(lid) or Lwp.self() names an LWP someone
 * else owns: its dispose detached it, so the creator's lwp_wait then failed
 * ESRCH and the LWP's outcome was lost.
 */
import { test } from 'node:test';
import { isMainThread } from 'node:worker_threads';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { Lwp } from '../src/index.js';
import { within } from './helpers.js';

export function sleeper(arg: { sab: SharedArrayBuffer }): void {
  const w = new Int32Array(arg.sab);
  Atomics.wait(w, 0, 0, 10_000);
}

// The tests run in the main thread only: this file is also the LWPs' start module.
if (isMainThread) {
  test('dispose of Lwp.of(lid) leaves the LWP to its creator, who still collects it', async () => {
    const sab = new SharedArrayBuffer(4);
    const lid = sys.lwp_create({ module: import.meta.url, export: 'sleeper', arg: { sab } });
    {
      using other = Lwp.of(lid);
      assert.equal(other.lid, lid);
    }
    Atomics.store(new Int32Array(sab), 0, 1); Atomics.notify(new Int32Array(sab), 0);
    assert.equal(await within(sys.lwp_wait_async(lid), 30_000, 'the creator\'s wait'), lid);
  });

  test('dispose of Lwp.self() in the main thread does not detach LWP 1', () => {
    {
      using me = Lwp.self();
      assert.equal(me.lid, 1);
    }
    const snap = sys.lwp_snapshot().lwps.find((l) => l.lid === 1);
    assert.ok(snap !== undefined);
    assert.equal(snap.detached, false, 'LWP 1 was detached');
  });

  test('dispose of an Lwp from create still detaches it (unless waited for)', async () => {
    const sab = new SharedArrayBuffer(4);
    let lid = 0;
    {
      using l = Lwp.create({ module: import.meta.url, export: 'sleeper', arg: { sab } });
      lid = l.lid;
    }
    await assert.rejects(sys.lwp_wait_async(lid), (e: unknown) => (e as { code?: string }).code === 'EINVAL' || (e as { code?: string }).code === 'ESRCH');
    Atomics.store(new Int32Array(sab), 0, 1); Atomics.notify(new Int32Array(sab), 0);
  });
}
