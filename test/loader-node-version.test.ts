/**
 * The loader on a Node without process.getBuiltinModule (before 20.16,
 * package.json engines): the import of either entry fails at once with
 * ERR_UKERN_NODE_VERSION, saying what it needs, rather than with a
 * TypeError from inside the loader. (It takes its builtins through
 * process.getBuiltinModule: an ES import of node:module built that module's
 * ESM facade, ~1.5 ms of every fresh process's import; src/loader.ts.)
 * An older Node is stood in for by deleting the function before the import,
 * in a fresh process with a deadline; the control case keeps it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../bundle/', import.meta.url));

function run(entry: string, without: boolean): { status: number | null; stderr: string; stdout: string } {
  const code = `${without ? 'delete process.getBuiltinModule;' : ''}
    const m = await import(${JSON.stringify(`${BUNDLE}${entry}`)}); console.log(typeof (m.port_create ?? m.Port));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

for (const entry of ['sys.js', 'index.js']) {
  test(`${entry} on a Node without process.getBuiltinModule: ERR_UKERN_NODE_VERSION`, () => {
    const r = run(entry, true);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ukern needs Node 20\.16 or later \(process\.getBuiltinModule\); this is Node v\d+/, r.stderr);
    assert.match(r.stderr, /code: 'ERR_UKERN_NODE_VERSION'/, r.stderr);
  });
  test(`${entry} with process.getBuiltinModule: loads`, () => {
    const r = run(entry, false);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'function');
  });
}
