/**
 * A checkout's bundle older than the compiled tree it is built from (a tsc
 * run since the last bundle step: `npx tsc -p .` alone): a program of the
 * package's entries ran the old kernel silently. The thread that reads the
 * kernel script now warns (UKERN_STALE_BUNDLE), by the file the tree's
 * kernel threads already go by (build/src/kern/boot.js, src/lwp/spawn.ts);
 * a current bundle, and an installed package (no compiled tree code), give
 * no warning. Checked on a copy of the bundle and of that file in a
 * temporary directory, in fresh processes with a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../bundle', import.meta.url));
const BOOT = fileURLToPath(new URL('../src/kern/boot.js', import.meta.url));

function run(dir: string): { status: number | null; stderr: string; stdout: string } {
  const code = "const s = await import('./build/bundle/sys.js'); s.boot(); s.close(s.port_create()); console.log('ran');";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

test('a bundle older than build/src/kern/boot.js warns UKERN_STALE_BUNDLE; a current one, or none to compare, does not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-stalebundle-'));
  try {
    cpSync(BUNDLE, join(dir, 'build/bundle'), { recursive: true });
    const now = Date.now() / 1000;
    for (const f of ['kernel.cjs', 'kernel.cjs.cache']) utimesSync(join(dir, 'build/bundle', f), now - 60, now - 60);

    let r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no compiled tree beside the bundle (an installed package): no warning');

    mkdirSync(join(dir, 'build/src/kern'), { recursive: true });
    const boot = join(dir, 'build/src/kern/boot.js');
    cpSync(BOOT, boot);
    utimesSync(boot, now, now);
    r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ran\n');
    assert.match(r.stderr, /\[UKERN_STALE_BUNDLE\] Warning: ukern: the bundle's kernel script \(.*kernel\.cjs\) is older than the compiled tree/, r.stderr);

    utimesSync(boot, now - 120, now - 120);
    r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'a current bundle warned');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
