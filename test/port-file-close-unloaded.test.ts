/**
 * Closing a port runs PORT_SOURCE_FILE's close hook, which also frees other
 * ports' delivered associations (the reaper), and freeing one removes its
 * inotify watch: a host call. A thread that had never loaded the host calls
 * (koffi) and closed a port with no association of its own loaded them
 * there, with the association table's lock held: a LOCKDEBUG panic
 * ("the host calls (koffi) loaded with 2 kernel lock(s) held"), seen once
 * in port-file-threads' stress in a CI run. Such a thread now leaves the
 * other ports' associations to the next reaper.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread } from 'node:worker_threads';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from '../src/sys/index.js';
import { within } from './helpers.js';

/** In a fresh worker (never loaded the host calls): a port made and closed, no association. */
export function close_plain_port(): void {
  const p = sys.port_create();
  sys.close(p);
}

if (isMainThread) {
  // LOCKDEBUG on (npm test sets it too); no warm worker: the LWP gets a fresh one.
  sys.boot({ lockdebug: true, lwp_pool: 0, lwp_pool_linger: 0 });

  test('a thread with no host calls loaded closes a plain port while another port\'s file association waits to be reaped: no panic, the association is reaped later', async () => {
    const d = fs.mkdtempSync(join(tmpdir(), 'ukern-pfclose-')), path = join(d, 'f');
    fs.writeFileSync(path, 'x');
    try {
      const st = fs.statSync(path, { bigint: true });
      const t = (ns: bigint) => ({ tv_sec: Number(ns / 1_000_000_000n), tv_nsec: Number(ns % 1_000_000_000n) });
      const port = sys.port_create();
      sys.port_associate(port, sys.PORT_SOURCE_FILE, { fo_name: path, fo_atime: t(st.atimeNs), fo_mtime: t(st.mtimeNs), fo_ctime: t(st.ctimeNs) }, sys.FILE_MODIFIED, 1);
      fs.appendFileSync(path, 'y');
      // Delivered: the association is done, its watch kept until a reaper frees it.
      assert.equal(sys.port_get(port, { tv_sec: 5, tv_nsec: 0 }).portev_user, 1);
      const lid = sys.lwp_create({ module: import.meta.url, export: 'close_plain_port' });
      assert.equal(await within(sys.lwp_wait_async(lid), 30_000, 'the closing LWP'), lid);
      const snap = sys.lwp_snapshot().lwps;
      assert.equal(snap.length, 1, 'only the main thread is left');
      // The kernel did not panic: a syscall still works, and the next reaper (this close) frees it.
      sys.close(port);
      assert.equal(sys.kstat('port')['port.file_assocs'], 0);
    } finally { fs.rmSync(d, { recursive: true, force: true }); }
  });
}
