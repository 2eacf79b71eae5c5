/**
 * Loads the scripts of the package's bundle once per thread, each with its
 * V8 code cache: the kernel (build/bundle/kernel.cjs, src/kernel.ts: the sys
 * layer and what the threads run) and the class layer over it
 * (build/bundle/ukern.cjs, src/index.ts), which only `import('ukern')` loads.
 *
 * Why two: the class layer calls only the sys layer (.dependency-cruiser.cjs),
 * and most threads never use it: every LWP worker, every kernel thread and a
 * program that imports `ukern/sys` loaded its ~50 KB and ran its top level
 * (~20 classes) for nothing. Measured, a fresh process reading, compiling
 * and running the kernel script with and without it, 25 alternated runs:
 * 27.6 ms against 23.1 (src/kernel.ts).
 *
 * Where a thread's kernel text comes from: the booting thread reads the
 * files; the threads the kernel starts after the first compile what it
 * read, from shared memory (KernelText, on the kernel image they get in
 * their workerData; kern/boot.ts kernel_text_share says why not the
 * first), and pass that on to the threads they start. A fresh worker spent
 * ~4.5 ms reading the two files (~0.9 MB into fresh memory: page faults, on
 * this VM the larger part), against ~1.5 ms making its string and cache
 * view from the shared copy (twelve fresh workers each, medians); every LWP
 * worker and kernel thread pays it before its first line of work, a burst
 * of LWPs once per worker. And every thread of a process runs the very
 * script its booting thread runs, even if the files are rebuilt meanwhile.
 * (The provider's key, Symbol.for('ukern.kernel.text'), is spelled here and
 * in kern/boot.ts: this module is bundled apart from the kernel, and neither
 * may import the other's code.)
 *
 * Why not ES modules all the way: Node 20 has no compile cache for ES
 * modules, and a fresh thread spent ~13 ms (a worker) to ~20 ms (the main
 * thread, which also resolves and links the module graph) loading the
 * bundled kernel, most of it parsing and compiling; every LWP worker pays
 * that again. A classic script compiled through node:vm takes a code cache:
 * the cache the build wrote after warming the kernel's common paths holds
 * their bytecode too, so neither the load nor a fresh thread's first calls
 * compile them. A cache V8 rejects (another Node, other V8 flags) only
 * costs the compile: the script is the same. One older than its script is
 * not used (cache_state says why).
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
import type * as Module from 'node:module';
import type * as Fs from 'node:fs';
import type * as Url from 'node:url';
import type * as Vm from 'node:vm';
import type * as Kernel from './kernel.js';
import type * as Classes from './index.js';
import type { KernelText } from './kern/boot.js';

// Builtins through process.getBuiltinModule, not ES imports: an ES import
// of a builtin makes Node build the module's ESM facade, which reads every
// export. node:fs's lazy ReadStream getter then loads the streams (~1-2 ms
// of a fresh thread that needs none of them), and node:module's facade
// alone, for createRequire, was ~1.5 ms of a fresh process's
// `import('ukern/sys')` (bench/startup.bench.ts, import + boot +
// port_create: 1.6 ms in process.getBuiltinModule's place, 0.25 without
// the facade). process.getBuiltinModule is Node 20.16's (package.json
// engines); an older Node is told so here, at the first line that needs it.
if (typeof process.getBuiltinModule !== 'function') {
  throw Object.assign(new Error(`ukern needs Node 20.16 or later (process.getBuiltinModule); this is Node ${process.version}`), { code: 'ERR_UKERN_NODE_VERSION' });
}
const builtin = (id: string): unknown => process.getBuiltinModule(id);
const { createRequire } = builtin('node:module') as typeof Module;
const { readFileSync, statSync, openSync, fstatSync, readSync, closeSync } = builtin('node:fs') as typeof Fs;
const { fileURLToPath } = builtin('node:url') as typeof Url;
const vm = builtin('node:vm') as typeof Vm;

export type KernelScript = typeof Kernel;
/** The class layer's script: `ukern`'s names (scripts/bundle.mjs writes them out as one object). */
export interface ClassesScript { ukern: typeof Classes }

/** The bundle's scripts: the kernel, and the class layer over it. */
export type ScriptName = 'kernel' | 'ukern';

