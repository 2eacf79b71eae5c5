/**
 * Timer.ref()/unref() and a pending next({ timeout }) (review of
 * src/ukern/timer.ts): the timeout's timer keeps the process alive as the
 * Timer does, and README's rule says ref()/unref() applies to waits
 * already pending too. Before the fix the timeout's timer kept the state
 * the Timer had when next() was called: after unref() the process stayed
 * alive until the timeout passed (the 'unref' child still alive 5 s later:
 * status 2), and after ref() it exited with the wait pending (the 'ref'
 * child ended without its ETIMEDOUT).
 *
 * This file is its own child: run with a mode, it sets the scene and prints
 * what it saw; an unref'd timer ends it with status 2 if the process is
 * still alive after 5 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Timer } from 'ukern';
import { childRun } from './helpers.js';

const mode = process.argv[2];

if (mode === undefined) {
  test('Timer.unref() with a next({ timeout }) pending: the process does not wait for the timeout', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), ['unref'], 60_000);
    assert.equal(r.status, 0, `status ${r.status} (2: still alive 5 s later)\n${r.stderr}`);
    assert.equal(r.stdout.trim(), 'waiting', r.stderr);
  });
  test('Timer.ref() with a next({ timeout }) pending: the process waits for it', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), ['ref'], 60_000);
    assert.equal(r.status, 0, `status ${r.status}\n${r.stderr}`);
    assert.equal(r.stdout.trim(), 'waiting\nETIMEDOUT', r.stderr);
  });
} else {
  setTimeout(() => { console.log('still alive'); process.exit(2); }, 5000).unref();
  // Disarmed (delay 0): only the timeout of the pending next() can keep the process alive.
  const t = new Timer({ delay: 0, ref: mode === 'ref' ? false : true });
  const timeout = mode === 'ref' ? 200 : 60_000;
  t.next({ timeout }).then(() => { console.log('delivered'); }, (e: unknown) => { console.log((e as { code?: string }).code); });
  if (mode === 'ref') t.ref(); else t.unref();
  console.log('waiting');
}
