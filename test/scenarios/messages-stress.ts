/**
 * The message arena under contention with a small arena (64 KiB, fresh
 * kernel): 4 producer LWPs post seeded sizes of 0-3000 bytes (blocks of
 * 64 B to 4 KiB), so the arena is full most of the time and the producers
 * wait for room while this thread receives; every message must arrive once,
 * in order per producer, and the arena must drain back to one free block.
 * argv: seed. Prints one JSON line.
 */
import * as sys from '../../src/sys/index.js';
import { Port, Lwp, stats } from '../../src/index.js';
import { msg_largest_free } from '../../src/ports/msg-arena.js';

sys.boot({ msg_arena: 65536 });
const seed = Number(process.argv[2] ?? 1);
const P = 4, N = 1500;
const port = new Port();
const fix = new URL('../fixtures/messages.js', import.meta.url);
const prods = Array.from({ length: P }, (_, p) => Lwp.create<number>({ module: fix, export: 'produce', arg: { fd: port.fd, p, n: N, seed: seed + p * 7919 } }));
const next = new Array<number>(P).fill(0);
let bad = 0;
for (let got = 0; got < P * N; got++) {
  const v = await port.receive({ timeout: 30_000 }) as { p: number; i: number };
  if (v.i !== next[v.p]) bad++;
  next[v.p] = v.i + 1;
  if (got % 50 === 0) await new Promise((r) => setImmediate(r));
}
let waited = 0;
for (const l of prods) waited += await l.wait({ timeout: 30_000 });
port.close();
const s = stats('msg');
console.log(JSON.stringify({ bad, next, waited, full: s['msg.arena_full'], bytes: s['msg.bytes_in_use'], queued: s['msg.messages_queued'], largest: msg_largest_free() }));
process.exit(0);
