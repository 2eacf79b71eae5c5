/**
 * PORT_SOURCE_FILE across LWPs: a seeded stress of associations, appends,
 * dissociations and port closes in 4 LWPs at once (each on its own port and
 * files, all through the one inotify instance and the intr thread), with no
 * event lost, duplicated or stale (the fixture checks each), and every
 * association, watch and watcher given back at the end. Deadlines everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import fs from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { within, seed } from './helpers.js';

test('seeded stress: 4 LWPs associate, append, dissociate and close ports; no event lost, duplicated or stale', async () => {
  const s = seed();
  const d = fs.mkdtempSync(join(tmpdir(), 'ukern-pfile-s-'));
  const a0 = sys.kstat('port')['port.file_assocs']!;
  const runs = [0, 1, 2, 3].map((l) => {
    const files = [0, 1, 2].map((k) => join(d, `f${l}-${k}`));
    for (const f of files) fs.writeFileSync(f, '');
    const sab = new SharedArrayBuffer(12);
    const lid = sys.lwp_create({ module: new URL('./fixtures/portfile-lwp.js', import.meta.url), export: 'fileStress', arg: { files, n: 400, seed: s + l, sab } });
    return { lid, res: new Int32Array(sab) };
  });
  for (const r of runs) await within(sys.lwp_wait_async(r.lid), 60_000, 'a stress LWP');
  for (const [l, r] of runs.entries()) {
    assert.equal(r.res[0], 1, `LWP ${l} finished`);
    assert.equal(r.res[1], 0, `seed ${s + l}: ${r.res[1]} bad steps, the last at ${r.res[2]}`);
  }
  // The delivered ones wait on the reap list for the next call: one association reaps them.
  const port = sys.port_create();
  assert.throws(() => sys.port_dissociate(port, sys.PORT_SOURCE_FILE, 0x7fffffff), { code: 'ENOENT' });
  assert.equal(sys.kstat('port')['port.file_assocs'], a0, 'every association given back');
  assert.equal(sys.kstat('inotify')['inotify.watchers'], 0, 'every watcher given back');
  sys.close(port);
  fs.rmSync(d, { recursive: true });
});
