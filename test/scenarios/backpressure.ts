/**
 * Backpressure (issue 12 item 5), in a fresh process with a 64-event port
 * limit: a producer LWP much faster than this consumer, with the awaitable
 * send; and a full port's send waiting out its timeout (EAGAIN), its
 * signal (AbortError) and a close (EBADF). Prints one JSON line.
 */
import * as sys from 'ukern/sys';
import { Lwp, Port } from 'ukern';

sys.boot({ port_max_events: 64 });
const N = Number(process.argv[2] ?? 20000);
const out: Record<string, unknown> = {};
const port = new Port();
const prod = Lwp.create<number>({ module: new URL('../fixtures/backpressure.js', import.meta.url), export: 'produce', arg: { fd: port.fd, n: N } });
let next = 0, outOfOrder = 0, maxPending = 0, polls = 0;
while (next < N) {
  maxPending = Math.max(maxPending, port.pending);
  const evs = port.getnSync(8, 1, { timeout: 30_000 });
  for (const ev of evs) if (ev.portev_user !== next++) outOfOrder++;
  if (++polls % 64 === 0) await new Promise((r) => setImmediate(r)); // a slow consumer
}
out.waited = await prod.wait({ timeout: 30_000 });
Object.assign(out, { received: next, outOfOrder, maxPending });

// A full port: timeout, abort, close.
const full = new Port();
for (let i = 0; i < 64; i++) full.sendSync(1, i);
const t0 = performance.now();
out.timeout = await full.send(1, 1, { timeout: 30 }).then(() => 'sent', (e: { code?: string }) => e.code);
out.timeoutMs = performance.now() - t0;
const ac = new AbortController();
const pa = full.send(1, 1, { signal: ac.signal }).then(() => 'sent', (e: Error) => e.name);
setTimeout(() => ac.abort(), 10);
out.abort = await pa;
const pc = full.send(1, 1).then(() => 'sent', (e: { code?: string }) => e.code);
setTimeout(() => full.close(), 10);
out.close = await pc;
// Room made by a getter wakes the sender (no timeout given: it must not need
// the recheck) once a quarter of the port is free (hysteresis, as a Node
// stream's 'drain'): taking 17 of 64 leaves 47 queued.
const room = new Port();
for (let i = 0; i < 64; i++) room.sendSync(1, i);
const t1 = performance.now();
const ps = room.send(1, 64);
setTimeout(() => room.getnSync(17, 17), 5);
await ps;
out.roomMs = performance.now() - t1;
console.log(JSON.stringify(out));
