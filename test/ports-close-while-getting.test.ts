/**
 * A port closed while a port_get(n) is under way fails the getter with
 * EBADFD, as the seed's port_getn does (it holds the file for the call, so
 * it sees the port's close flag, never a closed descriptor), on every path:
 *
 * - between the fast path and the general one (sys.ts: getn_fast finds the
 *   port open and hands over to getn_gen, which looks the descriptor up
 *   again): that lookup found the descriptor closed and failed with EBADF,
 *   the errno of a call made after the close. Reached here deterministically
 *   by a fast-path take whose source closes the port in its deliver callback
 *   and denies the event (the call then goes on in the general path, to wait
 *   for a new event); the other way into that stretch, a close during the
 *   thread's first-wait warm-up (take.ts take_warm), has no hook to hold it.
 * - in the general path, after a take whose events its sources all denied
 *   while the port was closed: the getter went back to sleep on the closed
 *   port (whose close had already woken its waiters) until its timeout, and
 *   then returned no event and no error (for ever with no timeout).
 *
 * And the denied event is not linked back onto the closed port (which then
 * never released its struct): it goes where the close sent the queued ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/ports/sys.js';
import { close, kmem_snapshot } from '../src/kern/sys.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { I32 } from '../src/kern/kmem.js';
import { P } from '../src/ports/mem.js';
import { port_source_register, port_alloc_event, port_init_event, port_send_event } from '../src/ports/source.js';
import { until, within } from './helpers.js';

const inUse = (cache: string): number => kmem_snapshot().caches.find((c) => c.cache === cache)!.inUse;
const TWO_S = { tv_sec: 2, tv_nsec: 0 };

// A source whose deliver callback closes the port it delivers from and denies the event.
let closeOnDeliver = -1;
port_source_register(sys.PORT_SOURCE_MQ, {
  name: 'test-close-on-deliver',
  deliver() {
    if (closeOnDeliver < 0) return true;
    close(closeOnDeliver);
    closeOnDeliver = -1;
    return false;
  },
});

/** An event of the closing source queued on port p (a DEFAULT slot: freed by its delivery, or by the close). */
function queue_closer(p: number): void {
  const s = port_alloc_event(p, sys.PORT_ALLOC_DEFAULT, sys.PORT_SOURCE_MQ);
  port_init_event(s, 1, 2, 0, true);
  port_send_event(s);
}

function code(e: unknown): string { return (e as { code?: string }).code ?? String(e); }

for (const form of ['port_get', 'port_getn'] as const) {
  test(`${form}: a close between the fast path and the general one is EBADFD, and the port is released`, () => {
    const ports0 = inUse('port'), slots0 = inUse('port_kevent');
    const p = sys.port_create();
    queue_closer(p);
    closeOnDeliver = p;
    let got = '';
    try {
      if (form === 'port_get') sys.port_get(p, TWO_S); else sys.port_getn(p, 4, 1, TWO_S);
      got = 'no error';
    } catch (e) { got = code(e); }
    assert.equal(closeOnDeliver, -1, 'the source closed the port in the fast path\'s take');
    assert.equal(got, 'EBADFD');
    assert.equal(inUse('port'), ports0, 'the closed port\'s struct released');
    assert.equal(inUse('port_kevent'), slots0, 'the denied slot freed');
  });
}

test('port_getn_async: a close during a take in the general path whose events were all denied is EBADFD at once, not a sleep on the closed port', async () => {
  const ports0 = inUse('port'), slots0 = inUse('port_kevent');
  const p = sys.port_create();
  const h = fd_get(p, DTYPE_PORT, 'test', 'EBADFD');
  const t0 = performance.now();
  const w = sys.port_getn_async(p, 4, 1, TWO_S).then(() => 'no error', code);
  await until(() => I32[h + P.wqh] !== 0, 5000, 'the getter waiting');
  closeOnDeliver = p;
  queue_closer(p);
  const got = await within(w, 10_000, 'the getter');
  const ms = performance.now() - t0;
  assert.equal(closeOnDeliver, -1, 'the source closed the port in the getter\'s take');
  assert.equal(got, 'EBADFD');
  assert.ok(ms < 1000, `the getter returned ${ms.toFixed(1)} ms after its call (its timeout: 2 s)`);
  assert.equal(inUse('port'), ports0, 'the closed port\'s struct released');
  assert.equal(inUse('port_kevent'), slots0, 'the denied slot freed');
});

test('a getter blocked in the general path when the port is closed: EBADFD', async () => {
  const p = sys.port_create();
  const h = fd_get(p, DTYPE_PORT, 'test', 'EBADFD');
  const w = sys.port_get_async(p, TWO_S).then(() => 'no error', code);
  await until(() => I32[h + P.wqh] !== 0, 5000, 'the getter waiting');
  close(p);
  assert.equal(await within(w, 10_000, 'the getter'), 'EBADFD');
});
