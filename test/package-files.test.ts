/**
 * What `npm pack` puts in the tarball (package.json `files`), listed by npm
 * itself (`npm pack --dry-run --json --ignore-scripts`: no build, no
 * tarball written; a child process with a deadline): the whole bundle
 * (build/bundle: the entries, the kernel and class layer scripts with their
 * code caches, the loader, the class layer's LWP start shim, the kernel
 * threads' entries, the command), the declarations of the compiled tree for
 * the types, the README, the licence; and none of the compiled tree's code.
 * The package runs from the bundle alone (its exports, its bin and every
 * thread it starts); the tree's files (~200 stubs, _tree.cjs and its cache:
 * ~1.5 MB, nearly half the unpacked package) were shipped for nothing, and
 * nothing checked that the shim Lwp.create runs was in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('the tarball holds the whole bundle and the declarations, none of the compiled tree\'s code', () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `npm pack: status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const files = new Set((JSON.parse(r.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));

  const bundle: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(`${ROOT}${dir}`, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}/${e.name}`); else bundle.push(`${dir}/${e.name}`);
    }
  };
  walk('build/bundle');
  assert.ok(bundle.includes('build/bundle/lwp-start.js') && bundle.includes('build/bundle/kernel.cjs.cache'), `not a built bundle: ${bundle.join(', ')}`);
  assert.deepEqual(bundle.filter((f) => !files.has(f)), [], 'bundle files the tarball lacks');

  for (const f of ['package.json', 'README.md', 'LICENSE', 'build/src/index.d.ts', 'build/src/sys/index.d.ts']) assert.ok(files.has(f), `the tarball lacks ${f}`);
  const tree = [...files].filter((f) => f.startsWith('build/src/') && !f.endsWith('.d.ts'));
  assert.deepEqual(tree.slice(0, 10), [], `the tarball ships ${tree.length} files of the compiled tree`);
  const stray = [...files].filter((f) => !f.startsWith('build/bundle/') && !f.endsWith('.d.ts') && !['package.json', 'README.md', 'LICENSE'].includes(f));
  assert.deepEqual(stray, [], 'files outside the bundle and the declarations');
});
