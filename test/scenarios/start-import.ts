/**
 * Start modules of every kind as LWPs of a fresh process on the package's
 * trampoline (build/bundle/trampoline.cjs: src/lwp/start-import.ts), through
 * the class layer (its start shim loads the user's module with the
 * trampoline's importer). Prints one JSON line; test/lwp-start-import.test.ts
 * asserts on it.
 */
import * as sys from 'ukern/sys';
import { Lwp } from 'ukern';

const F = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url);
const counts = (): { req: number; imp: number } => {
  const k = sys.kstat('lwp');
  return { req: k['lwp.start_required']!, imp: k['lwp.start_imported']! };
};
const settle = <T>(p: Promise<T>): Promise<T | { error: string; cause: string; code?: string }> =>
  p.catch((e: Error & { cause?: Error & { code?: string } }) => ({ error: e.name, cause: String(e.cause?.message), code: e.cause?.code }));

sys.boot();
const out: Record<string, unknown> = {};
const c0 = counts();
out.esm = await settle(Lwp.create({ module: F('start-import.js'), export: 'loaded' }).wait());
const c1 = counts();
out.esmCounts = { req: c1.req - c0.req, imp: c1.imp - c0.imp };
out.tla = await settle(Lwp.create({ module: F('start-import-tla.js'), export: 'loaded' }).wait());
out.cjs = await settle(Lwp.create({ module: F('start-import-cjs.cjs'), export: 'loaded' }).wait());
out.missing = await settle(Lwp.create({ module: F('start-import-none.js'), export: 'loaded' }).wait());
out.throws = await settle(Lwp.create({ module: F('start-import-throws.js'), export: 'loaded' }).wait());
// The sys layer's own LWPs: the trampoline requires the start module itself.
const sab = new SharedArrayBuffer(4);
const c2 = counts();
const lid = sys.lwp_create({ module: F('startup-lwps.js'), export: 'mark', arg: { sab } });
sys.lwp_wait(lid);
const c3 = counts();
out.sysCounts = { req: c3.req - c2.req, imp: c3.imp - c2.imp, ran: Atomics.load(new Int32Array(sab), 0) };
out.requireModule = (process.features as { require_module?: boolean }).require_module === true;
console.log(JSON.stringify(out));
