/**
 * ukern:panic reaches the threads that meet the panic, not only the one
 * that raised it. A kernel thread's death, the likeliest panic, is raised
 * in that kernel thread (or in its starter's watch), where no program can
 * subscribe: a main thread subscribed to ukern:panic heard nothing while
 * every call it made failed with EIO. Each thread now publishes the first
 * panic once, when a call of it first fails with the panic's EIO (from a
 * microtask), or at once if it raised the panic itself.
 *
 * The child (this file with FIX_PANIC_ROLE set) makes the clock thread
 * crash (UKERN_KTHREAD_CRASH=clock, as test/kthread-dies), calls the kernel
 * until a call fails, and prints what its subscriber heard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import dc from 'node:diagnostics_channel';
import * as sys from 'ukern/sys';
import { until, childRun } from './helpers.js';

const ZERO = { tv_sec: 0, tv_nsec: 0 };

if (process.env.FIX_PANIC_ROLE !== undefined) {
  const heard: { message: string; lid: number }[] = [];
  dc.subscribe('ukern:panic', (m) => { heard.push(m as { message: string; lid: number }); });
  const kq = sys.kqueue();
  // 300 ms out: the clock thread starts at once, and crashes at its first wake-up.
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_TIMER, sys.EV_ADD, 0, 300, 0)], 0, ZERO);
  let code = 'none';
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    try { sys.kevent(kq, null, 4, { tv_sec: 1, tv_nsec: 0 }); } catch (e) { code = (e as { code?: string }).code ?? String(e); break; }
    await new Promise((r) => setTimeout(r, 5));
  }
  // A second failing call publishes nothing more.
  try { sys.kevent(kq, null, 4, ZERO); } catch { /* EIO */ }
  await until(() => heard.length > 0, 2000, 'ukern:panic').catch(() => {});
  await new Promise((r) => setTimeout(r, 20));
  console.log(JSON.stringify({ code, heard: heard.map((h) => ({ named: /kernel thread clock died/.test(h.message), lid: h.lid >= 0x3f000000 ? 'system' : h.lid })) }));
} else {
  test('a main thread subscribed to ukern:panic hears a kernel thread\'s death once, when its calls start failing', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), [], 30_000, { UKERN_KTHREAD_CRASH: 'clock', FIX_PANIC_ROLE: 'main' });
    assert.equal(r.signal, null, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { code: 'EIO', heard: [{ named: true, lid: 'system' }] }, r.stderr);
  });
}
