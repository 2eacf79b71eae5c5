/**
 * Seeded stress of the aio calls from several LWPs at once (the body is
 * test/fixtures/aio-lwp.ts `stress`): random reads of a shared file with
 * SIGEV_PORT or none, pipe reads nobody writes, random cancels and port
 * closes, then everything collected: each request completes and is collected
 * exactly once, no port event comes twice, every event of a port still open
 * comes, read data matches the file, and the kernel's requests, port events
 * and counters are back at their baseline. UKERN_SEED replays a run.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { writeFileSync, mkdtempSync, rmSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { seed, rng, within } from './helpers.js';

sys.boot({ aio_max: 1024 });
const dir = mkdtempSync(join(tmpdir(), 'ukern-aios-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const inuse = (name: string): number => sys.kmem_snapshot().caches.find((c) => c.cache === name)!.inUse;

test('seeded stress: 3 LWPs submitting, cancelling and closing ports; nothing lost, nothing twice', async () => {
  const s = seed();
  console.log(`UKERN_SEED=${s}`);
  const r = rng(s);
  const size = 1 << 20;
  const data = new Uint8Array(new SharedArrayBuffer(size));
  for (let i = 0; i < size; i++) data[i] = Math.floor(r() * 256);
  const file = join(dir, 'f');
  writeFileSync(file, data);
  const [pr, pw] = pipe();
  const base = { req: inuse('aioreq'), ev: inuse('port_kevent'), ports: inuse('port') };
  const res = new SharedArrayBuffer(64);
  const out = new Int32Array(res).fill(-1);
  const fixtures = new URL('./fixtures/aio-lwp.js', import.meta.url);
  const lids = [0, 1, 2].map((slot) => sys.lwp_create({
    module: fixtures, export: 'stress', arg: { seed: s + slot * 7919, file, size, n: 400, pipeR: pr, slot, res, data: data.buffer },
  }));
  for (const l of lids) await within(sys.lwp_wait_async(l), 60_000, `stress LWP ${l} (UKERN_SEED=${s})`);
  assert.deepEqual([out[0], out[1], out[2]], [0, 0, 0], `failures per LWP (UKERN_SEED=${s})`);
  assert.ok(out[8]! + out[9]! + out[10]! > 400, `requests were made: ${out[8]! + out[9]! + out[10]!}`);
  assert.equal(inuse('aioreq'), base.req);
  assert.equal(inuse('port'), base.ports);
  assert.equal(inuse('port_kevent'), base.ev);
  const k = sys.kstat('aio');
  assert.equal(k['aio.in_flight'], 0);
  assert.equal(k['aio.submitted'], k['aio.completed']! + k['aio.cancelled']! + k['aio.failed']!);
  closeSync(pr); closeSync(pw);
});
