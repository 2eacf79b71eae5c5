// The stale-binding reproducer of test/kern-mailbox.test.ts, end to end
// through the public calls: LWP A leaves with a SIGEV_THREAD aio read in
// flight (the threads engine keeps it past A's exit), LWP B then takes a
// mailbox (the slot A gave back) for a read of its own, and A's read
// completes. B's mailbox word must not move: a post for a mailbox given back
// since the binding does nothing. Prints one JSON line.
//
// B's word is found from the kernel layout; the 'aio.mbox' branch reads the
// layout from before kern/mailbox.ts, so that this file also runs on the old
// tree (it fails there: the completion bumps B's word).
import { closeSync, writeSync } from 'node:fs';
import * as sys from '../../src/sys/index.js';
import { boot, kernel_image } from '../../src/kern/boot.js';
import { I32 } from '../../src/kern/kmem.js';
import { pipe } from '../fixtures/osfd.js';

process.env.UKERN_AIO_ENGINE = 'threads'; // read at the first aio call, below
boot({ lwp_pool: 1 });
const fixture = new URL('../fixtures/mbox-aio.js', import.meta.url);
const sab = new SharedArrayBuffer(64);
const a = new Int32Array(sab);
const N = 4;

/** B's mailbox word (the one its pump waits on), found by owner lid. */
function word_of(lid: number): number {
  const L = kernel_image().layout;
  const words = L.regions['mbox.word'];
  if (words !== undefined) {
    const [base, count, size] = L.caches['mbox']!;
    for (let i = 0; i < count; i++) if (Atomics.load(I32, base + 8 + i * size + 1) === lid) return words[0] + i;
  } else {
    const [base, n] = L.regions['aio.mbox']!; // (seq, owner) pairs
    for (let w = base; w < base + n; w += 2) if (Atomics.load(I32, w + 1) === lid) return w;
  }
  throw new Error(`no mailbox owned by LWP ${lid}`);
}

function wait_until(cond: () => boolean, ms: number, what: string): void {
  const end = Date.now() + ms, nap = new Int32Array(new SharedArrayBuffer(4));
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    Atomics.wait(nap, 0, 0, 1);
  }
}

const [rA, wA] = pipe(), [rB, wB] = pipe();
const lidA = sys.lwp_create({ module: fixture, export: 'submitAndLeave', arg: { sab, fd: rA, n: N } });
await sys.lwp_wait_async(lidA);
const lidB = sys.lwp_create({ module: fixture, export: 'submitAndWait', arg: { sab, fd: rB, n: N } });
wait_until(() => Atomics.load(a, 6) === 1, 10000, 'B submitted');
const w = word_of(lidB);
const before = Atomics.load(I32, w);
const stale = (): number => sys.kstat('mbox')['mbox.stale_posts'] ?? 0;
const stale0 = stale(), done0 = sys.kstat('aio')['aio.completed']!;
writeSync(wA, Buffer.alloc(N, 1)); // A's read completes now, B's mailbox taken
wait_until(() => sys.kstat('aio')['aio.completed']! > done0, 10000, "A's read completed");
// The post follows the count in the same hold of the aio lock: wait for its
// outcome, either B's word moving (the defect) or the stale post counted.
wait_until(() => Atomics.load(I32, w) !== before || stale() > stale0, 10000, "A's completion posted");
const after = Atomics.load(I32, w);
writeSync(wB, Buffer.alloc(N, 2)); // B's own read completes: B is called and leaves
await sys.lwp_wait_async(lidB);
for (const fd of [rA, wA, rB, wB]) closeSync(fd);
console.log(JSON.stringify({ moved: after !== before, stale: stale() - stale0, aCalled: Atomics.load(a, 5) }));
