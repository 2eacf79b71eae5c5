/**
 * PORT_SOURCE_FILE at the watcher table's limit (its own file: the limits
 * are boot tunables). A delivered association keeps its inotify watcher
 * until it is reaped (the next association of the file takes the host watch
 * over), so delivered ones can fill the table: an association that then
 * finds it full must reap them and succeed, not fail with ENOMEM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as sys from 'ukern/sys';

sys.boot({ inotify_watchers_max: 16, port_file_max: 64 });
const { port_create, port_associate, port_get, close, PORT_SOURCE_FILE, FILE_MODIFIED } = sys;
const ts = (ns: bigint) => ({ tv_sec: Number(ns / 1_000_000_000n), tv_nsec: Number(ns % 1_000_000_000n) });
function fobj(path: string): sys.file_obj_t {
  const st = fs.statSync(path, { bigint: true });
  return { fo_name: path, fo_atime: ts(st.atimeNs), fo_mtime: ts(st.mtimeNs), fo_ctime: ts(st.ctimeNs) };
}
const ino = (k: string) => sys.kstat('inotify')[`inotify.${k}`]!;

test('delivered associations holding every watcher: the next association reaps them instead of failing', () => {
  const d = fs.mkdtempSync(join(tmpdir(), 'ukern-pfile-lim-'));
  const files = Array.from({ length: 17 }, (_, i) => join(d, `f${i}`));
  for (const f of files) fs.writeFileSync(f, '');
  const port = port_create();
  for (let i = 0; i < 16; i++) port_associate(port, PORT_SOURCE_FILE, fobj(files[i]!), FILE_MODIFIED, i);
  const seen = new Set<number>();
  for (let i = 0; i < 16; i++) {
    fs.appendFileSync(files[i]!, 'x');
    seen.add(port_get(port, { tv_sec: 5, tv_nsec: 0 }).portev_user as number);
  }
  assert.equal(seen.size, 16);
  assert.equal(ino('watchers'), 16, 'the delivered ones kept their watchers: the table is full');
  port_associate(port, PORT_SOURCE_FILE, fobj(files[16]!), FILE_MODIFIED, 16);
  assert.equal(ino('watchers'), 1, 'the delivered ones were reaped');
  fs.appendFileSync(files[16]!, 'x');
  assert.equal(port_get(port, { tv_sec: 5, tv_nsec: 0 }).portev_user, 16);
  close(port);
  assert.equal(ino('watchers'), 0);
  fs.rmSync(d, { recursive: true });
});
