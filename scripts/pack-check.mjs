/**
 * The package as a user installs it (CI runs this after the tests):
 *  1. `npm pack` (its prepack builds) and a check of what the tarball holds:
 *     the bundle (the entry points, the bin), the compiled tree's types, the
 *     README and licence; no tests, benchmarks, sources, source maps or code
 *     of the compiled tree (the package runs from the bundle alone);
 *  2. a new project in a temporary directory installs the tarball (and
 *     TypeScript and Node's types at the versions this repository uses);
 *  3. a small consumer and every ```ts block of the README are type-checked
 *     there (strict, NodeNext), then the consumer runs: it imports `ukern`
 *     and `ukern/sys` by name, runs an LWP whose start module imports
 *     `ukern/sys` from the installed package and one of the class layer
 *     (Lwp.create: the start shim), a plain node uses the code caches
 *     of the kernel and class layer scripts, its `ukern` bin answers, and
 *     the bin's LWP and OS demos run.
 * The project denies koffi's install script, as the README tells a user to
 * (npm 11 warns about a dependency's script nobody allowed or denied): the
 * OS demo then shows koffi's prebuilt binary working without it (the intr
 * thread's epoll, inotify, a child's pidfd, AIO).
 * Exits non-zero, saying what failed. Needs the npm registry (as `npm ci`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'ukern-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const fail = (msg) => { console.error(`pack-check: ${msg}`); process.exit(1); };

try {
  // 1. Pack, and look inside.
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], root));
  const files = info.files.map((f) => f.path);
  const must = ['package.json', 'README.md', 'LICENSE', 'build/bundle/sys.js', 'build/bundle/index.js', 'build/bundle/kernel.cjs',
    'build/bundle/kernel.cjs.cache', 'build/bundle/ukern.cjs', 'build/bundle/ukern.cjs.cache', 'build/bundle/trampoline.cjs', 'build/bundle/loader.js', 'build/bundle/lwp-start.js', 'build/bundle/lwp0.js',
    'build/bundle/clockthread.cjs', 'build/bundle/intrthread.cjs', 'build/bundle/aiothread.cjs', 'build/bundle/lwp0-kern.cjs', 'build/src/index.d.ts', 'build/src/sys/index.d.ts', 'build/bundle/cli/main.js',
    'build/bundle/cli/demo-worker.js', 'build/bundle/cli/demo-filter.js'];
  for (const f of must) if (!files.includes(f)) fail(`the tarball lacks ${f}`);
  // Of the compiled tree (build/src), only the declarations: the package runs from the bundle alone.
  const stray = files.filter((f) => /^(test|bench|src|scripts|\.ci|build\/test|build\/bench|build\/examples|build\/src)\/|\.map$|\.ts$/.test(f) && !f.endsWith('.d.ts'));
  if (stray.length > 0) fail(`the tarball ships what users do not need: ${stray.slice(0, 10).join(', ')}`);
  console.log(`pack-check: ${info.filename}: ${files.length} files, ${(info.unpackedSize / 1048576).toFixed(2)} MiB unpacked`);

  // 2. A consumer project.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', allowScripts: { koffi: false } }, null, 2));
  const v = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', join(dir, info.filename),
    `typescript@${v('typescript')}`, `@types/node@${v('@types/node')}`], dir);

  // 3. Type-check the consumer and the README's examples, then run the consumer.
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'],
      lib: ['ES2023', 'ES2024.SharedMemory'], skipLibCheck: false, outDir: 'out' },
    include: ['*.ts'],
  }, null, 2));
  writeFileSync(join(dir, 'consumer.ts'), `
import * as sys from 'ukern/sys';
import { Port, SysError, Lwp, boot } from 'ukern';
boot();
const port = new Port();
const lid: number = sys.lwp_create({ module: new URL('./start.js', import.meta.url), export: 'start', arg: { port: port.fd } });
const ev: sys.port_event_t = sys.port_get(port.fd, { tv_sec: 30, tv_nsec: 0 });
sys.lwp_wait(lid);
if (ev.portev_user !== lid) throw new Error('the LWP did not send its lid');
try { sys.port_get(-1, { tv_sec: 0, tv_nsec: 0 }); } catch (e) { if (!(e instanceof SysError) || e.code !== 'EBADF') throw e; }
// The class layer's LWP (its start shim, build/bundle/lwp-start.js): the value comes back.
const lwp = Lwp.create<number>({ module: new URL('./start.js', import.meta.url), export: 'twice', arg: 21 });
if (await lwp.wait() !== 42) throw new Error('Lwp.create: the value did not come back');
port.close();
console.log('consumer ok');
`);
  writeFileSync(join(dir, 'start.ts'), `
import * as sys from 'ukern/sys';
export function start(arg: { port: number }): void { sys.port_send(arg.port, 1, sys.lwp_self()); }
export function twice(n: number): number { return n * 2; }
`);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  blocks.forEach((b, i) => {
    const named = /^\/\/ ([a-z0-9-]+)\.ts\b/.exec(b);
    if (named && (named[1] === 'consumer' || named[1] === 'start')) fail(`README block ${i} is named ${named[1]}.ts, which this check writes itself`);
    writeFileSync(join(dir, named ? `${named[1]}.ts` : `readme-${i}.ts`), `${b}\nexport {};\n`);
  });
  try { run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', dir], dir); } catch (e) { fail(`type-check failed:\n${e.stdout}`); }
  const out = run(process.execPath, [join(dir, 'out/consumer.js')], dir);
  if (!out.includes('consumer ok')) fail(`the consumer printed: ${out}`);
  // The code caches as shipped, for a plain node (no NODE_OPTIONS): V8 takes them (scripts/kernel-cache.mjs).
  {
    const { NODE_OPTIONS: _, ...plain } = process.env;
    const loader = pathToFileURL(join(dir, 'node_modules/ukern/build/bundle/loader.js')).href;
    const code = `await import('ukern'); const { kernel_cache_state: s } = await import(${JSON.stringify(loader)}); console.log(s('kernel'), s('ukern'));`;
    const caches = execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, env: plain, encoding: 'utf8' }).trim();
    if (caches !== 'used used') fail(`a plain node does not use the installed package's code caches (kernel, classes): ${caches}`);
  }
  const bin = join(dir, 'node_modules/.bin/ukern');
  if (!existsSync(bin)) fail('no ukern bin was linked');
  run(bin, ['--help'], dir);
  const version = run(bin, ['--version'], dir).trim();
  if (version !== pkg.version) fail(`ukern --version printed ${JSON.stringify(version)}, package.json says ${pkg.version}`);
  // The installed command's demo: its LWPs' start modules import the package's entries from the bundle.
  const demo = run(bin, ['demo', 'lwp', '--workers', '2', '--tasks', '8'], dir);
  if (!demo.endsWith('done\n')) fail(`ukern demo lwp did not finish:\n${demo}`);
  const os = run(bin, ['demo', 'os'], dir);
  if (!os.endsWith('done\n')) fail(`ukern demo os did not finish (koffi without its install script):\n${os}`);
  console.log(`pack-check: installed (koffi's install script denied), ${blocks.length} README examples and a consumer type-check (strict, NodeNext), the consumer and its LWPs (lwp_create, Lwp.create) ran, the bin answers and its LWP and OS demos run; ${pkg.name}@${pkg.version} ok`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
