/**
 * KQueue#watch / #unwatch: what Node programs hold (sockets, FileHandles,
 * paths, numbers) registered on OS event filters; argument errors with
 * Node's codes; descriptors opened for paths closed when the watch or the
 * kqueue ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KQueue, EVFILT_READ, EVFILT_WRITE, EV_CLEAR } from '../src/index.js';
import { within } from './helpers.js';

const nfds = (): number => readdirSync('/proc/self/fd').length;

test('a net.Socket accepted with pauseOnConnect: watch(socket, "read") reports the bytes the peer wrote', async () => {
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  const [peer] = await once(server, 'connection') as [net.Socket];
  // Node never reads it (pauseOnConnect): the kernel's EVFILT_READ sees the bytes.
  const kq = new KQueue();
  try {
    const ident = kq.watch(peer, 'read', { flags: EV_CLEAR, udata: 7 });
    assert.equal(ident, (peer as unknown as { _handle: { fd: number } })._handle.fd);
    client.write('hello');
    const evs = await within(kq.wait({ timeout: 5000 }), 6000, 'EVFILT_READ');
    assert.equal(evs.length, 1);
    assert.deepEqual([evs[0]!.ident, evs[0]!.filter, evs[0]!.data, evs[0]!.udata], [ident, EVFILT_READ, 5, 7]);
    const w = kq.watch(peer, 'write');
    const ew = kq.waitSync({ timeout: 1000 });
    assert.ok(ew.some((e) => e.ident === w && e.filter === EVFILT_WRITE && e.data > 0), 'a connected socket is writable');
    kq.unwatch(peer, 'read');
    assert.throws(() => kq.unwatch(peer, 'read'), { code: 'ENOENT' });
  } finally {
    kq.close(); client.destroy(); peer.destroy(); server.close();
  }
});

test('a FileHandle: watch(fh, "read") reports the bytes from its offset to the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-watch-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'abcdefgh');
  const fh = await open(path, 'r');
  const kq = new KQueue();
  try {
    kq.watch(fh, 'read');
    const evs = kq.waitSync({ timeout: 1000 });
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.ident, fh.fd);
    assert.equal(evs[0]!.data, 8);
  } finally {
    kq.close(); await fh.close(); rmSync(dir, { recursive: true });
  }
});

test('watch argument errors carry Node\'s codes and leave nothing registered or open', async () => {
  const kq = new KQueue();
  const base = nfds();
  try {
    assert.throws(() => kq.watch(new net.Socket(), 'read'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => kq.watch(0, 'bogus' as 'read'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => kq.watch('/etc/hostname', 'read'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => kq.watch(null as unknown as number, 'read'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => kq.watch(-1, 'read'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => kq.watch({ pid: undefined } as unknown as ChildProcess, 'proc'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => kq.unwatch('/etc/hostname', 'vnode'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => kq.watch(0x7ffffff0, 'read'), { code: 'EBADF' });
    assert.equal(nfds(), base);
  } finally {
    kq.close();
  }
});

test('a path watched for "vnode" is opened by the kqueue and closed with the watch or the kqueue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-watch-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  // The kernel's own host descriptors (the epoll set, the inotify instance) are made at first use and kept.
  const warm = new KQueue();
  try { warm.unwatch(warm.watch(path, 'vnode'), 'vnode'); } catch { /* refused: nothing made */ } finally { warm.close(); }
  const base = nfds();
  const kq = new KQueue();
  try {
    let ident = -1;
    try { ident = kq.watch(path, 'vnode'); } catch {
      // Until EVFILT_VNODE is built the kernel refuses it; what was opened is closed either way.
      assert.equal(nfds(), base, 'nothing left open after a refused watch');
      return;
    }
    assert.equal(nfds(), base + 1, 'the path\'s descriptor (a kqueue is a kernel descriptor, not the host\'s)');
    kq.unwatch(ident, 'vnode');
    assert.equal(nfds(), base);
    kq.watch(path, 'vnode');
  } finally {
    kq.close();
    assert.equal(nfds(), base, 'closing the kqueue closed the path it watched');
    rmSync(dir, { recursive: true });
  }
});
