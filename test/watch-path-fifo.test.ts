/**
 * KQueue#watch of a path ('vnode') opens it without blocking: a FIFO's
 * read-only open waits for a writer, so watch('/some/fifo', 'vnode') hung
 * the calling thread for ever when none came (the class opened the path
 * with a plain 'r'). Now the open returns at once and the kernel answers
 * for the FIFO (EVFILT_VNODE takes files and directories: EINVAL), the
 * descriptor it opened closed again.
 *
 * This file is its own child (a hang in the main thread cannot be ended
 * from inside it): run with the mode 'fifo', it tries the watch and prints
 * what it got.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KQueue, NOTE_WRITE } from 'ukern';
import { childRun } from './helpers.js';
import { mkfifo } from './fixtures/osfd.js';

const mode = process.argv[2];

/** Host descriptors of this process open on `path`. */
function nfds_on(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`) === path; } catch { return false; }
  }).length;
}

if (mode === undefined) {
  test('watch(path of a FIFO, "vnode") returns (the kernel\'s EINVAL), never waits for a writer', async () => {
    const r = await childRun(fileURLToPath(import.meta.url), ['fifo'], 30_000);
    assert.equal(r.signal, null, `the child hung in watch() and was killed\n${r.stdout}${r.stderr}`);
    assert.equal(r.stdout.trim(), 'EINVAL open 0', r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ukern-watch-fifo-'));
  const path = join(dir, 'fifo');
  mkfifo(path);
  const kq = new KQueue();
  let code = 'registered';
  try {
    kq.watch(path, 'vnode', { fflags: NOTE_WRITE });
  } catch (e) {
    code = String((e as { code?: unknown }).code);
  }
  console.log(code, 'open', nfds_on(path));
  kq.close();
  rmSync(dir, { recursive: true });
}
