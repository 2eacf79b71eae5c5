/**
 * The loader and a code cache older than its script (src/loader.ts
 * cache_read). V8 checks a cache against its source by length only, so a
 * script edited in place to a text of the same length, its cache left as
 * the build wrote it, ran the cached (old) code of every function the cache
 * holds, with the cache reported 'used'. Checked on a copy of the package's
 * bundle in a temporary directory, in fresh processes with a deadline: the
 * kernel script's message of a SysError (kern/errno.ts sys_message, in the
 * cache: the build's warm-up throws ETIME) edited to one of the same length.
 * The copy as built uses its cache; edited and newer than its cache, the
 * edit runs and the cache is 'stale'; a cache newer than its script (the
 * build's order, and npm's equal times) is still used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../bundle', import.meta.url));

/** In a fresh process over the copy: the kernel script's cache state and the message of an EBADF. */
function run(dir: string): { state: string; message: string } {
  const code = `const sys = await import('./bundle/sys.js');
    const { kernel_cache_state } = await import('./bundle/loader.js');
    sys.boot();
    let message = '';
    try { sys.port_get(-1, { tv_sec: 0, tv_nsec: 0 }); } catch (e) { message = e.message; }
    console.log(JSON.stringify({ state: kernel_cache_state('kernel'), message }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { state: string; message: string };
}

test('a kernel script edited after its code cache was written runs as edited, without the cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-stale-'));
  try {
    cpSync(BUNDLE, join(dir, 'bundle'), { recursive: true, preserveTimestamps: true });
    const script = join(dir, 'bundle/kernel.cjs'), cache = `${script}.cache`;
    assert.deepEqual(run(dir), { state: 'used', message: 'port_get: EBADF (fd -1)' }, 'the copy as built');

    const text = readFileSync(script, 'latin1');
    const from = 'return`${syscall}: ${code}', to = 'return`${syscall}! ${code}';
    assert.equal(text.split(from).length, 2, 'the kernel script has no one sys_message to edit (kern/errno.ts changed?)');
    writeFileSync(script, text.replace(from, to), 'latin1');
    const now = Date.now() / 1000;
    utimesSync(cache, now - 60, now - 60);
    utimesSync(script, now, now);
    assert.deepEqual(run(dir), { state: 'stale', message: 'port_get! EBADF (fd -1)' }, 'the edited script ran its old code from the cache');

    // The cache written after the script (the build's order): used, as V8 accepts it (the same length).
    utimesSync(cache, now + 1, now + 1);
    assert.equal(run(dir).state, 'used');
    // npm's tarball: every file the same time.
    utimesSync(cache, now, now);
    assert.equal(run(dir).state, 'used');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
