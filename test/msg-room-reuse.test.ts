/**
 * A post waiting for room counts itself in its port's struct (P.roomWaiters,
 * so that a take knows to wake it: queue.ts room_notify) and uncounts itself
 * when its sleep ends, after an await. A close wakes it; if the struct was
 * released and handed to a new port meanwhile (the port cache's free list is
 * LIFO: the next port_create gets it, zeroed), the old waiter's decrement
 * landed in the new port: its count went to -1, so the next sender that
 * waited for room on it made it 0 and no take woke it (each wait then ran
 * to the 100 ms backstop). Found by reading msg_room_wait (review of the
 * message paths); send_room_wait had the same shape. The waiter itself
 * fails with EBADF and nothing reaches the new port: its next attempt names
 * the closed port's descriptor, whose generation bits no new open reuses.
 *
 * Deterministic: the close and the new port come in one synchronous run,
 * before the waiter's continuation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Port } from '../src/index.js';
import * as sys from '../src/sys/index.js';
import { I32 } from '../src/kern/kmem.js';
import { fd_get, DTYPE_PORT } from '../src/kern/fdtab.js';
import { P } from '../src/ports/mem.js';
import { msg_arena_size } from '../src/ports/msg-arena.js';
import { within } from './helpers.js';
import { assertArenaEmpty } from './msg-helpers.js';

const handle = (fd: number): number => fd_get(fd, DTYPE_PORT, 'test', 'EBADFD');

/**
 * Waits (deadline 5 s) until port struct h counts a room waiter. When it
 * does not, the port is closed before the failure is thrown: a wait for
 * room on an open port tries again for ever, and the file then ended at the
 * runner's deadline instead of at the failure.
 */
async function registered(h: number, port: Port, what: string): Promise<void> {
  const t0 = performance.now();
  try {
    while (Atomics.load(I32, h + P.roomWaiters) === 0) {
      assert.ok(performance.now() - t0 < 5000, what);
      await new Promise((r) => setImmediate(r));
    }
  } catch (e) { port.close(); throw e; }
}

test('a post waiting for arena room across a close: the new port that reuses the struct keeps a room-waiter count of 0', async () => {
  const port = new Port();
  const big = 'b'.repeat(msg_arena_size() / 2 - 4096); // a block of half the arena each
  port.postSync(big);
  port.postSync(big);
  const h = handle(port.fd);
  const pc = port.post(big).then(() => 'sent', (e: { code?: string }) => e.code ?? String(e));
  // Let it register (its first attempt, then the room wait's registration).
  await registered(h, port, 'the post never registered as a room waiter');
  const fd1 = port.fd;
  port.close();
  const other = new Port(); // the struct just released, zeroed
  assert.notEqual(other.fd, fd1, 'a kernel descriptor number names one open for good (its generation bits)');
  const h2 = handle(other.fd);
  assert.equal(h2, h, 'the new port did not reuse the struct (the test cannot tell)');
  const res = await within(pc, 5000, 'the post waiting across a close');
  assert.equal(res, 'EBADF', 'the post begun on the closed port did not fail with EBADF');
  assert.equal(other.getnSync(1, 1, { timeout: 0 }).length, 0, 'the post went into the new port');
  assert.equal(Atomics.load(I32, h2 + P.roomWaiters), 0, 'the old waiter changed the new port\'s room-waiter count');
  other.close();
  assertArenaEmpty('after the reuse');
});

test('a send waiting for port room across a close: the same for Port.send', async () => {
  const port = new Port();
  const h = handle(port.fd);
  const max = I32[h + P.maxev]!;
  for (let i = 0; i < max; i++) sys.port_send(port.fd, 1, i);
  const pc = port.send(1, -1).then(() => 'sent', (e: { code?: string }) => e.code ?? String(e));
  await registered(h, port, 'the send never registered as a room waiter');
  const fd1 = port.fd;
  port.close();
  const other = new Port();
  assert.notEqual(other.fd, fd1, 'a kernel descriptor number names one open for good (its generation bits)');
  const h2 = handle(other.fd);
  assert.equal(h2, h, 'the new port did not reuse the struct (the test cannot tell)');
  const res = await within(pc, 5000, 'the send waiting across a close');
  assert.equal(res, 'EBADF', 'the send begun on the closed port did not fail with EBADF');
  assert.equal(other.getnSync(1, 1, { timeout: 0 }).length, 0, 'the send went into the new port');
  assert.equal(Atomics.load(I32, h2 + P.roomWaiters), 0, 'the old waiter changed the new port\'s room-waiter count');
  other.close();
});
