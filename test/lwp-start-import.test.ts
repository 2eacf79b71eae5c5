/**
 * How LWP workers load start modules (src/lwp/start-import.ts): require()
 * for a plain ES module file where Node can require one, import() for
 * everything else, with what import() alone would give in every case (one
 * run of each module, the same namespace, import()'s own errors). The
 * importer is called here directly; test/scenarios/start-import.ts runs the
 * same modules as LWPs of a fresh process on the package's trampoline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from '../src/sys/index.js';
import { start_importer } from '../src/lwp/start-import.js';

const F = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).href;
const REQUIRE_ESM = (process.features as { require_module?: boolean }).require_module === true;
const g = globalThis as unknown as Record<string, number | undefined>;

sys.boot();
const counts = (): { req: number; imp: number } => {
  const k = sys.kstat('lwp');
  return { req: k['lwp.start_required']!, imp: k['lwp.start_imported']! };
};
/**
 * An importer over this file's import(), recording what it was asked to
 * import. As a program without loader hooks has it: this test process runs
 * with --import (npm test's exit guard), which alone would make every start
 * module go to import().
 */
function importer(hooks = false): { load: (h: string) => Promise<unknown>; asked: string[] } {
  const asked: string[] = [];
  return { asked, load: start_importer((h) => { asked.push(h); return import(h); }, import.meta.url, hooks) };
}

test('a plain ES module file is required (where Node can), and import() then gives the same namespace', async () => {
  const { load, asked } = importer();
  const c0 = counts();
  const ns = await load(F('start-import.js')) as { loaded(): { runs: number } };
  assert.equal(ns.loaded().runs, 1);
  assert.equal(ns, await import(F('start-import.js')), 'require() and import() gave different instances');
  const c1 = counts();
  if (REQUIRE_ESM) {
    assert.deepEqual(asked, [], 'the ES module file went to import()');
    assert.deepEqual({ req: c1.req - c0.req, imp: c1.imp - c0.imp }, { req: 1, imp: 0 });
  } else {
    assert.deepEqual(asked, [F('start-import.js')]);
  }
});

test('top-level await: refused by require() before it runs, imported, run once', async () => {
  const { load, asked } = importer();
  const ns = await load(F('start-import-tla.js')) as { loaded(): { runs: number } };
  assert.equal(ns.loaded().runs, 1);
  assert.equal(g.__ukern_si_tla, 1);
  assert.deepEqual(asked, [F('start-import-tla.js')]);
});

test('a CommonJS start module runs once and comes back as import() gives it (a namespace)', async () => {
  const { load, asked } = importer();
  const ns = await load(F('start-import-cjs.cjs')) as { loaded(): { runs: number; cjs: boolean }; [Symbol.toStringTag]: string };
  assert.equal(ns[Symbol.toStringTag], 'Module');
  assert.deepEqual(ns.loaded(), { runs: 1, cjs: true });
  assert.equal(g.__ukern_si_cjs, 1);
  assert.deepEqual(asked, [F('start-import-cjs.cjs')]);
});

test('a module that throws while it runs: import()\'s rejection with the same error, run once', async () => {
  const { load } = importer();
  const e = await load(F('start-import-throws.js')).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof Error && e.message === 'start-import: thrown while loading', String(e));
  assert.equal(g.__ukern_si_throws, 1, 'the module ran twice');
  const again = await import(F('start-import-throws.js')).then(() => null, (x: unknown) => x);
  assert.equal(again, e, 'import() gives a different error than the importer');
});

