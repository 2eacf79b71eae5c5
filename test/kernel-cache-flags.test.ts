/**
 * The package's code caches (scripts/kernel-cache.mjs, run by the build)
 * are made for `node` as users run it. V8 rejects a cache made under other
 * V8 flags, and the build's child process inherited NODE_OPTIONS: a build
 * (or `npm pack`) under NODE_OPTIONS=--max-old-space-size=4096, common in
 * CI, wrote caches that every plain node rejected, compiling the kernel and
 * the classes without them, silently. Checked on a copy of the bundle and
 * of the script in a temporary directory (the script writes beside itself,
 * ../build/bundle; the checkout's build is left alone), in fresh processes
 * with a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../bundle', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../scripts/kernel-cache.mjs', import.meta.url));

test('caches made by a build under NODE_OPTIONS with V8 flags are used by a plain node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-cacheflags-'));
  try {
    mkdirSync(join(dir, 'build'), { recursive: true });
    mkdirSync(join(dir, 'scripts'));
    cpSync(BUNDLE, join(dir, 'build/bundle'), { recursive: true });
    cpSync(SCRIPT, join(dir, 'scripts/kernel-cache.mjs'));
    execFileSync(process.execPath, [join(dir, 'scripts/kernel-cache.mjs')], {
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=4096' }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000,
    });
    const code = `await import('./build/bundle/index.js');
      const { kernel_cache_state } = await import('./build/bundle/loader.js');
      console.log(JSON.stringify([kernel_cache_state('kernel'), kernel_cache_state('ukern')]));`;
    const { NODE_OPTIONS: _, ...plain } = process.env;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, env: plain, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout.trim()), ['used', 'used'], 'a plain node rejected the caches the build made');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
