/**
 * The documented ways to read a socket Node owns from an LWP (README, OS
 * event sources; ukern/ostarget.ts): Node must never start reading it. A
 * socket accepted with pauseOnConnect, and a client socket paused before
 * its 'connect': the LWP watches its descriptor (EVFILT_READ) and reads
 * every byte the peer wrote, Node none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { KQueue, Lwp } from 'ukern';
import { within } from './helpers.js';

const N = 300_000;
const payload = Buffer.alloc(N, 0).map((_, i) => (i * 7 + 3) & 0xff);
const SUM = payload.reduce((s, b) => (s + b) % 65521, 0);

/** The descriptor of a socket, as watch() returns it. */
function fd_of(s: net.Socket): number {
  const kq = new KQueue();
  try { return kq.watch(s, 'write'); } finally { kq.close(); }
}

async function lwp_reads(reader: net.Socket, writer: net.Socket): Promise<void> {
  const lwp = Lwp.create<{ got: number; sum: number }>({ module: new URL('./fixtures/socket-reader-lwp.js', import.meta.url), export: 'read_all', arg: { fd: fd_of(reader), n: N } });
  // In pieces, some after the LWP has started waiting.
  for (let i = 0; i < N; i += 50_000) {
    writer.write(payload.subarray(i, i + 50_000));
    await new Promise((r) => setTimeout(r, 2));
  }
  writer.end();
  const r = await within(lwp.wait(), 30_000, 'the LWP\'s reads');
  assert.deepEqual(r, { got: N, sum: SUM });
  assert.equal(reader.bytesRead, 0, 'Node read none of it');
}

test('a socket accepted with pauseOnConnect: an LWP reads all its bytes, Node none', async () => {
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [peer] = await once(server, 'connection') as [net.Socket];
  try {
    await lwp_reads(peer, client);
  } finally {
    client.destroy(); peer.destroy(); server.close();
  }
});

test('a client socket paused before its \'connect\': an LWP reads all its bytes, Node none', async () => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.pause();
  const [[peer]] = await Promise.all([once(server, 'connection') as Promise<[net.Socket]>, once(client, 'connect')]);
  try {
    await lwp_reads(client, peer);
  } finally {
    client.destroy(); peer.destroy(); server.close();
  }
});
