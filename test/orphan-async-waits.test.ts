/**
 * An LWP that exits with an async wait pending (a port_get_async or a
 * kevent_async it never awaited) has its sleeper orphaned and freed by the
 * LWP layer (lwp/ops.ts lwp_orphan_sleepers, kern/sleepq.ts sq_orphan), and
 * the thread is abandoned: the wait's continuation never runs, by design
 * (it must not touch kernel memory again). But that continuation is also
 * where the call gives back the reference it took on the object for its
 * sleep (ports/getn.ts: the port's thrcnt; kqueue/kevent.ts: its hold on the
 * kqueue). Nothing else gives it back, so once the descriptor is closed the
 * object's struct is never released: each such exit leaks one port or one
 * kqueue from its cache (found reading sq_orphan against the generators'
 * `finally` blocks; review 4, helper kern).
 *
 * Now each kind of async sleep says what its call holds (sq_set_orphan) and
 * its subsystem how to give it back (sq_orphan_release_register), which
 * sq_orphan does. Each case runs in a fresh process (its
 * own kernel, so the caches' in-use counts start at 0) and prints the
 * counts; the control cases (the same LWP without the async wait) show the
 * close alone releases the struct.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const sysUrl = new URL('../src/sys/index.js', import.meta.url).href;
const kernSysUrl = new URL('../src/kern/sys.js', import.meta.url).href;

/** In a fresh process: create the object, an LWP that (maybe) starts `wait` on it and returns, reap it, close: the cache's in-use count. */
function leftInUse(create: string, wait: string, cache: string): number {
  const mod = `import * as sys from ${JSON.stringify(sysUrl)};\nexport function run(fd) { ${wait}; return 0; }\n`;
  const src = `
    const sys = await import(${JSON.stringify(sysUrl)});
    const { kmem_snapshot } = await import(${JSON.stringify(kernSysUrl)});
    const inuse = () => kmem_snapshot().caches.find((c) => c.cache === ${JSON.stringify(cache)}).inUse;
    sys.boot({});
    const base = inuse();
    const fd = ${create};
    const lid = sys.lwp_create({ module: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(mod)}), export: 'run', arg: fd });
    await sys.lwp_wait_async(lid);
    sys.close(fd);
    console.log(JSON.stringify(inuse() - base));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as number;
}

test('control: an LWP that only returns; closing its port and its kqueue releases both structs', () => {
  assert.equal(leftInUse('sys.port_create()', 'void fd', 'port'), 0);
  assert.equal(leftInUse('sys.kqueue()', 'void fd', 'kqueue'), 0);
});

test('a port whose port_get_async was pending when its LWP exited is released by its close', () => {
  assert.equal(leftInUse('sys.port_create()', 'sys.port_get_async(fd).catch(() => {})', 'port'), 0, 'port structs left in use after the close');
});

test('a kqueue whose kevent_async was pending when its LWP exited is released by its close', () => {
  assert.equal(leftInUse('sys.kqueue()', 'sys.kevent_async(fd, null, 1, null).catch(() => {})', 'kqueue'), 0, 'kqueue structs left in use after the close');
});
