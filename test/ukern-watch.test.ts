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
import { readdirSync, readlinkSync, realpathSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KQueue, Port, EVFILT_READ, EVFILT_WRITE, EV_CLEAR, EVFILT_PROC, EVFILT_VNODE, NOTE_EXIT, NOTE_WRITE, POLLIN, PORT_SOURCE_FD, PORT_SOURCE_FILE, FILE_MODIFIED } from 'ukern';
import { within } from './helpers.js';

/**
 * Host descriptors open on `path`. Not a count of every descriptor: other
 * threads of this process (an LWP worker starting: its event loop's epoll
 * and eventfd) open and close theirs at any time, which made a count racy.
 */
function nfds_on(path: string): number {
  const real = realpathSync(path);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`) === real; } catch { return false; }
  }).length;
}

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
  const nfds = (): number => nfds_on('/etc/hostname');
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
  const nfds = (): number => nfds_on(path);
  const base = nfds();
  assert.equal(base, 0);
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

test('Port#associate (PORT_SOURCE_FD) on a pipe and a socket; Port#watchFile (PORT_SOURCE_FILE) on a path; dissociate', async () => {
  const { pipe } = await import('./fixtures/osfd.js');
  const { writeSync, closeSync, appendFileSync } = await import('node:fs');
  const [r, w] = pipe();
  const port = new Port();
  const dir = mkdtempSync(join(tmpdir(), 'ukern-watch-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  try {
    assert.equal(port.associate(r, POLLIN, { user: 5 }), r);
    writeSync(w, 'hi');
    const ev = await within(port.get({ timeout: 5000 }), 6000, 'POLLIN');
    assert.deepEqual([ev.portev_source, ev.portev_object, ev.portev_user, ev.portev_events & POLLIN], [PORT_SOURCE_FD, r, 5, POLLIN]);
    assert.throws(() => port.dissociate(r), { code: 'ENOENT' }, 'one-shot: retrieved, so no longer associated');
    port.associate(r, POLLIN);
    port.dissociate(r);
    const fobj = port.watchFile(path, FILE_MODIFIED, { user: 9 });
    assert.equal(fobj.fo_name, path);
    appendFileSync(path, 'more');
    const fe = await within(port.get({ timeout: 5000 }), 6000, 'FILE_MODIFIED');
    assert.equal(fe.portev_source, PORT_SOURCE_FILE);
    assert.equal(fe.portev_user, 9);
    assert.ok((fe.portev_events & FILE_MODIFIED) !== 0);
    assert.equal(fe.portev_object as unknown, fobj, 'in the associating thread the event carries the file_obj_t itself');
    port.watchFile(fobj, FILE_MODIFIED);
    port.dissociate(fobj);
    assert.throws(() => port.dissociate(fobj), { code: 'ENOENT' });
    assert.throws(() => port.associate('/etc/hostname' as unknown as number, POLLIN), { code: 'ERR_INVALID_ARG_TYPE' });
  } finally {
    port.close(); closeSync(r); closeSync(w); rmSync(dir, { recursive: true });
  }
});

test('KQueue#watch of a ChildProcess ("proc", NOTE_EXIT: its wait status) and of a path ("vnode", NOTE_WRITE)', async () => {
  const { spawn } = await import('node:child_process');
  const { appendFileSync } = await import('node:fs');
  const kq = new KQueue();
  const dir = mkdtempSync(join(tmpdir(), 'ukern-watch-'));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  try {
    const child = spawn('/bin/sh', ['-c', 'sleep 0.02; exit 3'], { stdio: 'ignore' }); // a host process: its pid and status are what is watched
    assert.equal(kq.watch(child, 'proc', { fflags: NOTE_EXIT }), child.pid);
    const file = kq.watch(path, 'vnode', { fflags: NOTE_WRITE });
    appendFileSync(path, 'y');
    const got = new Map<number, { data: number; fflags: number }>();
    const deadline = Date.now() + 10_000;
    while (got.size < 2 && Date.now() < deadline) {
      for (const e of await kq.wait({ timeout: 1000 })) got.set(e.filter, { data: e.data, fflags: e.fflags });
    }
    assert.equal(got.get(EVFILT_PROC)?.data, 3 << 8, 'the wait status of exit(3)');
    assert.ok(((got.get(EVFILT_VNODE)?.fflags ?? 0) & NOTE_WRITE) !== 0);
    kq.unwatch(file, 'vnode');
  } finally {
    kq.close(); rmSync(dir, { recursive: true });
  }
});
