/**
 * PORT_SOURCE_FILE on real temp files and directories, after the illumos
 * port_associate(3C) FILE cases: FILE_MODIFIED / FILE_ACCESS / FILE_ATTRIB /
 * FILE_TRUNC as asked; the exception events (FILE_DELETE, FILE_RENAME_FROM)
 * reported unasked; one-shot (re-associate to re-arm); an event at once when
 * a given time differs from the file's (only for the events asked for);
 * re-associating replaces events and user and withdraws a queued event;
 * FILE_NOFOLLOW watches the link itself; port_dissociate (ENOENT when not
 * associated); closing the port drops the associations; portev_object is
 * the very file_obj_t; every errno path; the copy-in reads each field once.
 * Waits have deadlines (port_get's timeout); "nothing came" is proved by a
 * probe association whose event comes later in the host's queue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import fs from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { until, within } from './helpers.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const {
  port_create, port_associate, port_dissociate, port_get, close, PORT_SOURCE_FILE, PORT_SOURCE_FD,
  FILE_ACCESS, FILE_MODIFIED, FILE_ATTRIB, FILE_TRUNC, FILE_NOFOLLOW, FILE_DELETE, FILE_RENAME_FROM,
} = sys;
type FO = sys.file_obj_t;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 5, tv_nsec: 0 };
const assocs = () => sys.kstat('port')['port.file_assocs']!;
const ino = (k: string) => sys.kstat('inotify')[`inotify.${k}`]!;

function tmp(): string { return fs.mkdtempSync(join(tmpdir(), 'ukern-pfile-')); }
const ts = (ns: bigint) => ({ tv_sec: Number(ns / 1_000_000_000n), tv_nsec: Number(ns % 1_000_000_000n) });
/** A file_obj_t with the file's current times (lstat when nofollow). */
function fobj(path: string, nofollow = false): FO {
  const st = (nofollow ? fs.lstatSync : fs.statSync)(path, { bigint: true });
  return { fo_name: path, fo_atime: ts(st.atimeNs), fo_mtime: ts(st.mtimeNs), fo_ctime: ts(st.ctimeNs) };
}
/** A temp file: [dir, path]. */
function file(content = 'x'): [string, string] {
  const d = tmp(), p = join(d, 'f');
  fs.writeFileSync(p, content);
  return [d, p];
}
function get(port: number): sys.port_event_t { return port_get(port, SOON); }
const none = (port: number) => assert.throws(() => port_get(port, ZERO), { code: 'ETIME' });
/** Nothing is pending: a probe file's event, made after, is the next one (the host queues in order). */
function nothing_pending(port: number): void {
  const [d, p] = file();
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_ATTRIB, 999);
  fs.chmodSync(p, 0o600);
  assert.equal(get(port).portev_user, 999, 'the probe is the next event');
  none(port);
  fs.rmSync(d, { recursive: true });
}

test('FILE_MODIFIED on an append: portev_* as the contract says, object the very file_obj_t; one-shot', () => {
  const [d, p] = file();
  const port = port_create();
  const o = fobj(p);
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 42);
  none(port);
  fs.appendFileSync(p, 'y');
  const ev = get(port);
  assert.equal(ev.portev_events, FILE_MODIFIED);
  assert.equal(ev.portev_source, PORT_SOURCE_FILE);
  assert.equal(ev.portev_user, 42);
  assert.equal(ev.portev_object as unknown, o, 'the object passed');
  // One-shot: no further event, and no association to dissociate.
  fs.appendFileSync(p, 'z');
  nothing_pending(port);
  assert.throws(() => port_dissociate(port, PORT_SOURCE_FILE, o), { code: 'ENOENT' });
  // Re-associating re-arms.
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 43);
  fs.appendFileSync(p, 'w');
  assert.equal(get(port).portev_user, 43);
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('a fired association keeps the host watch for the next association of the file; nothing from before it is reported', () => {
  // Issue 15: letting the watch go at the event put inotify_rm_watch (and its
  // IN_IGNORED) on the getter's path, and the getter's re-association re-added it.
  const [d, p] = file();
  const port = port_create();
  const w0 = ino('watches');
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 1);
  assert.equal(ino('watches'), w0 + 1);
  fs.appendFileSync(p, 'y');
  assert.equal(get(port).portev_user, 1);
  assert.equal(ino('watches'), w0 + 1, 'the fired association kept its host watch');
  // Written while nothing is armed: the kept watch hears it, nobody is told.
  for (let i = 0; i < 5; i++) fs.appendFileSync(p, 'z');
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 2);
  assert.equal(ino('watches'), w0 + 1, 'the same host watch serves the new association');
  nothing_pending(port);
  fs.appendFileSync(p, 'w');
  assert.equal(get(port).portev_user, 2);
  close(port);
  assert.equal(ino('watches'), w0, 'closing the port lets it go');
  fs.rmSync(d, { recursive: true });
});