/**
 * The id under which the class layer's script requires its kernel (the
 * bundle step resolves the class layer's imports of src/sys to it).
 */
export const KERNEL_ID = 'ukern:kernel';

const KEY: Record<ScriptName, symbol> = { kernel: Symbol.for('ukern.kernel'), ukern: Symbol.for('ukern.classes') };
const CACHE_KEY: Record<ScriptName, symbol> = { kernel: Symbol.for('ukern.kernel.cache'), ukern: Symbol.for('ukern.classes.cache') };
type Slots = { [k: symbol]: unknown };
const g = globalThis as Slots;

/** What became of a script's code cache in this thread: used, rejected by V8, absent, or older than its script (not used: cache_state). */
export type KernelCacheState = 'used' | 'rejected' | 'absent' | 'stale' | 'not loaded';

/** This thread's code-cache outcome for a script (kept on globalThis: any copy of this module reads the same). */
export function kernel_cache_state(which: ScriptName = 'kernel'): KernelCacheState {
  return (g[CACHE_KEY[which]] as KernelCacheState | undefined) ?? 'not loaded';
}
/**
 * The wrapper the build writes around each script (scripts/bundle.mjs
 * imports these): its code cache is made for exactly that source, the file.
 */
export const WRAP_HEAD = '(function (exports, require, module, __ukern_url) {';
export const WRAP_TAIL = '\n})';

/** A script's file name, beside this module (which runs from build/bundle), and the URL its import.meta.url stands for. */
function files(which: ScriptName): { script: string; url: string } {
  const script = fileURLToPath(new URL(`./${which}.cjs`, import.meta.url));
  return { script, url: new URL('./sys.js', import.meta.url).href };
}

/**
 * How much older than its cache a script may be before the cache counts as
 * stale: a copy that does not keep modification times (`cp -r`) writes the
 * two files in either order, moments apart.
 */
const CACHE_SLACK_MS = 1000;

/**
 * What a script file's code cache (`<file>.cache`) is to its script, from
 * their times: undefined when it can be used; 'absent' when there is none,
 * 'stale' when the script was written after it. V8 checks a cache against
 * its source by the source's length only (and its own version and flags):
 * a cache made for another text of the same length is accepted, and the
 * functions it holds (the kernel's common paths, warmed at build) run as
 * they were compiled, not as the file now says: a script edited in place
 * (`1000` for `2000`, a patched `<` for `>`) silently kept its old code.
 * The build writes each cache after its script, and an installed package
 * has the times the tarball gives them (npm's, the same for every file),
 * so a script newer than its cache is one changed since: compiled as it is,
 * without the cache.
 */
function cache_state(script: Fs.Stats | undefined, cache: Fs.Stats | undefined): 'absent' | 'stale' | undefined {
  if (script === undefined || cache === undefined) return 'absent';
  return script.mtimeMs > cache.mtimeMs + CACHE_SLACK_MS ? 'stale' : undefined;
}

/**
 * A script file's text. One that cannot be read (a package copied or
 * installed in part, a checkout whose bundle step did not run) was Node's
 * bare ENOENT from inside node:fs; the error now says which script of
 * ukern is missing and what brings it back (the fs error is its cause).
 */
function script_read(file: string): string {
  try {
    return readFileSync(file, 'latin1');
  } catch (e) {
    throw script_missing(file, e);
  }
}
function script_missing(file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return Object.assign(new Error(`ukern: cannot read its script ${file} (${code}): the package is incomplete. Reinstall it; in a checkout of ukern, build it (npm run build).`, { cause: e }), { code: 'ERR_UKERN_SCRIPT_MISSING' });
}

/** Reads up to `n` bytes of `fd` from its start into `buf`: the count read (fewer at an early end of file). */
function read_into(fd: number, buf: Buffer, n: number): number {
  let got = 0;
  for (let r; got < n && (r = readSync(fd, buf, got, n - got, got)) > 0;) got += r;
  return got;
}

/**
 * A script file's text and its code cache (cache_state says when there is
 * none to use), read through one buffer: the script's bytes, made its
 * string, then the cache's bytes over them. Read into a buffer each, with
 * the string beside, a fresh thread wrote ~1.3 MB of fresh memory, and the
 * first touch of each page (a page fault, ~4-10 us on this VM) is the
 * larger part of reading: sharing the buffer saves the second one's
 * (measured: 341 page faults for the kernel's two files, 236 so; `st`, the
 * script's stat, read once by the caller).
 */
