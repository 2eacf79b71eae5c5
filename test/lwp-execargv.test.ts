/**
 * A program started with `node --input-type=module -e <code>` creates LWPs:
 * the LWP workers (started by the main thread or by lwp0) drop the options
 * that only name the main thread's entry point (a worker refuses
 * --input-type). Runs in a child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('node --input-type=module -e: lwp_create runs the LWP and lwp_wait collects it', () => {
  const sys = import.meta.resolve('ukern/sys');
  const fx = new URL('./fixtures/lwps-pkg.js', import.meta.url).href;
  const code = `import * as sys from '${sys}';
    const lid = sys.lwp_create({ module: new URL('${fx}'), export: 'returnsAtOnce' });
    console.log('collected ' + (sys.lwp_wait(lid) === lid));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /collected true/);
});
