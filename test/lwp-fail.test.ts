/**
 * Fail fast, never hang: each scenario runs in its own Node process (a
 * panicked kernel cannot be reused, and a regression would hang), under a
 * deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { scenario } from './helpers.js';

const count = (s: string, sub: string): number => s.split(sub).length - 1;

test('lwp_wait with sleep-queue entries exhausted (default limits): EAGAIN, no lock left held, everything still works', () => {
  const r = scenario('lwp-sqexhaust', [], 30000);
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'exhausted true', 'wait EAGAIN', 'wait_async EAGAIN', 'check []', 'parks true',
    'collected true', 'collected2 true', 'sleepers back true',
  ]);
});

test('taking a kernel mutex one already holds is a kernel panic (EIO, one clear message), not an endless wait', () => {
  const r = scenario('lwp-recurse', [], 20000);
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^recursion EIO after \d+ ms$/m);
  assert.equal(count(r.stderr, 'ukern: panic:'), 1, r.stderr);
  assert.match(r.stderr, /thread 1 tried to take the kernel mutex at word \d+, which it already holds/);
});

test('a thread blocked on a kernel mutex whose holder died gets EIO promptly; the process ends on its own', () => {
  const r = scenario('lwp-deadowner', [], 20000);
  assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
  const m = /^blocked call EIO (\d+) ms after the death$/m.exec(r.stdout);
  assert.ok(m, r.stdout + r.stderr);
  // Before: a 1 s timed wait that had just begun noticed the panic ~1000 ms later.
  assert.ok(Number(m[1]) < 500, `EIO ${m[1]} ms after the holder died`);
  assert.match(r.stdout, /^wait EIO$/m);
  assert.match(r.stdout, /^main done$/m);
  assert.equal(r.status, 70, 'a panicked process ends with EX_SOFTWARE');
  assert.equal(count(r.stderr, 'ukern: panic:'), 1, r.stderr);
});

for (const form of ['sync', 'async']) {
  test(`an LWP that dies inside a kernel lock: lwp_wait (${form}) on it gets EIO, later calls too, and the process ends`, () => {
    const r = scenario('lwp-diesinlock', [form], 20000);
    assert.equal(r.signal, null, `hung:\n${r.stdout}\n${r.stderr}`);
    assert.deepEqual(r.stdout.trim().split('\n'), ['wait EIO', 'wait again EIO', 'create EIO', 'main done']);
    assert.equal(r.status, 70);
    assert.match(r.stderr, /ukern: panic: LWP \d+ died holding 1 kernel lock\(s\)/);
  });
}

test('a program started with node --input-type=module -e (and a per-process V8 flag) can create LWPs', () => {
  const sys = import.meta.resolve('ukern/sys');
  const fx = new URL('./fixtures/lwps-pkg.js', import.meta.url).href;
  const code = `import * as sys from '${sys}';
const l = sys.lwp_create({ module: new URL('${fx}'), export: 'returnsAtOnce' });
console.log('collected', (await sys.lwp_wait_async(l)) === l);`;
  for (const extra of [[], ['--max-old-space-size=256']]) {
    const r = spawnSync(process.execPath, [...extra, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.signal, null, `hung: ${r.stderr}`);
    assert.equal(r.status, 0, `${extra.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'collected true');
  }
});
