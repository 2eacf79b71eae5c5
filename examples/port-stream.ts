/**
 * A producer LWP streams events through a port to a consumer LWP, which
 * takes them in batches of up to 64; the main thread prints the rate, checks
 * the order, and shows the kstat counters (the sender's send lane included).
 * Fresh LWPs run unoptimized code at first: a few million events show the
 * rate climb (npm run bench ports measures it warm and cold).
 * Run: npm run build && node build/examples/port-stream.js [events]
 */
import * as sys from 'ukern/sys';
import { Lwp, Port } from 'ukern';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Sends `n` events, user = 0..n-1; stamps its start (ms, one clock for all
 * threads) in times[0]. A port holds at most port_max_events (65 536 by
 * default): a producer that outruns its consumer sends at once while there
 * is room (sendSync) and otherwise awaits send(), which sleeps until the
 * consumer takes events (backpressure, no polling).
 */
export async function producer(arg: { fd: number; n: number; times: SharedArrayBuffer }): Promise<void> {
  const port = new Port(arg.fd);
  new Float64Array(arg.times)[0] = performance.timeOrigin + performance.now();
  for (let i = 0; i < arg.n; i++) {
    try { port.sendSync(1, i); } catch (e) {
      if (!(e instanceof sys.SysError) || e.code !== 'EAGAIN') throw e;
      await port.send(1, i);
    }
  }
}

/** Takes `n` events; out[0] = events out of order, out[1] = batches; stamps its end in times[1]. */
export function consumer(arg: { fd: number; n: number; out: SharedArrayBuffer; times: SharedArrayBuffer }): void {
  const port = new Port(arg.fd);
  const out = new Int32Array(arg.out);
  let next = 0;
  while (next < arg.n) {
    for (const ev of port.getnSync(64)) if (ev.portev_user !== next++) out[0]!++;
    out[1]!++;
  }
  new Float64Array(arg.times)[1] = performance.timeOrigin + performance.now();
}

// Run as a program, not loaded as an LWP's module: argv[1] is the path as typed, import.meta.url
// the real one (through a symlink, or with a '#' or '%' in the path, a plain URL of argv[1] differed).
const isMain = ((): boolean => {
  try { return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href; } catch { return false; }
})();
if (isMain) {
  const arg = process.argv[2] ?? '2000000';
  const n = /^\d+$/.test(arg) ? Number(arg) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`port-stream: the number of events must be a positive integer, got '${arg}'`);
    process.exit(2);
  }
  const port = new Port();
  const out = new SharedArrayBuffer(8), times = new SharedArrayBuffer(16);
  const me = new URL(import.meta.url);
  const c = Lwp.create({ module: me, export: 'consumer', arg: { fd: port.fd, n, out, times } });
  const p = Lwp.create({ module: me, export: 'producer', arg: { fd: port.fd, n, times } });
  await p.wait();
  await c.wait();
  const [start, end] = new Float64Array(times);
  const ms = end! - start!; // first send -> last event taken (thread start-up excluded)
  const [disorder, batches] = new Int32Array(out);
  console.log(`${n} events in ${ms.toFixed(0)} ms: ${(n / ms / 1000).toFixed(2)} M events/s, ${(n / batches!).toFixed(1)} per port_getn`);
  console.log(disorder === 0 ? 'every event in order' : `${disorder} events out of order`);
  const k = sys.kstat('port');
  console.log(`kstat: sent ${k['port.events_sent']}, delivered ${k['port.events_delivered']}, send lanes bound ${k['port.lanes']}, getter sleeps ${k['port.waits']}`);
  port.close();
  console.log('done');
}
