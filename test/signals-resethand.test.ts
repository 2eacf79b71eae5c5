/**
 * A handler installed with SA_RESETHAND is back to SIG_DFL once it ran: the
 * router must then drop its host listener, so that the next signal from
 * another process gets the host's default action (SIGTERM kills) even while
 * LWP 1 runs JavaScript without returning to its event loop, as a signal
 * nothing in the program wants does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { until, within } from './helpers.js';

test('SA_RESETHAND: after the handler ran once, SIGTERM from outside kills a busy LWP 1', async () => {
  const sys = import.meta.resolve('ukern/sys');
  const code = `import * as sys from '${sys}';
    sys.sigaction(sys.SIGTERM, { sa_handler: (s) => {
      console.log('caught ' + s);
      // A later turn: the router has synced by then (the reset rang it on this thread).
      setTimeout(() => {
        console.log('listeners ' + process.listenerCount('SIGTERM') + ' spin');
        const end = Date.now() + 60000; while (Date.now() < end); // never back to the loop
        console.log('spun');
      }, 200);
    }, sa_flags: sys.SA_RESETHAND });
    setTimeout(() => {}, 60000); console.log('ready');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (c, s) => res({ code: c, signal: s })));
  try {
    await until(() => out.includes('ready'), 10000, `"ready": ${out}`);
    child.kill('SIGTERM');
    await until(() => out.includes(' spin'), 10000, `" spin": ${out}`);
    child.kill('SIGTERM');
    const r = await within(done, 10000, `the child's death by SIGTERM while it spins: ${out}`);
    assert.equal(r.signal, 'SIGTERM', out);
    assert.match(out, /caught 15/);
    assert.match(out, /listeners 0 spin/);
    assert.doesNotMatch(out, /spun/);
  } finally {
    child.kill('SIGKILL');
  }
});
