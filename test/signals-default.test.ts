/**
 * Default actions of signals, each in a child process (never in the test
 * process): termination by the signal as the host reports it (or exit 128 +
 * signo where Node keeps the signal), SIGKILL at once, and a stop that the
 * host really does (state T in /proc) until the parent sends SIGCONT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { scenario, until } from './helpers.js';

test('SIGTERM from LWP 1: the process dies of SIGTERM', () => {
  const r = scenario('sig-default', ['term'], 20000);
  assert.equal(r.signal, 'SIGTERM', r.stderr);
  assert.match(r.stdout, /ready\nsignal 15 default\nport closed by the exit hooks\n/);
  assert.doesNotMatch(r.stdout, /not reached/);
});

test('SIGTERM from another LWP while LWP 1 blocks in port_get: dies of SIGTERM', () => {
  const r = scenario('sig-default', ['term-lwp'], 20000);
  assert.equal(r.signal, 'SIGTERM', r.stderr);
  assert.match(r.stdout, /port closed by the exit hooks/);
  assert.doesNotMatch(r.stdout, /not reached/);
});

test('SIGKILL sent to LWP 1 by another LWP kills the process', () => {
  const r = scenario('sig-default', ['kill'], 20000);
  assert.equal(r.signal, 'SIGKILL', r.stderr);
});

test('a real-time signal (SIGRTMIN+1) from another LWP: exit status 163 (128 + 35), which a Node parent can see (a death by it reads as code and signal both null)', () => {
  const r = scenario('sig-default', ['rt-lwp'], 20000);
  assert.equal(r.status, 163, `${r.signal ?? ''} ${r.stderr}`);
  assert.match(r.stdout, /port closed by the exit hooks/);
  assert.doesNotMatch(r.stdout, /not reached/);
});

test('SIGUSR1, which Node keeps for its inspector: exit status 138 (128 + 10)', () => {
  const r = scenario('sig-default', ['usr1'], 20000);
  assert.equal(r.status, 138, r.stderr);
  assert.match(r.stdout, /port closed by the exit hooks/);
  assert.doesNotMatch(r.stdout, /not reached/);
});

test('SIGUSR1 from another LWP while LWP 1 idles in its event loop: exit status 138', () => {
  const r = scenario('sig-default', ['usr1-lwp'], 20000);
  assert.equal(r.status, 138, r.stderr);
});

test('SIGTSTP stops the whole process (state T) until SIGCONT', async () => {
  const file = fileURLToPath(new URL('./scenarios/sig-default.js', import.meta.url));
  const child = spawn(process.execPath, [file, 'stop'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const state = (): string => { try { return readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]![0]!; } catch { return '?'; } };
  try {
    await until(() => out.includes('ready') && state() === 'T', 10000, 'the child to stop');
    assert.doesNotMatch(out, /continued/);
    child.kill('SIGCONT');
    assert.equal(await done, 0);
    assert.match(out, /continued/);
  } finally {
    child.kill('SIGKILL');
  }
});
