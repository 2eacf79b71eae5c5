/**
 * Lwp ref()/unref() and `{ ref: false }` (sys: lwp_ref, src/lwp/ref.ts):
 * an unref'd LWP does not keep the process alive, as an unref'd Worker
 * does; ref() again makes the process wait for it; a pending wait() of an
 * unref'd Lwp keeps nothing alive either; an unref from inside an LWP
 * reaches the booting thread (through lwp0). The proc counters stay
 * consistent (lwp_check: p_nkeep against the table).
 *
 * This file is its own child: run with a mode, it sets the scene; an
 * unref'd timer ends it with status 2 if the process is still alive 8 s
 * later (the LWPs park for ever).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lwp } from 'ukern';
import { boot, lwp_snapshot, lwp_check, lwp_self, SysError } from 'ukern/sys';
import { childRun } from './helpers.js';

const FIX = new URL('./fixtures/lwp-ref.js', import.meta.url);
const mode = process.argv[2];

async function child(m: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return childRun(fileURLToPath(import.meta.url), [m, ...args], 60_000);
}

if (mode === undefined) {
  test('Lwp#unref(): the process ends though the LWP parks for ever, a pending wait() included', async () => {
    const r = await child('unref');
    assert.equal(r.status, 0, `status ${r.status} (2: still alive 6 s later)\n${r.stderr}`);
    assert.equal(r.stdout.trim(), 'unref\'d', r.stderr);
  });
  test('Lwp.create(..., { ref: false }): the same from the start', async () => {
    const r = await child('create-unref');
    assert.equal(r.status, 0, `status ${r.status}\n${r.stderr}`);
  });
  test('unref() then ref(): the process waits for the LWP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ukern-lwpref-'));
    try {
      const path = join(dir, 'mark');
      const r = await child('reref', path);
      assert.equal(r.status, 0, `status ${r.status}\n${r.stderr}`);
      assert.ok(existsSync(path), 'the process ended before its ref\'d LWP did');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
  test('an unref from inside an LWP reaches the booting thread', async () => {
    const r = await child('from-lwp');
    assert.equal(r.status, 0, `status ${r.status} (2: still alive 6 s later)\n${r.stderr}`);
  });
  test('a ref\'d LWP still keeps the process alive (the control case)', async () => {
    const r = await child('control');
    assert.equal(r.status, 2, `status ${r.status}: the process ended with a ref'd LWP parked\n${r.stderr}`);
  });
  test('lwp_ref: errors, the flag in lwp_snapshot, the counters', async () => {
    boot();
    const esrch = (e: unknown): boolean => e instanceof SysError && e.code === 'ESRCH';
    assert.throws(() => Lwp.of(999_999).unref(), esrch);
    assert.throws(() => Lwp.of(999_999).ref(), esrch);
    assert.throws(() => Lwp.create({ module: FIX, export: 'sleeper' }, { ref: 'x' as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal(lwp_snapshot().lwps.length, 1, 'nothing was created by the bad create');
    // LWP 1: only the flag (it is not counted: its own event loop keeps it).
    Lwp.self().unref();
    assert.equal(lwp_snapshot().lwps.find((l) => l.lid === lwp_self())?.unref, true);
    assert.deepEqual(lwp_check(), []);
    Lwp.self().ref();
    assert.equal(lwp_snapshot().lwps.find((l) => l.lid === lwp_self())?.unref, false);
    const l = Lwp.create({ module: FIX, export: 'marker', arg: { path: join(tmpdir(), `ukern-lwpref-${process.pid}`), ms: 1 } });
    l.unref();
    assert.equal(l.hasRef(), false);
    l.unref(); // idempotent: counted once
    assert.equal(lwp_snapshot().proc['nkeep'], 0);
    assert.deepEqual(lwp_check(), []);
    l.ref();
    assert.equal(lwp_snapshot().proc['nkeep'], 1);
    l.unref();
    // Its wait keeps nothing alive now (the 'unref' child's case): this timer does.
    const keep = setInterval(() => {}, 1000);
    try { await l.wait({ timeout: 30_000 }); } finally { clearInterval(keep); }
    rmSync(join(tmpdir(), `ukern-lwpref-${process.pid}`), { force: true });
    assert.deepEqual(lwp_check(), []);
    assert.equal(lwp_snapshot().proc['nkeep'], 0);
    // Collected: no such LWP any more.
    assert.throws(() => l.ref(), esrch);
  });
} else {
  // The control case only has to outlive what ends the others: 2 s.
  setTimeout(() => { console.log('still alive'); process.exit(2); }, mode === 'control' ? 2000 : 6000).unref();
  // from-lwp: no idle worker retires (each retirement also makes the booting thread look again).
  boot(mode === 'from-lwp' ? { lwp_pool_linger: 600_000 } : {});
  if (mode === 'unref') {
    const l = Lwp.create({ module: FIX, export: 'sleeper' });
    void l.wait().then(() => { console.log('collected?'); });
    l.unref();
    console.log('unref\'d');
  } else if (mode === 'create-unref') {
    const l = Lwp.create({ module: FIX, export: 'sleeper' }, { ref: false });
    void l.wait();
  } else if (mode === 'reref') {
    const l = Lwp.create({ module: FIX, export: 'marker', arg: { path: process.argv[3], ms: 300 } });
    l.unref();
    l.ref();
  } else if (mode === 'from-lwp') {
    Lwp.create({ module: FIX, export: 'unrefFromLwp' });
  } else if (mode === 'control') {
    Lwp.create({ module: FIX, export: 'sleeper' });
  }
}
