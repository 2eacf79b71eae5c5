/**
 * Signals from outside: another process's kill(2) reaches the kernel as a
 * process-directed signal for a signal the program catches or waits for,
 * and an OS signal nothing wants keeps its default action. Each case runs
 * in a child process; the test is the other process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { until, within } from './helpers.js';

interface Child { out: () => string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; kill: (s: NodeJS.Signals) => void }
function start(args: string[]): Child {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { out: () => out, done, kill: (s) => child.kill(s) };
}
const scen = fileURLToPath(new URL('./scenarios/sig-host.js', import.meta.url));

async function run(args: string[], sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const c = start(args);
  try {
    await until(() => c.out().includes('ready'), 10000, `"ready" from ${args.join(' ')}`);
    c.kill(sig);
    const r = await within(c.done, 10000, `the child's exit: ${c.out()}`);
    return { ...r, out: c.out() };
  } finally {
    c.kill('SIGKILL');
  }
}

test('a caught signal sent by another process runs the handler in LWP 1 (SI_USER)', async () => {
  const r = await run([scen, 'handler'], 'SIGUSR2');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /handler 12 code 0/);
});

test('a caught signal from outside that LWP 1 takes runs its handler within the router\'s own listener', async () => {
  // The router's listener comes first (sigaction added it); the handler has
  // run when Node calls the next one, not on a later turn of the loop.
  const r = await run([scen, 'order'], 'SIGUSR2');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ran handler listener/);
});

test('a signal another LWP waits for in sigwaitinfo reaches it from outside', async () => {
  const r = await run([scen, 'sigwait'], 'SIGUSR2');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /sigwaitinfo 12 code 0/);
});

test('a signal caught then set back to SIG_DFL keeps its default action from outside', async () => {
  const r = await run([scen, 'restored'], 'SIGTERM');
  assert.equal(r.signal, 'SIGTERM', r.out);
  assert.doesNotMatch(r.out, /caught/);
});

test('a program started with --input-type=module -e still gets its signals', async () => {
  const sys = import.meta.resolve('ukern/sys');
  const code = `import * as sys from '${sys}'; const k = setInterval(() => {}, 1000);
    sys.sigaction(sys.SIGUSR2, { sa_handler: (s) => { console.log('got ' + s); clearInterval(k); } }); console.log('ready');`;
  const r = await run(['--input-type=module', '-e', code], 'SIGUSR2');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /got 12/);
});
