/**
 * The bundle step (after tsc): build/bundle, what the package exports.
 *
 *   kernel.cjs        the whole kernel as one classic script (src/kernel.ts),
 *   kernel.cjs.cache  its V8 code cache, written after warming common paths,
 *   loader.js         compiles it once per thread with the cache (src/loader.ts),
 *   sys.js, index.js  the `ukern/sys` and `ukern` entries: ES modules that
 *                     export the names of that one instance,
 *   trampoline.cjs    the LWP workers' entry (the same instance; CommonJS, below),
 *   clockthread.cjs, intrthread.cjs, aiothread.cjs   the kernel threads' entries
 *                     (the same: CommonJS over the kernel script),
 *   lwp0.js           lwp0 from the compiled tree, an ES module file of its own (in the
 *                     bundle lwp0 is eval'd CommonJS carried by the kernel script).
 *
 * Why: a fresh thread loading the kernel as ~80 ES modules took ~100 ms, one
 * bundled ES module ~13-20 ms, the script with its code cache a few ms; every
 * LWP worker and every program pays it (docs/internals.md "Start-up").
 * The compiled tree (build/src) still runs as it is: the tests load it, and
 * its kernel threads start from these bundles when they are current.
 *
 * esbuild is a devDependency, as tsc is: the build needs both. koffi stays
 * external (a native addon, loaded lazily by the threads that need it).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = (f) => `${root}build/bundle/${f}`;

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('bundle: esbuild is not installed (it is a devDependency: run npm install)');
  process.exit(1);
}

rmSync(out(''), { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['koffi'],
  logLevel: 'warning',
};

// The kernel script. import.meta.url becomes the loader's __ukern_url (a
// file beside the entries), so the URLs of the threads the kernel starts
// (./trampoline.cjs, ./lwp0.js, ./clockthread.js: kernel_module_url maps it to
// ./clockthread.cjs) name the bundle's files.
// lwp0 as CommonJS source, which the kernel script carries and starts as an
// eval'd worker (src/lwp/spawn.ts says why); its kernel part is the ES module
// lwp0-kern.js below, loaded by URL when lwp0 first needs it.
const lwp0Cjs = await esbuild.build({
  ...common,
  entryPoints: ['build/src/lwp/lwp0.js'],
  format: 'cjs',
  write: false,
  external: [...common.external, './lwp0-kern.js'],
  // (import.meta.url is only host.ts's fallback for a Node without getBuiltinModule.)
  define: { 'import.meta.url': '__ukern_lwp0_url' },
  banner: { js: 'var __ukern_lwp0_url = require("node:url").pathToFileURL(__filename).href;' },
  minifyWhitespace: true,
});

// Whitespace removed: a fresh thread reads and compiles it (with the code
// cache) ~1-2 ms faster (measured: import + boot + port_create, CPU and wall).
// Names are kept (no identifier minification), so stack traces still name
// the kernel's functions, and lines are cut at ~160 characters (lineLimit):
// Node prints the source line of an uncaught error's first frame, and one
// line of the whole kernel was 360 KiB of it.
//
// Its entry is src/kernel.ts's exports written out, with `sys` and `ukern`
// as plain objects of their names: `export * as sys` made esbuild build each
// namespace of ~400 getters at load (one closure and defineProperty each),
// only for the entries to read every one once; the rest, what the threads
// run, is src/kernel-threads.ts as it is.
const namesOf = async (from) => Object.keys(await import(pathToFileURL(`${root}${from}`).href)).sort();
const sysNames = await namesOf('build/src/sys/index.js'), ukernNames = await namesOf('build/src/index.js');
const kernelEntry = [
  `import { ${sysNames.map((n) => `${n} as s$${n}`).join(', ')} } from './build/src/sys/index.js';`,
  `import { ${ukernNames.map((n) => `${n} as u$${n}`).join(', ')} } from './build/src/index.js';`,
  `export const sys = { ${sysNames.map((n) => `${n}: s$${n}`).join(', ')} };`,
  `export const ukern = { ${ukernNames.map((n) => `${n}: u$${n}`).join(', ')} };`,
  `export * from './build/src/kernel-threads.js';`,
].join('\n');
await esbuild.build({
  ...common,
  stdin: { contents: kernelEntry, resolveDir: root, sourcefile: 'kernel-entry.js', loader: 'js' },
  outfile: out('kernel.cjs'),
  format: 'cjs',
  define: { 'import.meta.url': '__ukern_url', UKERN_LWP0_CJS: JSON.stringify(lwp0Cjs.outputFiles[0].text), UKERN_TRAMPOLINE: '"./trampoline.cjs"' },
  minifyWhitespace: true,
  lineLimit: 160, // short lines: an uncaught error prints its source line
  // The kernel is ES module code, strict; minified, esbuild leaves the directive out.
  banner: { js: '"use strict";' },
  charset: 'ascii', // (esbuild's default, stated: src/loader.ts reads the file as latin1)
});

// The loader and the class layer's LWP start shim: ES modules of their own.
await esbuild.build({
  ...common,
  entryPoints: {
    loader: 'build/src/loader.js',
    'lwp-start': 'build/src/ukern/lwp-start.js', // the class layer's start shim (no kernel code)
  },
  outdir: out(''),
  format: 'esm',
  minifyWhitespace: true,
  lineLimit: 160, // short lines: an uncaught error prints its source line
});

// lwp0 as an ES module too (what a kernel thread started from build/src
// finds current), with its kernel part a file of its own (code splitting,
// and lwp0-kern.js an entry: the eval'd lwp0 imports it by URL), so that
// starting lwp0 compiles only its small first part; the kernel is compiled
// when lwp0 first needs it (src/lwp/lwp0.ts).
await esbuild.build({
  ...common,
  entryPoints: { lwp0: 'build/src/lwp/lwp0.js', 'lwp0-kern': 'build/src/lwp/lwp0-kern.js' },
  outdir: out(''),
  format: 'esm',
  splitting: true,
  chunkNames: 'lwp0-[hash]',
  minifyWhitespace: true,
  lineLimit: 160, // short lines: an uncaught error prints its source line
});

// The entries: every name of the compiled tree's modules, from the one
// instance. Each is one file with the loader built in (not an import of
// ./loader.js): every ES module a fresh thread loads costs it a resolve, an
// asynchronous read and a link (~0.5-1 ms); the instance is still one per
// thread (the loader keeps it on globalThis). `body`: lines after the
// loader's import; `format` 'cjs' for the files below that name a CommonJS
// entry (import.meta.url then stands for the file's own URL).
async function entry(file, what, body, format = 'esm') {
  const banner = `// Generated by scripts/bundle.mjs: ${what}, from this thread's one kernel instance (the loader, src/loader.ts, built in).`;
  const cjs = format === 'cjs';
  await esbuild.build({
    ...common,
    stdin: { contents: [`import { kernel } from './loader.js';`, ...body].join('\n'), resolveDir: out(''), sourcefile: `entry:${file}`, loader: 'js' },
    outfile: out(file),
    format,
    ...(cjs ? { define: { 'import.meta.url': '__ukern_entry_url' } } : {}),
    banner: { js: cjs ? `${banner}\nvar __ukern_entry_url = require("node:url").pathToFileURL(__filename).href;` : banner },
  });
}
async function facade(file, from, pick) {
  const names = await namesOf(from);
  await entry(file, `the names of ${from}`, [`const k = kernel().${pick};`, `export const { ${names.join(', ')} } = k;`]);
}
await facade('sys.js', 'build/src/sys/index.js', 'sys');
await facade('index.js', 'build/src/index.js', 'ukern');
// The `ukern` command (src/cli) as users run it: its modules over the two
// entries above, so the demo and the LWPs it starts (demo-worker.js,
// demo-filter.js: start modules, found beside the chunk that names them)
// share this thread's one kernel instance. Built from the compiled tree,
// the command and each LWP worker loaded the kernel as ~170 ES modules:
// measured, 64 LWPs whose start module imports build/src/sys/index.js ran
// in 12.3 s (13 s of CPU) against 2.6 s over the bundle, and `ukern demo`
// took 6.6 s. The CLI imports only the package's public entries
// (.dependency-cruiser.cjs says so), which become external imports of
// ../sys.js and ../index.js; commander stays a dependency.
const publicEntries = new Map([[`${root}build/src/sys/index.js`, '../sys.js'], [`${root}build/src/index.js`, '../index.js']]);
await esbuild.build({
  ...common,
  entryPoints: { main: 'build/src/cli/main.js', 'demo-worker': 'build/src/cli/demo-worker.js', 'demo-filter': 'build/src/cli/demo-filter.js' },
  outdir: out('cli'),
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  external: [...common.external, 'commander'],
  plugins: [{
    name: 'ukern-public-entries',
    setup(b) {
      b.onResolve({ filter: /\/index\.js$/ }, (a) => {
        const to = publicEntries.get(fileURLToPath(new URL(a.path, pathToFileURL(`${a.resolveDir}/`))));
        return to === undefined ? undefined : { path: to, external: true };
      });
    },
  }],
});

// The LWP worker entry and the kernel threads' entries: CommonJS files that
// load the kernel script (its one instance per thread, with the code cache)
// and run their body from it. CommonJS, because a worker whose entry is an
// ES module sets up Node's ES module loader before its first line (~4-5 ms
// of each fresh worker); an LWP's start module is then required
// (src/lwp/start-import.ts), so a worker whose start modules are plain ES
// module files never sets it up. A kernel thread's body was an ES module
// bundle of its own, a second copy of the kernel compiled without a cache:
// ~22 ms of a fresh worker's CPU before its first line of work, against ~7
// for the kernel script (measured: a worker loading each, five runs).
const image = `require('node:worker_threads').workerData.image`;
await entry('trampoline.cjs', 'the LWP worker entry (src/lwp/trampoline.ts)', ['kernel().trampoline_start((s) => import(s));'], 'cjs');
await entry('clockthread.cjs', 'the clock thread (src/timers/clockthread.ts)', [`kernel().clockthread_main(${image});`], 'cjs');
await entry('intrthread.cjs', 'the intr thread (src/intr/intrthread.ts)', [`kernel().intrthread_main(${image});`], 'cjs');
await entry('aiothread.cjs', 'an I/O thread of the threads engine (src/aio/aiothread.ts)', [`kernel().aiothread_main(${image});`], 'cjs');
// What lwp0 (eval'd CommonJS, below) requires of the kernel when it first needs it (src/lwp/lwp0-kern.ts).
await entry('lwp0-kern.cjs', "lwp0's kernel part (src/lwp/lwp0-kern.ts)", ['module.exports = kernel().lwp0_kern;'], 'cjs');

// The code cache, from a fresh process: the script compiled and run, then
// its common paths exercised (no thread is started), so that their bytecode
// is in the cache too.
execFileSync(process.execPath, [fileURLToPath(new URL('./kernel-cache.mjs', import.meta.url))], { stdio: 'inherit' });
