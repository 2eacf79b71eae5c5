/**
 * Every name `ukern/sys` exports is in its contract, docs/sys.md: a function
 * or constant a user can import and read nothing about is either an
 * undocumented extension or an internal the facade leaks (src/sys/index.ts
 * re-exports each subsystem's sys.ts whole). aio_cancel_fd, the cancel that
 * close(fd) runs, was exported that way: callable without a kernel entry or
 * copy-in, it threw a RangeError before boot and answered AIO_ALLDONE for a
 * string descriptor after.
 *
 * Counted as named: a word of the page in backquotes or not, the `_async`
 * twin of a named call (the page gives them as "and its _async"), and the
 * SIG* names of os.constants.signals (the page takes them as a set).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import * as sys from 'ukern/sys';

const doc = readFileSync(new URL('../../docs/sys.md', import.meta.url), 'utf8');
const words = new Set(doc.match(/[A-Za-z_][A-Za-z0-9_]*/g));

test('docs/sys.md names every export of ukern/sys', () => {
  const missing = Object.keys(sys).filter((k) =>
    !words.has(k) && !(k.endsWith('_async') && words.has(k.slice(0, -6))) && !(k in constants.signals));
  assert.deepEqual(missing, []);
});

test('no internal of the kernel is exported from ukern/sys: aio_cancel_fd', () => {
  assert.equal('aio_cancel_fd' in sys, false);
});