function files_read(file: string, st = statSync(file, { throwIfNoEntry: false })): { source: string; cache: Buffer | 'absent' | 'stale' } {
  const cacheFile = `${file}.cache`;
  const cst = statSync(cacheFile, { throwIfNoEntry: false });
  const state = cache_state(st, cst);
  let buf: Buffer, source: string;
  let fd: number;
  try { fd = openSync(file, 'r'); } catch (e) { throw script_missing(file, e); }
  try {
    const n = fstatSync(fd).size;
    buf = Buffer.allocUnsafeSlow(Math.max(n, state === undefined ? cst!.size : 0));
    source = buf.toString('latin1', 0, read_into(fd, buf, n));
  } catch (e) {
    throw script_missing(file, e);
  } finally {
    closeSync(fd);
  }
  if (state !== undefined) return { source, cache: state };
  try {
    const cfd = openSync(cacheFile, 'r');
    try { return { source, cache: buf.subarray(0, read_into(cfd, buf, Math.min(cst!.size, buf.length))) }; } finally { closeSync(cfd); }
  } catch {
    return { source, cache: 'absent' };
  }
}

/**
 * Compiles a script file written in the wrapper (WRAP_HEAD ... WRAP_TAIL),
 * from `source` when given, with `cache` when it is one (else no cache: it
 * says why); and what became of that cache.
 */
function script_compile(file: string, cache: Buffer | 'absent' | 'stale' = 'absent', source?: string): { script: Vm.Script; source: string; state: KernelCacheState } {
  // The scripts are ASCII (scripts/bundle.mjs and tree-bundle.mjs build them
  // with charset 'ascii': esbuild escapes anything else), so they are read as
  // latin1, which makes the one-byte string at once (~0.3 ms less than
  // utf8's check, in a worker).
  const src = source ?? script_read(file);
  const cachedData = typeof cache === 'string' ? undefined : cache;
  const script = new vm.Script(src, { filename: file, cachedData });
  const state = typeof cache === 'string' ? cache : script.cachedDataRejected === true ? 'rejected' : 'used';
  return { script, source: src, state };
}

/**
 * The require a script is run with: Node's, relative to the script, and for
 * the class layer its thread's kernel under KERNEL_ID.
 */
function requireFor(which: ScriptName, script: string): NodeRequire {
  const base = createRequire(script);
  if (which === 'kernel') return base;
  const k = kernel();
  return Object.assign((id: string): unknown => (id === KERNEL_ID ? k : base(id)), base) as NodeRequire;
}

/**
 * The kernel script and its code cache in shared memory (the header says
 * why): `script` and `cache` are byte lengths, the script's latin1 bytes
 * first, then the cache's.
 */
export type { KernelText };

/** Where this thread's kernel script came from: read from the files, or given by the thread that started it. */
export type KernelSource = 'file' | 'shared' | 'not loaded';

/** This thread's kernel script's source (kept on globalThis, as the instance is). */
export function kernel_source(): KernelSource {
  return (g[SOURCE_KEY] as KernelSource | undefined) ?? 'not loaded';
}
const SOURCE_KEY = Symbol.for('ukern.kernel.source');
/**
 * The provider the kernel calls (kern/boot.ts kernel_text_share) for the
 * text to put in a new thread's workerData: the KernelText this thread was
 * given, or one made from what it read, at the first call.
 */
const TEXT_KEY = Symbol.for('ukern.kernel.text');

function compile(which: ScriptName, cache?: Buffer | 'absent' | 'stale', source?: string): ReturnType<typeof script_compile> & { run: () => object } {
  const f = files(which);
  const c = script_compile(f.script, cache, source);
  return { ...c, run: () => script_run(c.script, requireFor(which, f.script), f.url) };
}

/** Runs a compiled script written in the wrapper (WRAP_HEAD ... WRAP_TAIL): its module.exports. */
function script_run(script: Vm.Script, require: NodeRequire, url: string): object {
  const fn = script.runInThisContext() as (e: object, r: NodeRequire, m: { exports: object }, u: string) => void;
  const m = { exports: {} };
  fn(m.exports, require, m, url);
  return m.exports;
}

