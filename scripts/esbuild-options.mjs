/**
 * The esbuild options the build's bundles share (scripts/bundle.mjs, and
 * scripts/tree-bundle.mjs for the compiled tree's script), written once.
 */
import { pathToFileURL } from 'node:url';

/** Every bundle: Node 20, koffi external (a native addon, loaded lazily by the threads that need it). */
export function commonOptions(root) {
  return { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', external: ['koffi'], logLevel: 'warning' };
}

/**
 * A script src/loader.ts compiles (the kernel, the class layer, the compiled
 * tree): the file is the function expression the loader compiles as read
 * (src/loader.ts WRAP_HEAD, WRAP_TAIL: no wrapping at each load); ES module
 * code, strict (minified, esbuild leaves the directive out); whitespace
 * minified (~1-2 ms less to read and compile in a fresh thread; names kept,
 * so stack traces still name the kernel's functions); lines cut at ~160
 * characters (Node prints an uncaught error's source line, and one line of
 * the whole kernel was 360 KiB of it); ASCII (esbuild's default, stated:
 * the loader reads the file as latin1). Needs tsc's build/src/loader.js.
 */
export async function scriptOptions(root) {
  const { WRAP_HEAD, WRAP_TAIL } = await import(pathToFileURL(`${root}build/src/loader.js`).href);
  return {
    ...commonOptions(root),
    format: 'cjs',
    minifyWhitespace: true,
    lineLimit: 160,
    banner: { js: `${WRAP_HEAD}"use strict";` },
    footer: { js: WRAP_TAIL },
    charset: 'ascii',
  };
}
