/**
 * The loader when a file of the bundle is missing (a package copied or
 * installed in part, a checkout whose bundle step did not run): a missing
 * code cache only costs the compile (state 'absent'); a missing script
 * fails the import with ERR_UKERN_SCRIPT_MISSING, naming the file and what
 * brings it back (it was Node's bare ENOENT from inside node:fs), and a
 * missing class layer script fails only `ukern`, not `ukern/sys`. Checked
 * on a copy of the bundle in a temporary directory, in fresh processes with
 * a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../bundle', import.meta.url));

function run(dir: string, entry: string): { status: number | null; stdout: string; stderr: string } {
  const code = `const m = await import('./bundle/${entry}'); const { kernel_cache_state } = await import('./bundle/loader.js');
    console.log(JSON.stringify([kernel_cache_state('kernel'), kernel_cache_state('ukern')]));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withCopy(missing: string[], check: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-missing-'));
  try {
    cpSync(BUNDLE, join(dir, 'bundle'), { recursive: true, preserveTimestamps: true });
    for (const f of missing) rmSync(join(dir, 'bundle', f));
    check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('no code cache: the script is compiled without it', () => {
  withCopy(['kernel.cjs.cache', 'ukern.cjs.cache'], (dir) => {
    const r = run(dir, 'index.js');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['absent', 'absent']);
  });
});

test('no kernel script: the import fails with ERR_UKERN_SCRIPT_MISSING naming it', () => {
  withCopy(['kernel.cjs'], (dir) => {
    const r = run(dir, 'sys.js');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Error: ukern: cannot read its script .*kernel\.cjs \(ENOENT\): the package is incomplete/, r.stderr);
    assert.match(r.stderr, /code: 'ERR_UKERN_SCRIPT_MISSING'/, r.stderr);
  });
});

test('no class layer script: ukern fails naming it, ukern/sys still loads', () => {
  withCopy(['ukern.cjs'], (dir) => {
    const r = run(dir, 'index.js');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Error: ukern: cannot read its script .*ukern\.cjs \(ENOENT\)/, r.stderr);
    const s = run(dir, 'sys.js');
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(JSON.parse(s.stdout), ['used', 'not loaded']);
  });
});
