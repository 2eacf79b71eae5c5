/**
 * The README's list of examples against examples/: each program there is
 * listed (with what it shows), and each listed name is a program there. The
 * programs themselves run in test/lwp-class.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

test('the README lists every program of examples/, and only those', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const section = readme.slice(readme.indexOf('## Examples'), readme.indexOf('\n## ', readme.indexOf('## Examples') + 1));
  const listed = [...section.matchAll(/^- `([a-z0-9-]+)` — /gm)].map((m) => m[1]!).sort();
  const files = readdirSync(new URL('examples/', root)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  assert.ok(files.length > 0);
  assert.deepEqual(listed, files);
});
