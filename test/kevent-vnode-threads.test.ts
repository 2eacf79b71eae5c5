/**
 * EVFILT_VNODE across threads: an LWP blocked in kevent is woken by an
 * append made in another thread (through the inotify instance the intr
 * thread reads); and 200 files watched by one kqueue, a seeded subset of
 * them appended to in a seeded order, come back exactly once each (no loss, no
 * duplicate, none for a file not written). Deadlines everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import fs from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { until, within, seed, rng } from './helpers.js';

const { EV_SET, kevent, kqueue, close, EVFILT_VNODE, EV_ADD, EV_CLEAR, NOTE_WRITE, NOTE_EXTEND } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

test('an LWP blocked in kevent is woken by an append in another thread', async () => {
  const d = fs.mkdtempSync(join(tmpdir(), 'ukern-vnode-t-')), p = join(d, 'f');
  fs.writeFileSync(p, '');
  const fd = fs.openSync(p, 'r');
  const kq = kqueue();
  kevent(kq, [EV_SET(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE | NOTE_EXTEND, 0, 0)], 0, ZERO);
  const sab = new SharedArrayBuffer(16);
  const res = new Int32Array(sab);
  const intr = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
  const waits0 = intr('host_waits'), taken0 = intr('host_taken');
  const lid = sys.lwp_create({ module: new URL('./fixtures/portfile-lwp.js', import.meta.url), export: 'blockInKevent', arg: { kq, sab } });
  // It waits in the host on the kernel's epoll set (intr/hostwait.ts) and takes the inotify event itself.
  // (At a time-out, the state that says which step did not come: the intr
  // thread up, the LWP's host waits, where the LWP is.)
  await until(() => intr('host_waits') > waits0 && intr('host_waiters') > 0, 10_000, () => 'the LWP to sleep in kevent, in the host ' +
    `(intr started ${intr('started')}, host_waits ${intr('host_waits') - waits0} since, host_waiters ${intr('host_waiters')}, ` +
    `LWP ${JSON.stringify(sys.lwp_snapshot().lwps.find((l) => l.lid === lid) ?? 'gone')}, result ${[...res].join(',')})`);
  fs.appendFileSync(p, 'wake');
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.ok(intr('host_taken') > taken0, 'the LWP took the event from the set');
  assert.deepEqual([...res], [1, fd, EVFILT_VNODE, NOTE_WRITE | NOTE_EXTEND]);
  close(kq); close(fd);
  fs.rmSync(d, { recursive: true });
});

test('200 watched files appended in a seeded order: each reported exactly once', () => {
  const s = seed(), rand = rng(s);
  const d = fs.mkdtempSync(join(tmpdir(), 'ukern-vnode-s-'));
  const n = 200;
  const paths = Array.from({ length: n }, (_, i) => join(d, `f${i}`));
  for (const p of paths) fs.writeFileSync(p, '');
  const fds = paths.map((p) => fs.openSync(p, 'r'));
  const kq = kqueue();
  kevent(kq, fds.map((fd, i) => EV_SET(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, i)), 0, ZERO);
  // Write a random subset, in a random order.
  const order = [...Array(n).keys()].sort(() => rand() - 0.5).filter(() => rand() < 0.7);
  for (const i of order) fs.appendFileSync(paths[i]!, 'x');
  const seen = new Map<number, number>();
  const end = Date.now() + 10_000;
  while (seen.size < order.length && Date.now() < end) {
    for (const e of kevent(kq, null, 64, { tv_sec: 0, tv_nsec: 50e6 })) seen.set(e.udata, (seen.get(e.udata) ?? 0) + 1);
  }
  // Then nothing more within a probe's round trip.
  const probe = join(d, 'probe');
  fs.writeFileSync(probe, '');
  const pfd = fs.openSync(probe, 'r');
  kevent(kq, [EV_SET(pfd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, -1)], 0, ZERO);
  fs.appendFileSync(probe, 'x');
  for (let got = false; !got && Date.now() < end + 5000;) {
    for (const e of kevent(kq, null, 64, { tv_sec: 0, tv_nsec: 50e6 })) {
      if (e.udata === -1) got = true; else seen.set(e.udata, (seen.get(e.udata) ?? 0) + 1);
    }
  }
  assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [...order].sort((a, b) => a - b), `seed ${s}: the written files`);
  assert.ok([...seen.values()].every((c) => c === 1), `seed ${s}: each once`);
  close(kq); close(pfd);
  for (const fd of fds) close(fd);
  fs.rmSync(d, { recursive: true });
});

test('a knote and a PORT_SOURCE_FILE association on one file share one host watch; each hears its own', () => {
  const d = fs.mkdtempSync(join(tmpdir(), 'ukern-vnode-m-')), p = join(d, 'f');
  fs.writeFileSync(p, '');
  const fd = fs.openSync(p, 'r');
  const kq = kqueue(), port = sys.port_create();
  const w0 = sys.kstat('inotify')['inotify.watches']!;
  kevent(kq, [EV_SET(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, 5)], 0, ZERO);
  const st = fs.statSync(p, { bigint: true });
  const ts = (ns: bigint) => ({ tv_sec: Number(ns / 1_000_000_000n), tv_nsec: Number(ns % 1_000_000_000n) });
  sys.port_associate(port, sys.PORT_SOURCE_FILE, { fo_name: p, fo_atime: ts(st.atimeNs), fo_mtime: ts(st.mtimeNs), fo_ctime: ts(st.ctimeNs) }, sys.FILE_MODIFIED, 6);
  assert.equal(sys.kstat('inotify')['inotify.watches'], w0 + 1, 'one host watch for the inode');
  fs.appendFileSync(p, 'x');
  assert.deepEqual(kevent(kq, null, 4, { tv_sec: 5, tv_nsec: 0 }).map((e) => [e.udata, e.fflags]), [[5, NOTE_WRITE]]);
  const ev = sys.port_get(port, { tv_sec: 5, tv_nsec: 0 });
  assert.deepEqual([ev.portev_user, ev.portev_events], [6, sys.FILE_MODIFIED]);
  close(kq); close(port); close(fd);
  assert.equal(sys.kstat('inotify')['inotify.watches'], w0);
  fs.rmSync(d, { recursive: true });
});