/**
 * In a checkout, the bundle is built from the compiled tree (build/src) by
 * the build's last steps (scripts/bundle.mjs): a tsc run since (`npx tsc
 * -p .` alone) leaves it older than the tree, and every program of the
 * package's entries, the `ukern` command and the tests that run them ran
 * the kernel as it was at the last bundle step, silently. The tree's
 * kernel threads already refuse such a bundle (src/lwp/spawn.ts
 * kernel_module_url, by the same file); here the thread that reads the
 * script says so, once per process. An installed package ships no compiled
 * tree code (package.json `files`), so there is nothing to compare with.
 */
function stale_bundle_warn(script: string, own: Fs.Stats | undefined): void {
  const boot = statSync(fileURLToPath(new URL('../src/kern/boot.js', import.meta.url)), { throwIfNoEntry: false });
  if (boot === undefined || own === undefined || own.mtimeMs >= boot.mtimeMs) return;
  process.emitWarning(`ukern: the bundle's kernel script (${script}) is older than the compiled tree it is built from (build/src, tsc's output): this process runs the kernel as it was at the last bundle step. Run node scripts/bundle.mjs (or npm run build).`, { code: 'UKERN_STALE_BUNDLE' });
}

/*
 * Two copies of the package in one process (a dependency's own ukern beside
 * the program's: npm installs two when their version ranges do not meet)
 * share the thread's instance: the keys above are the same for every copy.
 * That is right for two copies of one build, and silently wrong for two
 * builds: the second copy's entries, its LWPs' start modules, got the
 * first's kernel and classes, whatever version that was (a name the first
 * lacks an undefined export). So the first load records where its script
 * came from and its text; a copy whose own script is another file checks
 * that file has the same text (once per file and thread; a read and a
 * compare, only where two copies meet) and else throws, naming both.
 */
const FILE_KEY: Record<ScriptName, symbol> = { kernel: Symbol.for('ukern.kernel.file'), ukern: Symbol.for('ukern.classes.file') };
const TEXT_OF_KEY: Record<ScriptName, symbol> = { kernel: Symbol.for('ukern.kernel.source_text'), ukern: Symbol.for('ukern.classes.source_text') };
const SAME_KEY = Symbol.for('ukern.same_build');

/** This copy's script files, worked out once. */
const mine: Partial<Record<ScriptName, string>> = {};
const script_of = (which: ScriptName): string => (mine[which] ??= files(which).script);

function same_build(which: ScriptName): void {
  const theirs = g[FILE_KEY[which]] as string | undefined;
  const file = script_of(which);
  if (theirs === undefined || theirs === file) return;
  const same = (g[SAME_KEY] ??= new Set<string>()) as Set<string>;
  if (same.has(file)) return;
  let text: string | undefined;
  try { text = readFileSync(file, 'latin1'); } catch { /* no script beside this copy: not the same */ }
  if (text !== g[TEXT_OF_KEY[which]]) {
    throw Object.assign(new Error(`ukern: two different builds of ukern in one process: this thread's ${which} script was loaded from ${theirs}, and this copy's, ${file}, is another. One kernel serves a process: install one copy of ukern (npm ls ukern).`), { code: 'ERR_UKERN_TWO_BUILDS' });
  }
  same.add(file);
}

function load(which: ScriptName, text?: KernelText): object {
  const k = g[KEY[which]] as object | undefined;
  if (k !== undefined) { same_build(which); return k; }
  let cache: Buffer | 'absent' | 'stale' = 'absent', source: string | undefined;
  if (text !== undefined) {
    source = Buffer.from(text.sab, 0, text.script).toString('latin1');
    if (text.cache > 0) cache = Buffer.from(text.sab, text.script, text.cache);
  } else {
    // The script's times, read once: the cache's age and the bundle's.
    const file = script_of(which), st = statSync(file, { throwIfNoEntry: false });
    ({ source, cache } = files_read(file, st));
    if (which === 'kernel') stale_bundle_warn(file, st);
  }
  const c = compile(which, cache, source);
  const cached = typeof cache === 'string' ? undefined : cache;
  g[CACHE_KEY[which]] = c.state;
  g[FILE_KEY[which]] = script_of(which);
  g[TEXT_OF_KEY[which]] = c.source;
  if (which === 'kernel') {
    g[SOURCE_KEY] = text !== undefined ? 'shared' : 'file';
    // The text for the threads this one starts: the same memory if it was
    // given, else made at the first start from what was read (the cache
    // bytes kept until then; the source string V8 keeps for the script).
    let shared = text;
    let keep = cached;
    g[TEXT_KEY] = (): KernelText => {
      if (shared !== undefined) return shared;
      const n = c.source.length, m = keep?.length ?? 0;
      const sab = new SharedArrayBuffer(n + m);
      const b = Buffer.from(sab);
      b.write(c.source, 0, n, 'latin1');
      if (keep !== undefined) b.set(keep, n);
      keep = undefined;
      return (shared = { sab, script: n, cache: m });
    };
  }
  return (g[KEY[which]] = c.run());
}

