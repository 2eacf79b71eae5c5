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
 * The page's lists of kstat's modules and of the snapshots' fields are
 * checked against what the calls give too.
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

/** The backquoted words of the docs/sys.md line that starts with `start`, up to the line's end of paragraph. */
function item(start: string): string {
  const i = doc.indexOf(start);
  assert.ok(i >= 0, `docs/sys.md has '${start}'`);
  return doc.slice(i, doc.indexOf('\n- ', i + 1));
}

test('docs/sys.md names kstat\'s modules, LwpInfo\'s and KmemInfo\'s fields as the calls give them', () => {
  sys.boot();
  const modules = [...new Set(Object.keys(sys.kstat()).map((k) => k.split('.')[0]!))].sort();
  const kstatItem = item('- `kstat` returns');
  const listed = [...kstatItem.slice(kstatItem.indexOf('module\'s')).matchAll(/`'([a-z]+)'`/g)].map((m) => m[1]!).sort();
  assert.deepEqual(listed, modules, 'kstat modules');
  const snap = item('- `lwp_snapshot` lists');
  const named = (s: string): Set<string> => new Set([...s.matchAll(/`([a-zA-Z]+)`/g)].map((m) => m[1]!));
  const lwpWords = named(snap.slice(0, snap.indexOf('`kmem_snapshot`')));
  for (const k of Object.keys(sys.lwp_snapshot().lwps[0]!)) assert.ok(lwpWords.has(k), `LwpInfo.${k} is named`);
  const kmemWords = named(snap.slice(snap.indexOf('`kmem_snapshot`')));
  for (const k of Object.keys(sys.kmem_snapshot().caches[0]!)) assert.ok(kmemWords.has(k), `KmemInfo.${k} is named`);
});
