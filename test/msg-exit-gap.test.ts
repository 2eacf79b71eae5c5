/**
 * An awaitable send or post that waits for room (port_send_wait,
 * port_post_wait, port_post_many_wait: room.ts send_room_wait, msg-sys.ts
 * msg_room_wait) sleeps in an Atomics.waitAsync of its own, with no sleeper:
 * nothing of it is on the LWP, so an LWP that exits while it waits leaves it
 * pending, and the thread is not abandoned. Its continuation then ran all
 * the same, for an LWP that was gone: its uncount in the port
 * (room_waiter_count) took the port lock in a thread the trampoline had
 * unbound, with no owner id, a kernel panic (every later call EIO); had it
 * got that far, it would have tried the send or post again for no LWP.
 * Now the wait, resumed in a thread no longer on the LWP it started on, runs
 * no kernel code and never settles.
 *
 * Each case: a full port (or arena), an LWP that starts such a wait on it
 * (with a short timeout: its first sleep ends then) and exits in the same
 * run. The creator blocks outside the kernel (it retires the LWP's worker
 * only at its next event) until a waitAsync of the LWP's thread ten times
 * longer than the wait's has ended; then the kernel must not be panicked.
 * Every wait has a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { Port } from '../src/index.js';
import { panicked } from '../src/kern/hdr.js';
import { I32 } from '../src/kern/kmem.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { P } from '../src/ports/mem.js';
import { msg_arena_size } from '../src/ports/msg-arena.js';
import { within } from './helpers.js';

const F = new URL('./fixtures/room-exit.js', import.meta.url);
const TIMEOUT = 30;

async function run_case(port: Port, exp: string, size = 0): Promise<void> {
  const done = new SharedArrayBuffer(16), d = new Int32Array(done);
  const lid = sys.lwp_create({ module: F, export: exp, arg: { port: port.fd, done, timeout: TIMEOUT, size } });
  const end = Date.now() + 20000;
  while (Atomics.load(d, 0) === 0 && !panicked() && Date.now() < end) Atomics.wait(d, 0, 0, 50);
  assert.equal(panicked(), false, 'the kernel is not panicked');
  assert.equal(Atomics.load(d, 0), 1, "the LWP thread's waitAsync after the room wait's ended");
  await within(sys.lwp_wait_async(lid), 20000, 'the LWP');
}

test('an LWP that exits while its port_send_wait waits for room: no kernel code runs for it after', async () => {
  const port = new Port();
  const h = fd_get(port.fd, DTYPE_PORT, 'test', 'EBADFD');
  const max = I32[h + P.maxev]!;
  for (let i = 0; i < max; i++) sys.port_send(port.fd, 1, i);
  await run_case(port, 'sendWaitThenExit');
  port.close();
});

for (const exp of ['postWaitThenExit', 'postManyWaitThenExit']) {
  test(`an LWP that exits while its ${exp === 'postWaitThenExit' ? 'port_post_wait' : 'port_post_many_wait'} waits for arena room: no kernel code runs for it after`, async () => {
    const port = new Port();
    const size = msg_arena_size() / 2 - 4096; // a block of half the arena each
    const big = 'b'.repeat(size);
    port.postSync(big);
    port.postSync(big);
    await run_case(port, exp, size);
    port.close();
  });
}
