/**
 * examples/port-stream's one argument, the number of events: anything but a
 * positive integer was taken as NaN or 0 ("NaN events in 7 ms: NaN M
 * events/s", status 0); it is now a usage error (status 2, one line saying
 * what was wrong), as the ukern command's bad values are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
test('examples/port-stream: a count that is no positive integer is a usage error (it streamed "NaN events" and exited 0)', () => {
  for (const bad of ['abc', '-5', '0', '1.5']) {
    const r = spawnSync(process.execPath, [join(examples, 'port-stream.js'), bad], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `${bad}: status ${r.status}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`positive integer, got '${bad}'`));
    assert.equal(r.stdout, '', `${bad}: it ran`);
  }
});
