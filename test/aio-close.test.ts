/**
 * Requests outlived by what they use: close(2) of their descriptor through
 * the kernel (queued ones are cancelled, one in progress is stopped or
 * completes: never lost, and notified once), and process exit with requests
 * in flight (the process ends at once, by exit() or by its loop running
 * dry, on both engines).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir, constants } from 'node:os';
import { writeFileSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe } from './fixtures/osfd.js';
import { scenario } from './helpers.js';

const SOON = { tv_sec: 5, tv_nsec: 0 };
const ZERO = { tv_sec: 0, tv_nsec: 0 };
const dir = mkdtempSync(join(tmpdir(), 'ukern-aioc-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const viaPort = (port: number, user = 0): sys.aio_sigevent => ({ sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: user } });

test('close(fd) with a pipe read pending: the request ends ECANCELED and its event comes once', () => {
  const [r, w] = pipe();
  const port = sys.port_create();
  const cbs = [1, 2, 3].map((u) => ({ aio_fildes: r, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 8, aio_sigevent: viaPort(port, u) }));
  for (const c of cbs) sys.aio_read(c);
  sys.close(r);
  const evs = sys.port_getn(port, 8, 3, SOON);
  assert.deepEqual(evs.map((e) => e.portev_user).sort(), [1, 2, 3]);
  assert.equal(sys.port_getn(port, 8, 0, ZERO).nget, 0);
  for (const c of cbs) {
    assert.equal(sys.aio_error(c), constants.errno.ECANCELED);
    assert.throws(() => sys.aio_return(c), { code: 'ECANCELED' });
  }
  sys.close(port); closeSync(w);
});

test('close(fd) right after file reads: each completes (with its data) or is cancelled, never lost', () => {
  const p = join(dir, 'f');
  writeFileSync(p, Buffer.alloc(1 << 18, 7));
  const port = sys.port_create();
  const fd = openSync(p, 'r');
  const cbs = Array.from({ length: 32 }, (_, i) => ({ aio_fildes: fd, aio_offset: i * 8192, aio_buf: new Uint8Array(new SharedArrayBuffer(8192)), aio_nbytes: 8192, aio_sigevent: viaPort(port, i) }));
  for (const c of cbs) sys.aio_read(c);
  sys.close(fd);
  const evs = sys.port_getn(port, 64, 32, SOON);
  assert.equal(evs.length, 32);
  assert.equal(new Set(evs.map((e) => e.portev_user)).size, 32);
  for (const c of cbs) {
    try {
      assert.equal(sys.aio_return(c), 8192);
      assert.ok(c.aio_buf.every((b) => b === 7));
    } catch (e) {
      assert.equal((e as sys.SysError).code, 'ECANCELED');
    }
  }
  sys.close(port);
});

for (const engine of ['io_uring', 'threads']) {
  for (const how of ['exit', 'dry']) {
    test(`process ${how === 'exit' ? 'exit()' : 'end'} with requests in flight ends at once (${engine})`, () => {
      const env = engine === 'threads' ? { UKERN_AIO_ENGINE: 'threads' } : {};
      const saved = process.env.UKERN_AIO_ENGINE;
      Object.assign(process.env, env);
      try {
        const r = scenario('aio-exit', [how], 20_000);
        assert.equal(r.signal, null, `did not end: ${r.stderr}`);
        assert.equal(r.status, how === 'exit' ? 3 : 0, r.stderr);
        assert.match(r.stdout, /in flight: true/);
      } finally {
        if (saved === undefined) delete process.env.UKERN_AIO_ENGINE; else process.env.UKERN_AIO_ENGINE = saved;
      }
    });
  }
}
