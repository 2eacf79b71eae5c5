/**
 * The package by its name, as programs get it: `ukern` and `ukern/sys` (the
 * bundle's entries over one kernel script per thread, with its code cache),
 * LWPs whose start modules import `ukern/sys`, in a fresh child process
 * with a deadline (test/scenarios/package.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from './helpers.js';

test('ukern and ukern/sys by name: one kernel per thread, shared with LWPs on the bundle trampoline', () => {
  const r = scenario('package', [], 90_000);
  assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(o.shared, true, 'a Port of ukern is not a port of ukern/sys');
  assert.equal(o.sysErrorShared, true, 'ukern/sys threw an error that is not ukern SysError');
  assert.equal(o.lwp, true, 'the LWP importing ukern/sys did not send on the main thread\'s port');
  assert.equal(o.lwpSource, true, `workers after the first did not compile the kernel text the main thread shared (1: shared, 2: files): ${JSON.stringify(o.lwpSources)}`);
  assert.equal(o.died, true);
  assert.equal(o.grandchild, true, 'an LWP\'s own create did not run');
  assert.equal(o.timer, true, 'a timer armed by a program of the package did not expire');
  assert.equal(o.kthreads, true, 'the clock and intr threads did not start from the bundle');
  assert.equal(o.cache, 'used', 'V8 rejected the kernel script\'s code cache (or it is missing)');
  assert.equal(o.classesCache, 'used', 'V8 rejected the class layer script\'s code cache (or it is missing)');
});

test('ukern/sys alone loads the kernel script, not the class layer\'s', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const loader = new URL('../src/loader.js', import.meta.url).href;
  const code = `const s = await import('ukern/sys'); s.boot(); s.port_create();
    const { kernel_cache_state } = await import(${JSON.stringify(loader)});
    console.log(JSON.stringify([kernel_cache_state('kernel'), kernel_cache_state('ukern')]));
    await import('ukern');
    console.log(JSON.stringify([kernel_cache_state('kernel'), kernel_cache_state('ukern')]));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const [sysOnly, both] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as string[]);
  assert.deepEqual(sysOnly, ['used', 'not loaded'], 'importing ukern/sys loaded the class layer');
  assert.deepEqual(both, ['used', 'used'], 'importing ukern did not load the class layer over the same kernel');
});

test('kernel threads of the bundle start from CommonJS entries over the kernel script; of the compiled tree, from those when current', async () => {
  const { kernel_module_url } = await import('../src/lwp/spawn.js');
  const { existsSync, statSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  for (const [dir, name] of [['timers', 'clockthread'], ['intr', 'intrthread'], ['aio', 'aiothread']] as const) {
    const fromBundle = kernel_module_url(new URL(`../bundle/${name}.js`, import.meta.url));
    assert.match(fromBundle.href, new RegExp(`/build/bundle/${name}\\.cjs$`));
    assert.ok(existsSync(fileURLToPath(fromBundle)), `${fromBundle.href} was not built`);
    const mod = new URL(`../src/${dir}/${name}.js`, import.meta.url);
    const current = statSync(fileURLToPath(fromBundle)).mtimeMs >= statSync(fileURLToPath(new URL('../src/kern/boot.js', import.meta.url))).mtimeMs;
    assert.equal(kernel_module_url(mod).href, current ? fromBundle.href : mod.href, current ? 'a current bundle is not preferred' : 'a stale bundle is used');
  }
});

test('a program whose LWP made lwp0 start a kernel thread stays until that thread is up', () => {
  for (let i = 0; i < 3; i++) {
    const r = scenario('kthread-exit', [], 60_000);
    assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { intrStarted: number; starting: number };
    assert.deepEqual(o, { intrStarted: 1, starting: 0 }, 'the process ended while the intr thread was still starting');
  }
});
