/**
 * How an LWP worker loads its start module: `require()` first, where Node
 * can require an ES module (20.19 and later: `process.features.require_module`)
 * and the module is a file, else `import()`.
 *
 * Why. The first `import()` in a thread makes Node set up its ES module
 * loader there, ~4-5 ms of a fresh worker on this machine (a worker whose
 * entry is an ES module pays it before its first line: 26-28 ms to a first
 * message, against 22-23 ms for a CommonJS entry). `require()` of the same
 * ES module file loads it synchronously without that set-up: a CommonJS
 * worker entry that requires an ES start module posts after ~23 ms (medians
 * of six fresh processes each, Node 20.20). So the package's LWP entry is
 * CommonJS (build/bundle/trampoline.cjs, scripts/bundle.mjs) and its first
 * start module costs a worker ~1 ms, not ~5.
 *
 * Nothing a start module can observe changes: modules loaded by require()
 * are the loader's own instances (a later `import()` of the same URL, from
 * the start module or another, gets the same namespace), and the imports
 * inside an ES module resolve as they always do. Only a file URL without a
 * query or fragment, of an extension Node loads itself, is required (its
 * path names exactly the module import() would load; a bare specifier could
 * resolve differently under the "require" condition of a package's exports,
 * and a .ts file is for the program's loader hooks, which require() skips).
 * Where require() throws, the same URL is imported, which gives what
 * `import()` alone would have:
 *  - a graph with top-level await (ERR_REQUIRE_ASYNC_MODULE, refused before
 *    anything in it runs) loads and runs normally;
 *  - an ES module that threw while running rejects with the same error
 *    from the loader's record of it, without running again (a CommonJS
 *    one, which import() would run again, rejects with require()'s error);
 *  - a missing file or a syntax error rejects with import()'s own error
 *    (ERR_MODULE_NOT_FOUND, ...), as the class layer reports it.
 * A CommonJS start module is required (run once) and then imported, which
 * wraps the cached exports in the namespace import() gives. A program that
 * may have registered loader hooks (started with --import, --loader or
 * --experimental-loader) imports every start module: the hooks (a
 * TypeScript loader, a module mocker) apply to import() and not to
 * require().
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { kstat_add } from '../kern/kstat.js';
import { C_START_REQUIRED as C_REQUIRED, C_START_IMPORTED as C_IMPORTED } from './spawn.js';

export type ModuleImporter = (href: string) => Promise<unknown>;

/** Whether a value is a module namespace object (what import() resolves with). */
function is_namespace(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'Module';
}

/**
 * Extensions Node itself loads (ES module or CommonJS by extension or by
 * package type). Anything else (.ts, .mts, .jsx, ...) is for the program's
 * loader hooks, which apply to import() but not to require(): required, such
 * a file would be compiled as CommonJS, or run once as that and then again
 * by import().
 */
const NATIVE = /\.(?:js|mjs|cjs)$/;

/** The file path of a plain file: URL of a native extension, or undefined for anything require() must not be given. */
function plain_file(href: string): string | undefined {
  if (!href.startsWith('file:')) return undefined;
  let u: URL;
  try { u = new URL(href); } catch { return undefined; }
  if (u.search !== '' || u.hash !== '' || !NATIVE.test(u.pathname)) return undefined;
  try { return fileURLToPath(u); } catch { return undefined; }
}

/**
 * After require(path) threw `e`: whether the file is CommonJS by Node's
 * rules (.cjs; .js whose package scope, the nearest package.json up to a
 * node_modules folder, has no "type": "module") and got as far as running:
 * not refused for top-level await, and there. Read only on that failure. A
 * .js of no "type" that Node ran as an ES module (its syntax) counts too:
 * its error is the one import() would give, from the loader's record.
 */
function ran_as_commonjs(path: string, e: unknown): boolean {
  if ((e as { code?: unknown } | null)?.code === 'ERR_REQUIRE_ASYNC_MODULE' || !existsSync(path)) return false;
  if (path.endsWith('.cjs')) return true;
  if (!path.endsWith('.js')) return false;
  for (let dir = dirname(path); basename(dir) !== 'node_modules';) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try { return (JSON.parse(readFileSync(pj, 'utf8')) as { type?: unknown }).type !== 'module'; } catch { return false; }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return true;
}

/**
 * Whether the program may have registered ES module loader hooks: it was
 * started with --import, --loader or --experimental-loader (in its
 * arguments or NODE_OPTIONS; a worker inherits them). Hooks apply to
 * import(), not to require(): with any, every start module is imported.
 */
export function loader_hooks_possible(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return args.some((a) => /^--(?:import|loader|experimental-loader)(?:=|$)/.test(a));
}

/**
 * An importer for start modules: require() where it serves (see above),
 * else `imp`, the entry's own `(s) => import(s)` (a bare specifier resolves
 * from the entry's file). `hooks`: whether loader hooks may be registered
 * (then import() only).
 */
export function start_importer(imp: ModuleImporter, base: string, hooks = loader_hooks_possible()): ModuleImporter {
  const imported: ModuleImporter = (href) => { kstat_add(C_IMPORTED); return imp(href); };
  const features = process.features as { require_module?: boolean };
  if (features.require_module !== true || hooks) return imported;
  const req = createRequire(base);
  return (href) => {
    const path = plain_file(href);
    if (path === undefined) return imported(href);
    let ns: unknown;
    try { ns = req(path); } catch (e) {
      // Run and thrown as CommonJS: require() has dropped it from its cache,
      // and import() would run it again (an ES module's record keeps its
      // error: import() gives that without a second run). import() alone
      // would have given this error, once.
      if (ran_as_commonjs(path, e)) { kstat_add(C_REQUIRED); return Promise.reject(e); }
      return imported(href);
    }
    if (!is_namespace(ns)) return imported(href);
    kstat_add(C_REQUIRED);
    return Promise.resolve(ns);
  };
}
