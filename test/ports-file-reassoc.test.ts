/**
 * PORT_SOURCE_FILE: associating a file_obj_t again while a getter has its
 * fired event in hand (taken off the queue, not yet settled). The queued
 * event is withdrawn (port_associate(3C): events and user replaced), but the
 * new association must still report: here a time it carries differs from
 * the file's, so its event is due at once. The window (another LWP's
 * port_associate between a getter's take and its settling of the slot) is
 * held open deterministically by a wrapper around the source's delivery
 * callback, in this thread only, that makes the call before the real
 * callback runs: the kernel state it meets is the one another LWP's call
 * would meet (the slot taken by a getter, the association FIRED).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from '../src/ports/sys.js';
import '../src/sys/index.js';
import { close } from '../src/kern/sys.js';
import { SysError } from '../src/kern/errno.js';
import { kstat_snapshot } from '../src/kern/kstat.js';
import { with_deliver_hook } from './fixtures/deliver-hook.js';

const { port_create, port_associate, port_dissociate, port_get, PORT_SOURCE_FILE, FILE_MODIFIED } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const SOON = { tv_sec: 2, tv_nsec: 0 };

function errno(f: () => void): string | null {
  try { f(); return null; } catch (e) { if (e instanceof SysError) return e.code; throw e; }
}

const portsInUse = () => kstat_snapshot('port')['port.ports']!;
/** A file_obj_t of `path` whose mtime differs from the file's: its FILE_MODIFIED is due at association. */
const stale = (path: string): sys.file_obj_t => ({ fo_name: path, fo_atime: ZERO, fo_mtime: ZERO, fo_ctime: ZERO });

test('associating again while the fired event is in a getter\'s hands: the new association\'s event arrives', () => {
  const d = fs.mkdtempSync(join(tmpdir(), 'ukern-preassoc-')), p = join(d, 'f');
  fs.writeFileSync(p, 'x');
  const port = port_create();
  const base = portsInUse() - 1;
  const o = stale(p);
  port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 1); // queued at once
  let code: string | null = 'not called';
  let got: sys.port_event_t | string;
  with_deliver_hook(PORT_SOURCE_FILE, 'before', () => {
    // The first event is taken: replaced (withdrawn), with a new event due at once.
    code = errno(() => port_associate(port, PORT_SOURCE_FILE, o, FILE_MODIFIED, 2));
  }, () => {
    try { got = port_get(port, SOON); } catch (e) { if (!(e instanceof SysError)) throw e; got = e.code; }
  });
  assert.equal(code, null, 'the association was made again');
  assert.notEqual(got!, 'ETIME', 'the new association\'s event was lost');
  const e = got! as sys.port_event_t;
  assert.deepEqual([e.portev_source, e.portev_events, e.portev_user], [PORT_SOURCE_FILE, FILE_MODIFIED, 2], 'the new association\'s event, not the withdrawn one');
  assert.equal(errno(() => port_get(port, ZERO)), 'ETIME', 'nothing else queued: the old event was withdrawn');
  assert.equal(errno(() => port_dissociate(port, PORT_SOURCE_FILE, o)), 'ENOENT', 'one-shot: delivered, so no longer associated');
  close(port);
  assert.equal(portsInUse(), base, 'the port struct was released: no slot left behind');
  fs.rmSync(d, { recursive: true });
});