test('FILE_ACCESS on a read, FILE_ATTRIB on chmod, FILE_TRUNC on truncate; only what was asked', () => {
  const [d, p] = file('0123456789');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_ACCESS, 1);
  fs.readFileSync(p);
  assert.deepEqual([get(port).portev_events], [FILE_ACCESS]);
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_ATTRIB, 2);
  fs.readFileSync(p); // not asked for
  fs.chmodSync(p, 0o640);
  const ev = get(port);
  assert.deepEqual([ev.portev_events, ev.portev_user], [FILE_ATTRIB, 2]);
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_TRUNC, 3);
  fs.truncateSync(p, 2);
  assert.equal(get(port).portev_events, FILE_TRUNC);
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED | FILE_TRUNC, 4);
  fs.truncateSync(p, 1);
  assert.equal(get(port).portev_events, FILE_MODIFIED | FILE_TRUNC);
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('exception events come unasked: FILE_DELETE on unlink, FILE_RENAME_FROM on rename', () => {
  const [d, p] = file();
  const port = port_create();
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_ACCESS, 1);
  fs.renameSync(p, join(d, 'g'));
  assert.equal(get(port).portev_events, FILE_RENAME_FROM);
  const q = join(d, 'g');
  port_associate(port, PORT_SOURCE_FILE, fobj(q), 0, 2);
  fs.unlinkSync(q);
  assert.deepEqual([get(port).portev_events & FILE_DELETE, get_none(port)], [FILE_DELETE, true]);
  // Held open by someone else: the last name going is still FILE_DELETE.
  const [d2, p2] = file();
  const held = fs.openSync(p2, 'r');
  port_associate(port, PORT_SOURCE_FILE, fobj(p2), FILE_MODIFIED, 3);
  fs.unlinkSync(p2);
  assert.equal(get(port).portev_events, FILE_DELETE);
  fs.closeSync(held);
  close(port);
  fs.rmSync(d, { recursive: true }); fs.rmSync(d2, { recursive: true });
});
test('what became of the name: renamed onto is FILE_RENAME_TO; one of two links: only the watched name counts', () => {
  const [d, p] = file();
  const port = port_create();
  // Another file renamed onto the watched name.
  const other = join(d, 'other');
  fs.writeFileSync(other, 'new');
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 1);
  fs.renameSync(other, p);
  assert.deepEqual([get(port).portev_events, get_none(port)], [sys.FILE_RENAME_TO, true]);
  // Two names: removing the other one is no event for this one; removing this one is FILE_DELETE.
  const alias = join(d, 'alias');
  fs.linkSync(p, alias);
  const o2 = fobj(p);
  port_associate(port, PORT_SOURCE_FILE, o2, FILE_MODIFIED, 2);
  fs.unlinkSync(alias);
  nothing_pending(port);
  port_dissociate(port, PORT_SOURCE_FILE, o2);
  fs.linkSync(p, alias);
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 3);
  fs.unlinkSync(p);
  assert.deepEqual([get(port).portev_events, get_none(port)], [FILE_DELETE, true]);
  close(port);
  fs.rmSync(d, { recursive: true });
});

function get_none(port: number): boolean { try { port_get(port, ZERO); return false; } catch { return true; } }

