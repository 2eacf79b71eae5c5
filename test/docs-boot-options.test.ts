/**
 * docs/sys.md's table of boot options against the kernel's own list of
 * tunables (kern/options.ts tunable_defs, filled by every subsystem's
 * define_tunable at load): every tunable has one row, every row names a
 * tunable, and each row's default and range are the declared ones. The
 * handwritten list this table replaced had drifted (port_lane_entries given
 * as 4096 after its default became 16384, fourteen options missing).
 *
 * Cells: a plain integer, `2^k`, `N KiB|MiB|GiB`, `CPUs` (the default of
 * the spinner limits: os.availableParallelism()), `false`/`true` and
 * `boolean` for a flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import '../src/sys/index.js';
import { tunable_defs } from '../src/kern/options.js';

const doc = readFileSync(new URL('../../docs/sys.md', import.meta.url), 'utf8');

/** The table's rows: name -> [default, range] cells. */
function rows(): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of doc.split('\n')) {
    const m = /^\s*\| `([a-z_0-9]+)` \| ([^|]+) \| ([^|]+) \|/.exec(line);
    if (m === null) continue;
    assert.ok(!out.has(m[1]!), `docs/sys.md: two rows for ${m[1]}`);
    out.set(m[1]!, [m[2]!.trim(), m[3]!.trim()]);
  }
  return out;
}

const UNITS: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
/** A cell's number (see the header). */
function num(cell: string): number {
  let m: RegExpExecArray | null;
  if (/^\d+$/.test(cell)) return Number(cell);
  if ((m = /^2\^(\d+)$/.exec(cell)) !== null) return 2 ** Number(m[1]);
  if ((m = /^(\d+) (KiB|MiB|GiB)$/.exec(cell)) !== null) return Number(m[1]) * UNITS[m[2]!]!;
  if (cell === 'CPUs') return availableParallelism();
  if (cell === 'false') return 0;
  if (cell === 'true') return 1;
  throw new Error(`docs/sys.md: a cell the check cannot read: '${cell}'`);
}

test('docs/sys.md lists every boot option once, with its default and range', () => {
  const defs = tunable_defs(), r = rows();
  assert.ok(defs.size >= 30, `the kernel declared ${defs.size} tunables (the subsystems' modules were not all loaded?)`);
  assert.deepEqual([...r.keys()].filter((k) => !defs.has(k)), [], 'rows that name no tunable');
  assert.deepEqual([...defs.keys()].filter((k) => !r.has(k)), [], 'tunables with no row');
  for (const [name, t] of defs) {
    const [dflt, range] = r.get(name)!;
    // The suite runs with UKERN_LOCKDEBUG=1, which is what turns lockdebug's default on.
    const want = name === 'lockdebug' && process.env.UKERN_LOCKDEBUG === '1' ? 0 : t.dflt;
    assert.equal(num(dflt), want, `${name}: default '${dflt}'`);
    if (t.flag) { assert.equal(range, 'boolean', `${name}: a flag's range`); continue; }
    const m = /^(.+) \.\. (.+)$/.exec(range);
    assert.ok(m !== null, `${name}: range '${range}' is not 'min .. max'`);
    assert.deepEqual([num(m[1]!), num(m[2]!)], [t.min, t.max], `${name}: range '${range}'`);
  }
});

test('the check reads what it must and refuses what it cannot read', () => {
  assert.equal(num('256 MiB'), 256 * 1024 * 1024);
  assert.equal(num('2^20'), 1 << 20);
  assert.equal(num('CPUs'), availableParallelism());
  assert.throws(() => num('about 4096'), /cannot read/);
});
