/**
 * Resources come back: what an LWP's thread takes on first use (a
 * SIGEV_THREAD mailbox, a port send lane, sleep-queue entries) is returned
 * when the LWP exits or its worker is retired, so that any number of LWPs
 * can come and go. Booted small (maxlwp 16: 24 mailboxes) so that running
 * out takes few retired workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { pkgFixtures as fixtures, within } from './helpers.js';

const POOL = 4;
sys.boot({ maxlwp: 16, lwp_pool: POOL });

const caches = (): Record<string, number> =>
  Object.fromEntries(sys.kmem_snapshot().caches.map((c) => [c.cache, c.inUse]));

function cacheDiff(base: Record<string, number>): string[] {
  const now = caches();
  return Object.keys(base).filter((k) => base[k] !== now[k]).map((k) => `${k}: ${base[k]} -> ${now[k]}`);
}

/** Runs n LWPs of takesResources, `batch` at a time; deletes their timers; returns how many failed timer_create. */
async function churn(port: number, n: number, batch: number): Promise<number> {
  const fails = new SharedArrayBuffer(4);
  let failed = 0;
  for (let done = 0; done < n; done += batch) {
    const lids: number[] = [];
    for (let i = 0; i < batch; i++) lids.push(sys.lwp_create({ module: fixtures, export: 'takesResources', arg: { port, fails } }));
    for (const l of lids) assert.equal(await within(sys.lwp_wait_async(l), 30000, `LWP ${l}`), l);
    // Their timers are the process's: delete them here (an LWP's exit does not).
    const evs = sys.port_getn(port, batch, batch, { tv_sec: 10, tv_nsec: 0 });
    assert.equal(evs.length, batch);
    for (const ev of evs) if (ev.portev_events === 1) sys.timer_delete(ev.portev_user); else failed++;
  }
  return failed;
}

test('SIGEV_THREAD mailboxes come back when workers are retired: 40 LWPs over retired workers (24 mailboxes)', async () => {
  const base = caches();
  const port = sys.port_create();
  // Batches larger than the pool: most workers are retired after their LWP.
  const failed = await churn(port, 40, 10);
  assert.equal(failed, 0, `timer_create(SIGEV_THREAD) was EAGAIN in ${failed} LWPs`);
  sys.close(port); // the port's own events (its lane's) go with it
  assert.deepEqual(cacheDiff(base), []);
});

test('a thousand LWPs that each take a SIGEV_THREAD mailbox and a send lane come and go: every kernel cache is back at baseline', async () => {
  const base = caches();
  const port = sys.port_create();
  const failed = await churn(port, 1000, POOL);
  assert.equal(failed, 0);
  sys.close(port);
  assert.deepEqual(cacheDiff(base), [], 'every kernel cache back at baseline');
  assert.deepEqual(sys.lwp_check(), []);
});
