/**
 * Loads the kernel script of the package's bundle (build/bundle/kernel.cjs,
 * see src/kernel.ts) once per thread, with its V8 code cache.
 *
 * Why not ES modules all the way: Node 20 has no compile cache for ES
 * modules, and a fresh thread spent ~13 ms (a worker) to ~20 ms (the main
 * thread, which also resolves and links the module graph) loading the
 * bundled kernel, most of it parsing and compiling; every LWP worker pays
 * that again. A classic script compiled through node:vm takes a code cache:
 * the cache the build wrote after warming the kernel's common paths holds
 * their bytecode too, so neither the load nor a fresh thread's first calls
 * compile them. A cache V8 rejects (another Node, other V8 flags) only
 * costs the compile: the script is the same.
 *
 * The script is a CommonJS module body with one more parameter, the URL
 * its `import.meta.url` stands for (a file beside the entries, so
 * `new URL('./trampoline.cjs', import.meta.url)` names the bundle's entry),
 * written by the build as a whole function expression (WRAP_HEAD ...
 * WRAP_TAIL, scripts/bundle.mjs): compiled as read. Wrapped here at each
 * load, the three strings made one 456 KB cons string that V8 flattened
 * into a second copy of the source before it compiled, in every thread
 * (young-generation garbage that brought a scavenge forward: ~1-2 ms of a
 * fresh process's import + boot + port_create, bench/startup.bench.ts).
 */
import { createRequire } from 'node:module';
import type * as Fs from 'node:fs';
import type * as Url from 'node:url';
import type * as Vm from 'node:vm';
import type * as Kernel from './kernel.js';

// Builtins through require, not ES imports: an ES import of node:fs makes
// Node build the module's ESM facade, which reads every export, and its
// lazy ReadStream getter loads the streams (~1-2 ms of a fresh thread that
// needs none of them).
const req = createRequire(import.meta.url);
const { readFileSync } = req('node:fs') as typeof Fs;
const { fileURLToPath } = req('node:url') as typeof Url;
const vm = req('node:vm') as typeof Vm;

export type KernelScript = typeof Kernel;

const KEY = Symbol.for('ukern.kernel');
const CACHE_KEY = Symbol.for('ukern.kernel.cache');

/** What became of the code cache in this thread: used, rejected by V8, or absent. */
export type KernelCacheState = 'used' | 'rejected' | 'absent' | 'not loaded';

/** This thread's code-cache outcome (kept on globalThis: any copy of this module reads the same). */
export function kernel_cache_state(): KernelCacheState {
  return (globalThis as { [CACHE_KEY]?: KernelCacheState })[CACHE_KEY] ?? 'not loaded';
}
/**
 * The wrapper the build writes around the kernel script (scripts/bundle.mjs
 * imports these): its code cache is made for exactly that source, the file.
 */
export const WRAP_HEAD = '(function (exports, require, module, __ukern_url) {';
export const WRAP_TAIL = '\n})';

/** The file names, beside this module (which runs from build/bundle). */
function files(): { script: string; cache: string; url: string } {
  const script = fileURLToPath(new URL('./kernel.cjs', import.meta.url));
  return { script, cache: `${script}.cache`, url: new URL('./sys.js', import.meta.url).href };
}

function compile(cachedData?: Buffer): { script: Vm.Script; run: () => KernelScript } {
  const f = files();
  // The script is ASCII (scripts/bundle.mjs builds it with charset 'ascii':
  // esbuild escapes anything else), so it is read as latin1, which makes the
  // one-byte string at once (~0.3 ms less than utf8's check, in a worker).
  const script = new vm.Script(readFileSync(f.script, 'latin1'), { filename: f.script, cachedData });
  const run = (): KernelScript => {
    const fn = script.runInThisContext() as (e: object, r: NodeRequire, m: { exports: object }, u: string) => void;
    const m = { exports: {} };
    fn(m.exports, createRequire(f.script), m, f.url);
    return m.exports as KernelScript;
  };
  return { script, run };
}

/** This thread's kernel (compiled and run at the first call). */
export function kernel(): KernelScript {
  const g = globalThis as { [KEY]?: KernelScript };
  const k = g[KEY];
  if (k !== undefined) return k;
  let cached: Buffer | undefined;
  try { cached = readFileSync(files().cache); } catch { /* no cache: compile */ }
  const c = compile(cached);
  (globalThis as { [CACHE_KEY]?: KernelCacheState })[CACHE_KEY] =
    cached === undefined ? 'absent' : c.script.cachedDataRejected === true ? 'rejected' : 'used';
  return (g[KEY] = c.run());
}

/**
 * For the build: compiles and runs the script without a cache, lets `warm`
 * exercise it (so that the functions it calls are compiled too), and
 * returns the code cache.
 */
export function kernel_cache(warm: (k: KernelScript) => void): Buffer {
  const { script, run } = compile();
  const k = run();
  (globalThis as { [KEY]?: KernelScript })[KEY] = k;
  warm(k);
  return script.createCachedData();
}
