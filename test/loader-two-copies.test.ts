/**
 * Two copies of the package in one process, as npm installs them when a
 * dependency's version range and the program's do not meet: the program's
 * node_modules/ukern and a dependency's node_modules/dep/node_modules/ukern
 * (each a copy of the built bundle with package.json, in a temporary
 * directory; fresh processes with a deadline). Two copies of one build
 * share the thread's kernel: a port made through one is the other's, and an
 * LWP whose start module imports the second copy runs on that one kernel.
 * Two different builds used to share it too, silently (the second copy's
 * entries were the first's kernel and classes, whatever version): now the
 * second copy's import fails with ERR_UKERN_TWO_BUILDS, naming both files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../bundle', import.meta.url));
const PKG = fileURLToPath(new URL('../../package.json', import.meta.url));

function project(): { dir: string; second: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-two-'));
  const first = join(dir, 'node_modules/ukern'), second = join(dir, 'node_modules/dep/node_modules/ukern');
  for (const d of [first, second]) {
    mkdirSync(join(d, 'build'), { recursive: true });
    cpSync(BUNDLE, join(d, 'build/bundle'), { recursive: true, preserveTimestamps: true });
    cpSync(PKG, join(d, 'package.json'));
  }
  writeFileSync(join(dir, 'node_modules/dep/package.json'), JSON.stringify({ name: 'dep', type: 'module', exports: './index.js' }));
  writeFileSync(join(dir, 'node_modules/dep/index.js'), [
    "import * as sys from 'ukern/sys';",
    "import { Port } from 'ukern';",
    'export { sys, Port };',
    "export const start = new URL('./start.js', import.meta.url);",
  ].join('\n'));
  writeFileSync(join(dir, 'node_modules/dep/start.js'), "import * as sys from 'ukern/sys';\nexport function run(fd) { sys.port_send(fd, 1, 77); }\n");
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(join(dir, 'main.js'), [
    "import * as sys from 'ukern/sys';",
    "import { Port } from 'ukern';",
    "const dep = await import('dep');",
    'sys.boot();',
    'const mine = new Port(), theirs = new dep.Port();',
    'theirs.sendSync(1, 9);',
    'const got = sys.port_get(theirs.fd, { tv_sec: 0, tv_nsec: 0 }).portev_user;',
    "const lid = dep.sys.lwp_create({ module: dep.start, export: 'run', arg: mine.fd });",
    'const fromLwp = sys.port_get(mine.fd, { tv_sec: 30, tv_nsec: 0 }).portev_user;',
    'sys.lwp_wait(lid);',
    'console.log(JSON.stringify({ sameSys: dep.sys.port_create === sys.port_create, samePort: dep.Port === Port, got, fromLwp }));',
  ].join('\n'));
  return { dir, second };
}

function run(dir: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

test('two copies of one build share the thread\'s kernel, LWPs of the second copy included', () => {
  const { dir } = project();
  try {
    const r = run(dir);
    assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { sameSys: true, samePort: true, got: 9, fromLwp: 77 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second copy of another build fails at its import with ERR_UKERN_TWO_BUILDS, naming both scripts', () => {
  const { dir, second } = project();
  try {
    appendFileSync(join(second, 'build/bundle/kernel.cjs'), '\n// another build\n');
    const r = run(dir);
    assert.equal(r.signal, null, r.stderr);
    assert.notEqual(r.status, 0, `the second build was served the first's kernel silently\n${r.stdout}`);
    assert.match(r.stderr, /ERR_UKERN_TWO_BUILDS|two different builds of ukern in one process/, r.stderr);
    assert.ok(r.stderr.includes(join(dir, 'node_modules/ukern/build/bundle/kernel.cjs')) && r.stderr.includes(join(second, 'build/bundle/kernel.cjs')), r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
