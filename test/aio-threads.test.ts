/**
 * The fallback engine: aio.test.ts, aio-notify.test.ts and aio-stress.test.ts again, in a child process whose kernel
 * is told to use the blocking I/O threads (UKERN_AIO_ENGINE=threads), so
 * every call and errno path is checked on both engines. The child has a
 * deadline: a lost completion fails by timeout rather than hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

for (const name of ['aio', 'aio-notify', 'aio-stress']) test(`${name}.test.ts passes on the threads engine`, () => {
  const file = fileURLToPath(new URL(`./${name}.test.js`, import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, UKERN_AIO_ENGINE: 'threads' };
  delete env.NODE_TEST_CONTEXT; // a test runner of its own, reporting TAP to us
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', timeout: 100_000, env });
  assert.equal(r.signal, null, `timed out:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /# fail 0/);
});