test('a given time that differs from the file\'s: an event at once, for the events asked for only', () => {
  const [d, p] = file();
  const port = port_create();
  const now = fobj(p);
  const old = { ...now, fo_mtime: { tv_sec: now.fo_mtime.tv_sec - 10, tv_nsec: 0 } };
  port_associate(port, PORT_SOURCE_FILE, old, FILE_MODIFIED | FILE_ATTRIB, 5);
  const ev = port_get(port, ZERO);
  assert.deepEqual([ev.portev_events, ev.portev_user], [FILE_MODIFIED, 5]);
  // The mtime differs but FILE_MODIFIED is not asked: no event at once.
  const old2 = { ...old };
  port_associate(port, PORT_SOURCE_FILE, old2, FILE_ATTRIB, 6);
  none(port);
  port_dissociate(port, PORT_SOURCE_FILE, old2);
  const all = { ...now, fo_atime: ZERO, fo_ctime: ZERO, fo_mtime: ZERO };
  port_associate(port, PORT_SOURCE_FILE, all, FILE_ACCESS | FILE_MODIFIED | FILE_ATTRIB, 7);
  assert.equal(port_get(port, ZERO).portev_events, FILE_ACCESS | FILE_MODIFIED | FILE_ATTRIB);
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('times before 1970 and past 2^32 seconds compare as the file\'s (statx\'s 64-bit seconds read as two 32-bit halves)', () => {
  const [d, p] = file();
  const port = port_create();
  for (const sec of [-1_000_000_000, 2 ** 32 + 7]) {
    fs.utimesSync(p, new Date(sec * 1000), new Date(sec * 1000)); // (a negative number is not taken as seconds before 1970)
    const o = fobj(p);
    assert.equal(o.fo_mtime.tv_sec, sec);
    port_associate(port, PORT_SOURCE_FILE, o, FILE_ACCESS | FILE_MODIFIED, 1);
    none(port); // the same times: nothing at once
    port_associate(port, PORT_SOURCE_FILE, { ...o, fo_mtime: { tv_sec: sec + 1, tv_nsec: 0 } }, FILE_ACCESS | FILE_MODIFIED, 2);
    assert.equal(port_get(port, ZERO).portev_events, FILE_MODIFIED, 'one second off: FILE_MODIFIED at once');
  }
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('re-associating replaces events and user, and withdraws a queued event', () => {
  const [d, p] = file();
  const port = port_create();
  const o = fobj(p);
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 1);
  port_associate(port, PORT_SOURCE_FILE, o, FILE_ATTRIB, 2);
  assert.equal(assocs() >= 1, true);
  fs.appendFileSync(p, 'y'); // modified: no longer asked
  fs.chmodSync(p, 0o600);
  const ev = get(port);
  assert.deepEqual([ev.portev_events, ev.portev_user], [FILE_ATTRIB, 2]);
  // A stale time queues an event at once; associating again with the right times withdraws it.
  const stale = { ...fobj(p), fo_ctime: ZERO };
  port_associate(port, PORT_SOURCE_FILE, stale, FILE_ATTRIB, 3);
  const fresh = fobj(p);
  Object.assign(stale, fresh);
  port_associate(port, PORT_SOURCE_FILE, stale, FILE_ATTRIB, 4);
  none(port);
  fs.chmodSync(p, 0o640);
  assert.deepEqual([get(port).portev_user], [4]);
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('port_dissociate: ENOENT when not associated; no event after; by the object or its number', () => {
  const [d, p] = file();
  const port = port_create();
  const o = fobj(p);
  assert.throws(() => port_dissociate(port, PORT_SOURCE_FILE, o), { code: 'ENOENT' });
  assert.throws(() => port_dissociate(port, PORT_SOURCE_FILE, 123456789), { code: 'ENOENT' });
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 1);
  port_dissociate(port, PORT_SOURCE_FILE, o);
  assert.throws(() => port_dissociate(port, PORT_SOURCE_FILE, o), { code: 'ENOENT' });
  fs.appendFileSync(p, 'y');
  nothing_pending(port);
  // A queued event goes with its association.
  port_associate(port, PORT_SOURCE_FILE, { ...o, fo_mtime: ZERO }, FILE_MODIFIED, 2);
  const o2 = { ...o, fo_mtime: ZERO };
  port_associate(port, PORT_SOURCE_FILE, o2, FILE_MODIFIED, 3);
  port_dissociate(port, PORT_SOURCE_FILE, o2);
  assert.equal(port_get(port, ZERO).portev_user, 2, 'only the other object\'s event is left');
  none(port);
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('FILE_NOFOLLOW watches a symbolic link itself; without it, its target', () => {
  const d = tmp(), target = join(d, 't'), link = join(d, 'l');
  fs.writeFileSync(target, 'x');
  fs.symlinkSync(target, link);
  const port = port_create();
  port_associate(port, PORT_SOURCE_FILE, fobj(link, true), FILE_MODIFIED | FILE_NOFOLLOW, 1);
  port_associate(port, PORT_SOURCE_FILE, fobj(link), FILE_MODIFIED, 2);
  fs.appendFileSync(target, 'y');
  assert.equal(get(port).portev_user, 2, 'the followed association hears the target');
  nothing_pending(port);
  fs.unlinkSync(link);
  assert.deepEqual([get(port).portev_user, get_none(port)], [1, true], 'the link itself removed: FILE_DELETE');
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('a directory: an entry created is FILE_MODIFIED; a child\'s own change is not the directory\'s', () => {
  const d = tmp();
  fs.writeFileSync(join(d, 'child'), '');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FILE, fobj(d), FILE_MODIFIED | FILE_ATTRIB, 1);
  fs.appendFileSync(join(d, 'child'), 'data');
  fs.chmodSync(join(d, 'child'), 0o600);
  nothing_pending(port);
  fs.writeFileSync(join(d, 'new'), '');
  assert.equal(get(port).portev_events, FILE_MODIFIED);
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('closing the port drops its associations and their watches', () => {
  const [d, p] = file();
  const a0 = assocs(), w0 = ino('watchers');
  const port = port_create();
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 1);
  port_associate(port, PORT_SOURCE_FILE, { ...fobj(p), fo_mtime: ZERO }, FILE_MODIFIED, 2); // queued at once
  assert.equal(ino('watchers'), w0 + 1);
  close(port);
  assert.ok(assocs() <= a0, `associations left: ${assocs()} (before: ${a0})`);
  assert.equal(ino('watchers'), w0);
  fs.rmSync(d, { recursive: true });
});

test('errno paths: EBADF, ENOENT, ENOTDIR, EINVAL, TypeError; kernel memory intact', () => {
  const [d, p] = file();
  const port = port_create();
  const o = fobj(p);
  assert.throws(() => port_associate(1 << 20, PORT_SOURCE_FILE, o, FILE_MODIFIED, 0), { code: 'EBADF' });
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, { ...o, fo_name: join(d, 'nope') }, FILE_MODIFIED, 0), { code: 'ENOENT' });
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, { ...o, fo_name: join(p, 'x') }, FILE_MODIFIED, 0), { code: 'ENOTDIR' });
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, o, 0x8, 0), { code: 'EINVAL' }, 'an event bit that is not FILE_*');
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, { ...o, fo_name: '' }, FILE_MODIFIED, 0), { code: 'EINVAL' });
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, { ...o, fo_name: 'a\0b' }, FILE_MODIFIED, 0), { code: 'EINVAL' });
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, { ...o, fo_mtime: { tv_sec: 0, tv_nsec: 1e9 } }, FILE_MODIFIED, 0), { code: 'EINVAL' });
  const bad = (x: unknown) => port_associate(port, PORT_SOURCE_FILE, x as FO, FILE_MODIFIED, 0);
  assert.throws(() => bad({ ...o, fo_name: 7 }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => bad({ ...o, fo_atime: null }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => bad(5), { code: 'ERR_INVALID_ARG_TYPE' }, 'a number is no file_obj_t');
  assert.throws(() => bad('path'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => port_associate(port, PORT_SOURCE_FD, o, 1, 0), { code: 'ERR_INVALID_ARG_TYPE' }, 'PORT_SOURCE_FD takes no file_obj_t');
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 'u' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.equal(ino('watchers'), 0, 'no watcher left by a refused association');
  // Still works.
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 9);
  fs.appendFileSync(p, 'y');
  assert.equal(get(port).portev_user, 9);
  close(port);
  assert.throws(() => port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 0), { code: 'EBADF' });
  fs.rmSync(d, { recursive: true });
});

