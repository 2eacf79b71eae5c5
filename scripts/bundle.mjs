/**
 * The bundle step (after tsc): one ES module file per kernel thread, so that
 * a kernel thread's worker loads one file instead of the kernel's ~76
 * modules (about half the start time). Only kernel threads (lwp0, the clock
 * thread): they run kernel code alone. LWP workers are not bundled, because
 * the user's start module imports the kernel's own modules and must share
 * their instances with the trampoline that attached them.
 *
 * esbuild is a devDependency. Where it is not installed (a production
 * install, or a checkout whose node_modules predates it) the step says so
 * and does nothing: spawn.ts then starts kernel threads from build/src, as it
 * does whenever the bundle is missing or older than the build. koffi stays
 * external (a native addon, loaded lazily by the threads that need it).
 */
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = {
  lwp0: 'build/src/lwp/lwp0.js',
  clockthread: 'build/src/timers/clockthread.js',
};

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('bundle: esbuild is not installed; kernel threads will start from build/src');
  process.exit(0);
}

await esbuild.build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir: 'build/bundle',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['koffi'],
  // import.meta.url in a bundle names the bundle: kernel code that starts
  // threads takes module URLs from the unbundled booting thread (spawn.ts).
  logLevel: 'warning',
});
