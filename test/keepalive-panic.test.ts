/**
 * After a kernel panic the kernel's keepalive no longer holds the process
 * open. A wait that never enters the kernel again cannot fail with EIO (a
 * Timer's next(), which waits for the thread's mailbox pump): when the
 * clock thread died, its process, kept alive by the pump's hold, hung for
 * ever. Each thread that holds the event loop for kernel waits watches the
 * panic mark and lets go of the loop at the panic; the process ends, with
 * status 70 (as after a panic with LWPs).
 *
 * The child (this file with FIX_KEEPALIVE_ROLE set) iterates a ref'd
 * periodic Timer with UKERN_KTHREAD_CRASH=clock (the clock thread throws at
 * its first wake-up, as in test/kthread-dies).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Timer } from 'ukern';
import { childRun } from './helpers.js';

if (process.env.FIX_KEEPALIVE_ROLE !== undefined) {
  const t = new Timer({ delay: 20, interval: 20 });
  const next = (): void => { void t.next().then(() => { next(); }, (e: unknown) => { console.log(`next rejected: ${String(e)}`); }); };
  next();
} else {
  test('a process whose clock thread died while a ref\'d Timer waits ends (status 70), not held open by the kernel\'s keepalive', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), [], 20_000, { UKERN_KTHREAD_CRASH: 'clock', FIX_KEEPALIVE_ROLE: '1' });
    assert.equal(r.signal, null, `killed at the deadline: still alive after the panic\n${r.stderr}`);
    assert.match(r.stderr, /ukern: panic: kernel thread clock died/);
    assert.equal(r.status, 70, r.stderr);
  });
}
