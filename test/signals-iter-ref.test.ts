/**
 * signals(sigs, { ref: false }): a pending step keeps the process alive
 * only when ref'd (the default), as timers/promises' { ref } option; issue
 * 12 asks for ref()/unref() or { ref: false } on everything that keeps the
 * process alive, and a pending signals() step did, with no way out.
 *
 * This file is its own child: run with a mode, it starts the iteration; an
 * unref'd timer ends it with status 2 if it is still alive 3 s later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { signals } from 'ukern';
import { childRun } from './helpers.js';

const mode = process.argv[2];

if (mode === undefined) {
  test('signals(..., { ref: false }): the process ends with a step pending', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), ['unref'], 60_000);
    assert.equal(r.status, 0, `status ${r.status} (2: still alive 3 s later)\n${r.stderr}`);
    assert.equal(r.stdout.trim(), 'waiting', r.stderr);
  });
  test('signals(...) ref\'d (the default): the pending step keeps the process alive', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), ['ref'], 60_000);
    assert.equal(r.status, 2, `status ${r.status}\n${r.stderr}`);
  });
  test('signals(..., { ref }) takes a boolean', () => {
    assert.throws(() => signals(['SIGUSR2'], { ref: 'no' as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' });
  });
} else {
  setTimeout(() => { console.log('still alive'); process.exit(2); }, 3000).unref();
  const it = signals(['SIGUSR2'], mode === 'unref' ? { ref: false } : {});
  void it.next().then((r) => { console.log('got', r.value?.si_signo); });
  console.log('waiting');
}
