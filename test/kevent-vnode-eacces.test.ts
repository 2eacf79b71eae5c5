/**
 * EVFILT_VNODE and PORT_SOURCE_FILE on a file the process may not read:
 * inotify refuses to watch it (EACCES), and so do we, as BSD's kevent(2)
 * and illumos port_associate(3C) do; it was EBADF, which says the
 * descriptor is not open. The tests run as root, which reads anything, so
 * the case runs in a child process of an unprivileged user (nobody) on a
 * file it owns with mode 0200 (write-only), opened O_WRONLY.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, chownSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FACADE = import.meta.resolve('ukern/sys');
const CHILD_MS = 20000;
const NOBODY = 65534;
const root = typeof process.getuid === 'function' && process.getuid() === 0;

function child(body: string): Promise<unknown> {
  const src = `import * as s from ${JSON.stringify(FACADE)};\n${body}`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: CHILD_MS, killSignal: 'SIGKILL', uid: NOBODY, gid: NOBODY },
      (err, stdout, stderr) => {
        if (err !== null) { reject(new Error(`child failed: ${stderr}`)); return; }
        try { resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '')); } catch { reject(new Error(`bad child output: ${stdout}`)); }
      });
  });
}

test('EVFILT_VNODE and PORT_SOURCE_FILE on a file the user cannot read: EACCES', { skip: root ? false : 'needs root to run a child as another user' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-eacces-'));
  try {
    chmodSync(dir, 0o755);
    const file = join(dir, 'w-only');
    writeFileSync(file, 'x');
    chownSync(file, NOBODY, NOBODY);
    chmodSync(file, 0o200);
    const r = await child(`
      import { openSync, constants } from 'node:fs';
      const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code ?? String(e); } };
      const path = ${JSON.stringify(file)};
      const fd = openSync(path, constants.O_WRONLY);
      const kq = s.kqueue();
      const vnode = code(() => s.kevent(kq, [s.EV_SET(fd, s.EVFILT_VNODE, s.EV_ADD, s.NOTE_WRITE, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 }));
      // The same descriptor is open: READ on it registers (what EBADF would have denied).
      const read = code(() => s.kevent(kq, [s.EV_SET(fd, s.EVFILT_WRITE, s.EV_ADD, 0, 0, 0)], 0, { tv_sec: 0, tv_nsec: 0 }));
      const port = s.port_create();
      const z = { tv_sec: 0, tv_nsec: 0 };
      const pfile = code(() => s.port_associate(port, s.PORT_SOURCE_FILE, { fo_name: path, fo_atime: z, fo_mtime: z, fo_ctime: z }, s.FILE_MODIFIED, 0));
      console.log(JSON.stringify({ vnode, read, pfile }));
      process.exit(0);`);
    assert.deepEqual(r, { vnode: 'EACCES', read: 'ok', pfile: 'EACCES' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