test('a CommonJS module that throws while it runs (.cjs, or .js of a CommonJS package): rejected with its error, run once', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const { load } = importer();
  const e = await load(F('start-import-cjs-throws.cjs')).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof Error && e.message === 'start-import: CommonJS thrown while loading', String(e));
  assert.equal(g.__ukern_si_cjs_throws, 1, 'the module ran twice (require() dropped it from its cache, and import() ran it again)');
  const d = mkdtempSync(join(tmpdir(), 'ukern-si-'));
  try {
    writeFileSync(join(d, 'package.json'), '{ "type": "commonjs" }\n');
    const f = join(d, 'start.js');
    writeFileSync(f, 'globalThis.__ukern_si_cjs_js = (globalThis.__ukern_si_cjs_js ?? 0) + 1;\nthrow new Error("thrown by start.js");\n');
    const e2 = await load(pathToFileURL(f).href).then(() => null, (x: unknown) => x);
    assert.ok(e2 instanceof Error && e2.message === 'thrown by start.js', String(e2));
    assert.equal(g.__ukern_si_cjs_js, 1, 'the .js CommonJS module ran twice');
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('a missing file rejects with import()\'s ERR_MODULE_NOT_FOUND, not require()\'s code', async () => {
  const { load } = importer();
  const e = await load(F('start-import-none.js')).then(() => null, (x: unknown) => x) as { code?: string } | null;
  assert.equal(e?.code, 'ERR_MODULE_NOT_FOUND');
});

test('a file of an extension Node does not load itself goes to import() only: never run as CommonJS first', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const d = mkdtempSync(join(tmpdir(), 'ukern-si-'));
  try {
    // Plain JS that CommonJS would run; import() refuses the extension (no loader hooks here).
    const f = join(d, 'start.ts');
    writeFileSync(f, 'globalThis.__ukern_si_ts = (globalThis.__ukern_si_ts ?? 0) + 1;\n');
    const { load, asked } = importer();
    const href = pathToFileURL(f).href;
    const e = await load(href).then(() => null, (x: unknown) => x) as { code?: string } | null;
    assert.deepEqual(asked, [href]);
    assert.equal(e?.code, 'ERR_UNKNOWN_FILE_EXTENSION');
    assert.equal(g.__ukern_si_ts, undefined, 'the file ran as CommonJS');
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('with loader hooks possible (--import, --loader, --experimental-loader), every start module goes to import()', async () => {
  const { load, asked } = importer(true);
  await load(F('start-import.js'));
  assert.deepEqual(asked, [F('start-import.js')]);
  const { loader_hooks_possible } = await import('../src/lwp/start-import.js');
  // npm test runs the test files with --import ./build/test/exit-guard.js.
  if (process.execArgv.some((a) => a.startsWith('--import'))) assert.equal(loader_hooks_possible(), true);
});

test('URLs with a query or fragment and bare specifiers go to import() (require() would name another module)', async () => {
  const { load, asked } = importer();
  const q = `${F('start-import.js')}?second`;
  const ns = await load(q) as { loaded(): { runs: number } };
  assert.equal(ns.loaded().runs, 2, 'the ?second instance is a module of its own');
  await load('node:os');
  await load(`${F('start-import.js')}#frag`);
  assert.deepEqual(asked, [q, 'node:os', `${F('start-import.js')}#frag`]);
});

test('LWPs of a fresh process on the package trampoline: ES module files required, every other kind as import() gives it', async () => {
  const { scenario } = await import('./helpers.js');
  const r = scenario('start-import', [], 60_000);
  assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, { [k: string]: unknown }>;
  assert.deepEqual(o.esm, { runs: 1 });
  assert.deepEqual(o.tla, { runs: 1 });
  assert.deepEqual(o.cjs, { runs: 1, cjs: true });
  assert.equal(o.missing!.error, 'LwpImportError');
  assert.match(o.missing!.cause as string, /Cannot find module .* imported from/, 'not import()\'s error');
  assert.deepEqual(o.throws, { error: 'LwpImportError', cause: 'start-import: thrown while loading' });
  assert.equal(o.sysCounts!.ran, 1);
  if (o.requireModule as unknown as boolean) {
    // The class layer's shim and the user's module (the shim only in a worker that had not loaded it yet).
    assert.ok((o.esmCounts!.req as number) >= 1 && o.esmCounts!.imp === 0, JSON.stringify(o.esmCounts));
    assert.deepEqual(o.sysCounts, { req: 1, imp: 0, ran: 1 });
  }
});
