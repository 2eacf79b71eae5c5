/**
 * The examples run as programs from any path: each tells "run as a program"
 * from "loaded as an LWP's module" by comparing its import.meta.url with
 * process.argv[1]. That was a plain file URL of argv[1], which differs from
 * import.meta.url (Node's real path of the module) when the program is run
 * through a symlink, or from a directory whose name has a '#' or '%': the
 * example then did nothing and exited 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));

test('examples/port-stream runs through a symlinked directory whose name has a #', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-ex-'));
  try {
    const link = join(dir, 'ex#1');
    symlinkSync(examples, link, 'dir');
    const r = spawnSync(process.execPath, [join(link, 'port-stream.js'), '1000'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
    assert.match(r.stdout, /^1000 events in /m, `the example did not run:\n${r.stdout}`);
    assert.match(r.stdout, /every event in order/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