test('copy-in: each file_obj_t field read once, before any lock', () => {
  const [d, p] = file();
  const port = port_create();
  const real = fobj(p);
  const reads: string[] = [];
  const o = new Proxy(real, { get(t, k, r) { reads.push(String(k)); return Reflect.get(t, k, r); } });
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 1);
  assert.deepEqual(reads.sort(), ['fo_atime', 'fo_ctime', 'fo_mtime', 'fo_name']);
  fs.appendFileSync(p, 'y');
  assert.equal(get(port).portev_object as unknown, o, 'the object passed (the proxy)');
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('an LWP blocked in port_get is woken by an append in another thread, taking the event from the epoll set itself; it gets the object\'s number', async () => {
  const [d, p] = file();
  const port = port_create();
  const o = fobj(p);
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 77);
  const sab = new SharedArrayBuffer(32);
  const res = new Int32Array(sab);
  const intr = (k: string): number => sys.kstat('intr')[`intr.${k}`] ?? 0;
  const waits0 = intr('host_waits'), taken0 = intr('host_taken');
  const lid = sys.lwp_create({ module: new URL('./fixtures/portfile-lwp.js', import.meta.url), export: 'blockInPortGet', arg: { port, sab } });
  // It waits in the host on the kernel's epoll set (intr/hostwait.ts) and takes the inotify event itself.
  await until(() => intr('host_waits') > waits0 && intr('host_waiters') > 0, 10_000, 'the LWP to wait in port_get, in the host');
  fs.appendFileSync(p, 'wake');
  await within(sys.lwp_wait_async(lid), 10_000, 'the LWP');
  assert.ok(intr('host_taken') > taken0, 'the LWP took the event from the set');
  assert.deepEqual([...res.slice(0, 4)], [1, FILE_MODIFIED, PORT_SOURCE_FILE, 77]);
  assert.ok(res[4]! > 0, `another thread gets the object's kernel number (${res[4]})`);
  // The number names the object: associated again here, another thread's number dissociates it.
  assert.throws(() => port_dissociate(port, PORT_SOURCE_FILE, res[4]!), { code: 'ENOENT' }, 'delivered: not associated');
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 78);
  port_dissociate(port, PORT_SOURCE_FILE, res[4]!);
  assert.throws(() => port_dissociate(port, PORT_SOURCE_FILE, o), { code: 'ENOENT' });
  close(port);
  fs.rmSync(d, { recursive: true });
});