/**
 * This thread's kernel (compiled and run at the first call): from `text`
 * when the thread that started this one gave it (workerData.image.text),
 * else from the files.
 */
export function kernel(text?: KernelText): KernelScript {
  return load('kernel', text) as KernelScript;
}

/** This thread's class layer, over its kernel (both loaded at the first call). */
export function classes(): ClassesScript {
  return load('ukern') as ClassesScript;
}

/*
 * The compiled tree's script. The tests that reach the kernel's internals
 * run on the compiled tree (build/src), and so do the LWP workers they
 * start; its kernel modules are one script too, build/src/_tree.cjs, run
 * by the ES module build/src/_tree.js, from which the tree's files take
 * their names (scripts/tree-bundle.mjs says how). As one ES module without
 * a cache, every such thread spent ~90 ms loading it (a fresh process's
 * import of build/src/sys/index.js; ~35 ms now), against ~20 ms for the
 * package's kernel script; a test run starts ~125 processes and ~160 LWP
 * workers on the tree. The tree's modules that stay ES module files
 * (kern/kmem.js and what it imports: tree-bundle.mjs) are given to the
 * script by the module that runs it, as their namespaces, under their
 * paths; a namespace's properties are the modules' live bindings.
 */
const TREE_KEY = Symbol.for('ukern.tree.script');
const TREE_CACHE_KEY = Symbol.for('ukern.tree.cache');

/**
 * Runs the compiled tree's script (`url`: build/src/_tree.cjs) with its code
 * cache (`<file>.cache`, when there is one), `modules` being what its
 * require gives for the tree's ES module files. Once per thread: _tree.js,
 * an ES module, calls it once; a second call would make a second kernel.
 */
export function tree_run(url: URL, modules: Readonly<Record<string, object>>): object {
  if (g[TREE_KEY] !== undefined) throw new Error(`ukern: the compiled tree's script was run twice in one thread (${url.href})`);
  const file = fileURLToPath(url);
  // (No cache while the build is writing it: compiled without.)
  const { source, cache } = files_read(file);
  const { script, state } = script_compile(file, cache, source);
  g[TREE_KEY] = script;
  g[TREE_CACHE_KEY] = state;
  const base = createRequire(file);
  return script_run(script, Object.assign((id: string): unknown => modules[id] ?? base(id), base) as NodeRequire, url.href);
}

/** This thread's code-cache outcome for the compiled tree's script. */
export function tree_cache_state(): KernelCacheState {
  return (g[TREE_CACHE_KEY] as KernelCacheState | undefined) ?? 'not loaded';
}

/** For the build: the code cache of the tree's script as this thread has run it so far. */
export function tree_code_cache(): Buffer {
  const s = g[TREE_KEY] as Vm.Script | undefined;
  if (s === undefined) throw new Error('ukern: the compiled tree\'s script is not loaded in this thread');
  return s.createCachedData();
}

/**
 * For the build: compiles and runs a script without a cache (the class
 * layer over this thread's kernel), lets `warm` exercise it (so that the
 * functions it calls are compiled too), and returns the code cache.
 */
export function script_cache<T extends ScriptName>(which: T, warm: (k: T extends 'kernel' ? KernelScript : ClassesScript) => void): Buffer {
  const { script, run } = compile(which);
  const k = run();
  g[KEY[which]] = k;
  warm(k as T extends 'kernel' ? KernelScript : ClassesScript);
  return script.createCachedData();
}
