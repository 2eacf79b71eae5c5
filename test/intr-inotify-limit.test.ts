/**
 * The host's own limit on inotify watches (ENOSPC from inotify_add_watch:
 * max_user_watches reached) is a shortage of kernel resources, not a bad
 * descriptor: EVFILT_VNODE's EV_ADD and PORT_SOURCE_FILE's port_associate
 * answer ENOMEM, as for the kernel's own table (inotify_watchers_max).
 * Before, every failure of inotify_add_watch was EBADF.
 *
 * The limit is provoked without touching the host's: this file runs itself
 * as a child in a new user namespace (unshare -Ur) whose own watch limit
 * (/proc/sys/user/max_inotify_watches, per namespace) is 2. Skipped where
 * unshare cannot make one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { mkdtempSync, openSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';

const LIMIT = 2;
const mode = process.argv[2];

function code(f: () => void): string {
  try { f(); return 'ok'; } catch (e) { if (e instanceof sys.SysError) return e.code; throw e; }
}

if (mode === undefined) {
  const probe = spawnSync('unshare', ['-Ur', 'sh', '-c', `echo ${LIMIT} > /proc/sys/user/max_inotify_watches`], { encoding: 'utf8' });
  const skip = probe.status !== 0 ? `no user namespace with its own inotify limit (${probe.error?.message ?? probe.stderr.trim()})` : false;
  test('the host\'s watch limit (ENOSPC) is ENOMEM for EVFILT_VNODE and PORT_SOURCE_FILE', { skip }, () => {
    const r = spawnSync('unshare', ['-Ur', 'sh', '-c', `echo ${LIMIT} > /proc/sys/user/max_inotify_watches && exec "$0" "$@"`,
      process.execPath, fileURLToPath(import.meta.url), 'child'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { within: ['ok', 'ok'], vnode: 'ENOMEM', file: 'ENOMEM' });
  });
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-inotify-limit-'));
  try {
    const paths = [0, 1, 2, 3].map((i) => { const p = join(dir, `f${i}`); writeFileSync(p, 'x'); return p; });
    const fds = paths.map((p) => openSync(p, 'r'));
    const kq = sys.kqueue();
    const add = (fd: number) => code(() => sys.kevent(kq, [sys.EV_SET(fd, sys.EVFILT_VNODE, sys.EV_ADD | sys.EV_CLEAR, sys.NOTE_WRITE, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 }));
    const within = [add(fds[0]!), add(fds[1]!)];
    const vnode = add(fds[2]!);
    const port = sys.port_create();
    const file = code(() => sys.port_associate(port, sys.PORT_SOURCE_FILE, { fo_name: paths[3]!, fo_atime: { tv_sec: 0, tv_nsec: 0 }, fo_mtime: { tv_sec: 0, tv_nsec: 0 }, fo_ctime: { tv_sec: 0, tv_nsec: 0 } }, sys.FILE_MODIFIED, 0));
    console.log(JSON.stringify({ within, vnode, file }));
    sys.close(port); sys.close(kq);
    for (const fd of fds) closeSync(fd);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