test('associating a watched file again joins its host watch by the file\'s identity; a file that went never lends its watch to a new one', () => {
  const [d, p] = file();
  const port = port_create();
  // The first association adds the host watch; each one after the delivered
  // event (a new file_obj_t each time, as a getter that stats the file makes)
  // joins it, kept until reaped, without asking the host again.
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 1);
  const joined0 = ino('joined_by_identity');
  for (let i = 0; i < 20; i++) {
    fs.appendFileSync(p, 'y');
    const ev = get(port);
    assert.equal(ev.portev_user, 1);
    assert.equal(ev.portev_events & FILE_MODIFIED, FILE_MODIFIED);
    if (i < 19) port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 1);
  }
  assert.equal(ino('joined_by_identity') - joined0, 19);
  // Asking for more than the watch asks the host for goes to the host (the mask grows).
  port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_ACCESS, 2);
  assert.equal(ino('joined_by_identity') - joined0, 19, 'a wider mask joined without the host');
  fs.readFileSync(p);
  assert.equal(get(port).portev_user, 2);
  nothing_pending(port);
  // The file goes and a new one takes its name (and, on most file systems, soon its
  // inode number): the new file's association hears of its writes.
  for (let round = 0; round < 30; round++) {
    port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 3);
    fs.appendFileSync(p, 'z');
    assert.equal(get(port).portev_user, 3);
    fs.rmSync(p);
    fs.writeFileSync(p, 'new');
    port_associate(port, PORT_SOURCE_FILE, fobj(p), FILE_MODIFIED, 4);
    fs.appendFileSync(p, 'w');
    const ev = get(port);
    assert.equal(ev.portev_user, 4, `round ${round}: the new file's write was not heard`);
    assert.equal(ev.portev_events & FILE_MODIFIED, FILE_MODIFIED);
  }
  nothing_pending(port);
  close(port);
  fs.rmSync(d, { recursive: true });
});

// A collection on demand: this test file runs in a process of its own.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('a loop that never returns to its event loop keeps no file_obj_t it is done with; one still associated is kept and delivered', async () => {
  const [d, p] = file();
  const port = port_create();
  // Each object carries 64 KiB of JS heap (an array of 8192 small integers,
  // freed by the collection itself: an ArrayBuffer's memory goes back later,
  // from a sweeper thread): 2000 of them kept would be 125 MiB.
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 2000; i++) {
    const o = { ...fobj(p), fo_mtime: ZERO, pad: new Array<number>(8192).fill(i) }; // a time that differs: its event at once
    port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, i);
    const ev = get(port);
    assert.equal(ev.portev_user, i);
    assert.equal(ev.portev_object, o, 'the very file_obj_t');
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 16 * 1024 * 1024, `${(grown / 1048576).toFixed(1)} MiB of file_obj_t payloads still held after the loop`);
  // An object the program dropped while it is associated is still the event's.
  (() => { const o = { ...fobj(p), tag: 'kept' }; port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 7); })();
  await new Promise((r) => setImmediate(r)); // past a microtask checkpoint
  gc();
  fs.appendFileSync(p, 'y');
  const ev = get(port);
  assert.equal(ev.portev_user, 7);
  assert.equal((ev.portev_object as unknown as { tag?: string }).tag, 'kept');
  close(port);
  fs.rmSync(d, { recursive: true });
});
