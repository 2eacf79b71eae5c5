/**
 * Two LWPs play ping-pong with lwp_park / lwp_unpark, then the main thread
 * collects them and prints their states and the kernel's park counters.
 * Run: npm run build && node build/examples/lwp-pingpong.js
 */
import * as sys from 'ukern/sys';
import { Lwp } from 'ukern';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function player(arg: { rounds: number; peerBox: SharedArrayBuffer; serve: boolean }): void {
  const box = new Int32Array(arg.peerBox);
  // Wait until main has told us who the other player is.
  while (Atomics.load(box, arg.serve ? 0 : 1) === 0) Atomics.wait(box, arg.serve ? 0 : 1, 0, 5);
  const peer = Atomics.load(box, arg.serve ? 0 : 1);
  for (let i = 0; i < arg.rounds; i++) {
    if (arg.serve) sys.lwp_unpark(peer);
    Lwp.parkSync();
    if (!arg.serve) sys.lwp_unpark(peer);
  }
}

// Run as a program, not loaded as an LWP's module: argv[1] is the path as typed, import.meta.url
// the real one (through a symlink, or with a '#' or '%' in the path, a plain URL of argv[1] differed).
const isMain = ((): boolean => {
  try { return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href; } catch { return false; }
})();
if (isMain) {
  const rounds = 10000;
  const peerBox = new SharedArrayBuffer(8);
  const box = new Int32Array(peerBox);
  const me = new URL(import.meta.url);
  const t0 = performance.now();
  const a = Lwp.create({ module: me, export: 'player', arg: { rounds, peerBox, serve: true } });
  const b = Lwp.create({ module: me, export: 'player', arg: { rounds, peerBox, serve: false } });
  Atomics.store(box, 0, b.lid); Atomics.store(box, 1, a.lid);
  Atomics.notify(box, 0); Atomics.notify(box, 1);
  console.log('states while playing:', sys.lwp_snapshot().lwps.map((l) => `${l.lid}:${l.state}`).join(' '));
  await a.wait();
  await b.wait();
  const ms = performance.now() - t0;
  console.log(`${rounds} round trips in ${ms.toFixed(0)} ms (${((ms * 1000) / rounds).toFixed(1)} us each)`);
  const k = sys.kstat('lwp');
  console.log(`parked ${k['lwp.park_parked']}, unparked early (no sleep needed) ${k['lwp.park_unparked_early']}`);
}
