/**
 * kern/fdtab.ts: descriptor numbers and their reuse. A closed descriptor's
 * number must stay EBADF however often descriptors are opened and closed
 * after it: the generation in the number (as many bits as the table size
 * leaves) and the FIFO free list together make an entry's number come back
 * only after 2^bits laps of the whole free list. With 10 generation bits
 * and a LIFO list, the 1024th reopen after a close handed the closed
 * number out again, and calls on the stale number reached the new port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { SysError } from '../src/kern/errno.js';
import { spawnSync } from 'node:child_process';

const isEBADF = (e: unknown): boolean => e instanceof SysError && e.code === 'EBADF';

test('a closed fd stays EBADF across 3000 close/reopen cycles', () => {
  const stale = sys.port_create();
  sys.close(stale);
  const seen = new Set<number>();
  for (let k = 0; k < 3000; k++) {
    const fd = sys.port_create();
    try {
      assert.notEqual(fd, stale, `reopen ${k + 1} handed the closed number ${stale} out again`);
      assert.ok(!seen.has(fd), `reopen ${k + 1} reused ${fd}`);
      seen.add(fd);
      assert.throws(() => sys.port_send(stale, 1, 0), isEBADF);
    } finally {
      sys.close(fd);
    }
  }
  assert.throws(() => sys.close(stale), isEBADF);
});

test('numbers above 2^31 and below the base are EBADF, not another entry', () => {
  const fd = sys.port_create();
  try {
    for (const bad of [fd + 2 ** 31, 2 ** 32 - 1, fd - 2 ** 20, 0x7fffffff]) {
      assert.throws(() => sys.port_send(bad, 1, 0), isEBADF, `fd ${bad}`);
    }
  } finally {
    sys.close(fd);
  }
});

test('a fresh table hands out never-used entries in index order, then closed ones oldest close first; EMFILE when full (maxfiles 8, fresh process)', () => {
  // The never-used entries come from a cursor, not a list threaded at boot:
  // the order must be the one the threaded list gave.
  const src = `
    const sys = await import(${JSON.stringify(new URL('../src/sys/index.js', import.meta.url).href)});
    const { fd_index, fd_list } = await import(${JSON.stringify(new URL('../src/kern/fdtab.js', import.meta.url).href)});
    sys.boot({ maxfiles: 8 });
    const fds = [];
    for (let i = 0; i < 8; i++) fds.push(sys.port_create());
    let full = '';
    try { sys.port_create(); } catch (e) { full = e.code; }
    const listed = fd_list().length;
    sys.close(fds[5]); sys.close(fds[2]);
    const again = [sys.port_create(), sys.port_create()];
    let full2 = '';
    try { sys.kqueue(); } catch (e) { full2 = e.code; }
    console.log(JSON.stringify({ first: fds.map(fd_index), full, listed, again: again.map(fd_index), full2, stale: again.includes(fds[5]) || again.includes(fds[2]), listed2: fd_list().length }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { first: [0, 1, 2, 3, 4, 5, 6, 7], full: 'EMFILE', listed: 8, again: [5, 2], full2: 'EMFILE', stale: false, listed2: 8 });
});
