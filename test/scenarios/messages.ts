/**
 * Structured messages with small limits, in a fresh process (its own
 * kernel): boot({ port_max_events: 8, msg_arena: 100000 }). A full port is
 * EAGAIN for postSync and a wait for post that a getter ends (once a quarter
 * of the port is free, as send); a full arena is woken by a receive on
 * another port (the arena's own room word); the arena is rounded down to a
 * power of two; bad msg_arena values fail the boot. Prints one JSON line.
 */
import * as sys from 'ukern/sys';
import { Port, stats } from 'ukern';

const out: Record<string, unknown> = {};
for (const o of [{ msg_arena: 1000 }, { msg_arena: 'x' }]) {
  try { sys.boot(o as sys.BootOptions); out.badBoot = 'booted'; } catch (e) { (out.badBoots ??= [] as string[]) && (out.badBoots as string[]).push(e instanceof TypeError ? 'TypeError' : (e as sys.SysError).code); }
}
sys.boot({ port_max_events: 8, msg_arena: 100_000 });
out.arena_bytes = stats('msg')['msg.arena_bytes'];

// A full port (8 events): postSync EAGAIN; post waits until a getter frees a quarter.
const p = new Port();
for (let i = 0; i < 8; i++) p.postSync(i);
try { p.postSync(8); out.portFull = 'posted'; } catch (e) { out.portFull = (e as { code?: string }).code; }
const t0 = performance.now();
const waiting = p.post(8);
setTimeout(() => { p.getnSync(2, 2); }, 5);
await waiting;
out.portRoomMs = performance.now() - t0;
const rest: unknown[] = [];
for (let i = 0; i < 7; i++) rest.push(p.receiveSync({ timeout: 1000 }));
out.portOrder = rest;
p.close();

// A full arena (64 KiB): a post on port b waits; a receive on port a frees the room.
const a = new Port(), b = new Port();
const big = 'q'.repeat(20_000); // a 32 KiB block each
a.postSync(big);
a.postSync(big);
try { b.postSync(big); out.arenaFull = 'posted'; } catch (e) { out.arenaFull = (e as { code?: string }).code; }
const t1 = performance.now();
const w2 = b.post(big);
setTimeout(() => { a.receiveSync({ timeout: 1000 }); }, 5);
await w2;
out.arenaRoomMs = performance.now() - t1;
out.got = (b.receiveSync({ timeout: 1000 }) as string).length;
a.close(); b.close();
const s = stats('msg');
out.after = { bytes: s['msg.bytes_in_use'], queued: s['msg.messages_queued'] };
console.log(JSON.stringify(out));
process.exit(0);
