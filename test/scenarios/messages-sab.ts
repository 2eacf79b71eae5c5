/**
 * SharedArrayBuffers in messages to LWPs whose workers do not exist yet, in
 * a fresh process (no warm worker whose channel is already open): a SAB
 * posted before the receiving LWP is created, and one posted right after
 * the create while its worker is still starting. The receiver writes into
 * each; the main thread checks it sees the writes. The only holder blocked
 * in a synchronous kernel call (waitSync) answers from inside it; blocked
 * outside the kernel past the receiver's wait, it cannot (EIO, said so).
 * Prints one JSON line.
 */
import { Lwp, Port } from '../../src/index.js';
import { I32 } from '../../src/kern/kmem.js';
import { lwp_byid, L, LW_NUDGE } from '../../src/lwp/lwp.js';
import { cur } from '../../src/kern/hdr.js';

/**
 * Blocks this thread outside the kernel (no kernel call, so a nudge is not
 * answered) until a receiver has asked it for a SAB (its LWP's LW_NUDGE
 * flag, read straight from kernel memory), then past the receiver's 2 s
 * wait. Not a fixed sleep: the receiver's worker may take seconds to start
 * on a loaded machine. Gives up after 60 s.
 */
function block_past_the_ask(): void {
  const h = lwp_byid(cur.lid), nap = new Int32Array(new SharedArrayBuffer(4)), end = Date.now() + 60_000;
  while ((Atomics.load(I32, h + L.flag) & LW_NUDGE) === 0) {
    if (Date.now() > end) throw new Error('holder-blocked: no receiver asked for the SAB in 60 s');
    Atomics.wait(nap, 0, 0, 10);
  }
  Atomics.wait(nap, 0, 0, 2500);
}

const FIX = new URL('../fixtures/messages.js', import.meta.url);
const out: Record<string, unknown> = {};

type Order = 'post-then-create' | 'create-then-post' | 'holder-waitsync' | 'holder-blocked';

async function once(order: Order): Promise<string> {
  const a = new Port(), b = new Port();
  const sab = new SharedArrayBuffer(16), sab2 = new SharedArrayBuffer(32);
  const view = new Int32Array(sab2, 4, 2);
  let w: Lwp<void>;
  if (order === 'post-then-create') {
    a.postSync({ sab, view });
    w = Lwp.create({ module: FIX, export: 'writeShared', arg: { in: a.fd, out: b.fd } });
  } else {
    w = Lwp.create({ module: FIX, export: 'writeShared', arg: { in: a.fd, out: b.fd } });
    a.postSync({ sab, view });
  }
  // The only holder blocks past the receiver's wait: in the kernel (it is
  // nudged and answers from its sleep), or outside it (it cannot).
  if (order === 'holder-blocked') block_past_the_ask();
  try {
    if (order === 'holder-waitsync') w.waitSync(); else await w.wait();
    const said = await b.receive({ timeout: 10_000 });
    return `${String(said)} ${new Int32Array(sab)[0]} ${new Int32Array(sab2)[1]}`;
  } catch (e) {
    return `failed: ${(e as Error).message} (${String((e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code)})`;
  } finally {
    a.close(); b.close();
  }
}

const order = (process.argv[2] ?? 'post-then-create') as Order;
out[order] = await once(order);
console.log(JSON.stringify(out));
process.exit(0);
