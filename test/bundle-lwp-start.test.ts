/**
 * The class layer's LWP start shim as the package ships it,
 * build/bundle/lwp-start.js: every Lwp.create of `ukern` runs it in the
 * LWP's worker. It must carry no kernel code: its imports of the sys layer
 * are the thread's one kernel instance, taken from the loader (as the
 * class layer's script takes them), not the kernel's modules bundled again
 * (they were: ~190 KB compiled without a cache and run a second time in
 * every fresh LWP worker, their state a second copy beside the kernel
 * script's). Checked on the file, then in a fresh process (with a
 * deadline) that an Lwp of the package still hands back its value and its
 * failure (the shim serializes both with the kernel's v8_module).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SHIM = new URL('../bundle/lwp-start.js', import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('build/bundle/lwp-start.js carries no kernel code: it takes the sys layer from the thread\'s kernel', () => {
  const text = readFileSync(SHIM, 'utf8');
  // (assert.ok, not match: a failure names what is wrong without printing the file.)
  const bundled = ['mutex_enter', 'kcache_create', 'kpanic', 'errno_of'].filter((fn) => new RegExp(`function ${fn}\\b`).test(text));
  assert.deepEqual(bundled, [], 'the shim bundles kernel functions');
  assert.ok(/from\s*"\.\/loader\.js"/.test(text), 'the shim does not take the kernel instance from the loader');
  assert.ok(text.length < 20_000, `the shim is ${text.length} bytes: kernel modules bundled in`);
});

test('an Lwp of the package hands back its value and its failure through the shim', () => {
  const start = new URL('./fixtures/lwp-start-pkg.js', import.meta.url).href;
  const code = `import { Lwp, boot } from 'ukern';
    boot();
    const module = new URL(${JSON.stringify(start)});
    const ok = await Lwp.create({ module, export: 'plusOne', arg: 41 }).wait();
    let failed = null;
    try { await Lwp.create({ module, export: 'badFd' }).wait(); } catch (e) { failed = { code: e.code, cause: e.cause?.code, name: e.cause?.name }; }
    console.log(JSON.stringify({ ok, failed }));`;
  // cwd: the repository, so that 'ukern' is this package by name (its exports: the bundle).
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as unknown;
  assert.deepEqual(o, { ok: 42, failed: { code: 'ERR_UKERN_LWP_THREW', cause: 'EBADF', name: 'SysError' } });
});
