/**
 * Seeded stress of EVFILT_READ on OS descriptors across LWPs (issue 15's
 * "registrations, deletes, closes and readiness changes across LWPs with no
 * event lost, duplicated or stale"): each LWP checks every kevent result
 * against its exact model (test/fixtures/kevent-os-stress.ts); the LWPs
 * share the intr thread, the epoll set and the descriptor numbers, which
 * closes behind the kernel's back hand from one pipe to the next.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { seed, within } from './helpers.js';
import { MSG, type OsStressArg } from './fixtures/kevent-os-stress.js';

const fixture = new URL('./fixtures/kevent-os-stress.js', import.meta.url);

test('3 LWPs registering, deleting, writing, draining and closing pipes (through the kernel and behind its back): every event once, none lost, none stale', async () => {
  const s = seed(), nlwp = 3, ops = 1500;
  console.log(`# kevent-os-stress: seed ${s} (UKERN_SEED=${s} replays), ${nlwp} LWPs x ${ops} steps`);
  const sab = new SharedArrayBuffer((MSG + 256) * 4);
  const lids = Array.from({ length: nlwp }, (_, id) =>
    sys.lwp_create({ module: fixture, export: 'osStress', arg: { sab, id, pipes: 8, ops, seed: s + id } satisfies OsStressArg }));
  for (const lid of lids) {
    try { await within(sys.lwp_wait_async(lid), 60_000, `LWP ${lid}`); } catch { /* its failure is in the message area */ }
  }
  const i32 = new Int32Array(sab);
  const msg = new TextDecoder().decode(new Uint8Array(sab, MSG * 4, 1000)).replace(/\0+$/, '');
  assert.equal(Atomics.load(i32, 0), 0, `seed ${s}: ${msg}`);
  for (let id = 0; id < nlwp; id++) assert.equal(Atomics.load(i32, 1 + id), ops, `LWP ${id} finished its steps`);
});
