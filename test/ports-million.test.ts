/** 10^6 queued events on one port with raised limits (own process), FIFO kept, memory reported. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/sys/index.js';
import { boot } from '../src/kern/boot.js';
import * as ports from '../src/ports/sys.js';
import { close } from '../src/kern/sys.js';
import { KEV, PORT } from '../src/ports/mem.js';

const N = 1_000_000;
boot({ port_max_events: N, port_events_total: N + 64, memsize: 512 * 1024 * 1024 });

test('10^6 events queued on one port, then drained in order', (t) => {
  const p = ports.port_create();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) ports.port_send(p, i & 0xffff, i);
  const t1 = performance.now();
  assert.equal(ports.port_getn(p, 0, 0).nget, N);
  assert.throws(() => ports.port_send(p, 0, 0), (e: unknown) => (e as { code: string }).code === 'EAGAIN');
  let next = 0;
  while (next < N) {
    const evs = ports.port_getn(p, 8192, 1, { tv_sec: 0, tv_nsec: 0 });
    for (const ev of evs) { if (ev.portev_user !== next) assert.fail(`event ${next} came as ${ev.portev_user}`); next++; }
  }
  const t2 = performance.now();
  assert.equal(ports.port_getn(p, 0, 0).nget, 0);
  t.diagnostic(`send ${(N / (t1 - t0) / 1000).toFixed(2)} M/s, getn ${(N / (t2 - t1) / 1000).toFixed(2)} M/s; ${KEV.words * 4} bytes per queued event, ${PORT.words * 4 + 8} bytes per port`);
  close(p);
});
