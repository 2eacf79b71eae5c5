/**
 * A boot that fails with ENOMEM (tables that do not fit memsize) is an
 * error the program can catch and go on from, as docs/sys.md says of it:
 * nothing of it is left behind. It left the layout it had computed, every
 * cache and region placed over memory that was never made, and a process
 * that caught the ENOMEM and ended then died at exit (status 1, a
 * RangeError from the kernel's exit hook writing to a word of the 8-byte
 * placeholder view).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const FACADE = import.meta.resolve('ukern/sys');

function child(body: string): { status: number | null; stdout: string; stderr: string } {
  const src = `import * as s from ${JSON.stringify(FACADE)};\n${body}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
}

test('a boot that failed with ENOMEM leaves nothing behind: the process ends with status 0', () => {
  const r = child(`
try { s.boot({ memsize: 65536, port_events_total: 2 ** 24 }); } catch (e) { console.log(e.code); }`);
  assert.equal(r.stdout.trim(), 'ENOMEM');
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
});

test('after a boot that failed with ENOMEM, a boot that fits works, and the process ends with status 0', () => {
  const r = child(`
try { s.boot({ memsize: 65536, port_events_total: 2 ** 24 }); } catch (e) { console.log(e.code); }
s.boot({ memsize: 64 * 1024 * 1024 });
const p = s.port_create();
s.port_send(p, 1, 42);
console.log(s.port_get(p, null).portev_user);`);
  assert.deepEqual(r.stdout.trim().split('\n'), ['ENOMEM', '42']);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
});
