/**
 * Writes the V8 code caches of the loader's scripts (src/loader.ts), run by
 * the build in a fresh process each:
 *
 *   (no argument)  build/bundle/kernel.cjs.cache and ukern.cjs.cache
 *                  (scripts/bundle.mjs),
 *   tree           build/src/_tree.cjs.cache, the compiled tree's script
 *                  (scripts/tree-bundle.mjs, after it wrote the tree).
 *
 * Each compiles its script, exercises the calls nearly every program makes
 * (ports, kqueue, clocks, a timer on the manual clock; for the class layer
 * a Port and a KQueue), none of which starts a thread, and saves V8's code
 * cache, which then holds the bytecode of those paths too.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

// The package's caches are for `node` as its users run it: V8 rejects a
// cache made under other V8 flags, so one written by a build that ran under
// NODE_OPTIONS=--max-old-space-size=4096 (common in CI, and inherited by
// this process from `npm pack`) was rejected by every plain node: each of
// them compiled the kernel without it, silently. So they are made with no
// NODE_OPTIONS and no node flags: given any, this script runs itself again
// without. (The tree's cache, for this checkout's tests, is made under the
// same options as they run with.)
if (process.argv[2] !== 'tree' && (process.env.NODE_OPTIONS || process.execArgv.length > 0)) {
  const { NODE_OPTIONS: _, ...env } = process.env;
  execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: 'inherit', env });
  process.exit(0);
}

const ZERO = { tv_sec: 0, tv_nsec: 0 };

/** The kernel's common paths; returns the Promise of the one asynchronous get. */
function warmKernel(sys) {
  sys.boot();
  sys.clock_gettime(sys.CLOCK_MONOTONIC);
  sys.clock_gettime(sys.CLOCK_REALTIME);
  const p = sys.port_create();
  for (let i = 0; i < 64; i++) sys.port_send(p, 1, i);
  sys.port_get(p, ZERO);
  sys.port_getn(p, 64, 1, ZERO);
  try { sys.port_get(p, ZERO); } catch (e) { if (e.code !== 'ETIME') throw e; }
  sys.port_send(p, 1, 1);
  const done = sys.port_get_async(p);
  const kq = sys.kqueue();
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, sys.EV_ADD | sys.EV_CLEAR, 0, 0, 0)], 0, ZERO);
  sys.kevent(kq, [sys.EV_SET(1, sys.EVFILT_USER, 0, sys.NOTE_TRIGGER, 0, 0)], 0, ZERO);
  sys.kevent(kq, null, 8, ZERO);
  const t = sys.timer_create(sys.CLOCK_MANUAL, { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 7 } });
  sys.timer_settime(t, 0, { it_interval: ZERO, it_value: { tv_sec: 0, tv_nsec: 1000 } });
  sys.timer_gettime(t);
  sys.clock_advance(sys.CLOCK_MANUAL, { tv_sec: 0, tv_nsec: 1000 });
  sys.timer_delete(t);
  sys.close(kq);
  return done;
}

/** The classes most programs of the class layer make: a Port (sync and Promise gets), a KQueue. */
function warmClasses(ukern) {
  const port = new ukern.Port();
  port.sendSync(1, 2);
  port.getSync({ timeout: 0 });
  port.sendSync(1, 3);
  const done = port.get({ timeout: 0 }).finally(() => port.close());
  const kq = new ukern.KQueue();
  kq.close();
  return done;
}

if (process.argv[2] === 'tree') {
  const file = fileURLToPath(new URL('../build/src/_tree.cjs.cache', import.meta.url));
  rmSync(file, { force: true }); // compiled afresh below, not from an older cache
  const sys = await import(new URL('../build/src/sys/index.js', import.meta.url).href);
  const ukern = await import(new URL('../build/src/index.js', import.meta.url).href);
  const { tree_code_cache } = await import(new URL('../build/src/loader.js', import.meta.url).href);
  const done = [warmKernel(sys), warmClasses(ukern)];
  await Promise.all(done);
  writeFileSync(file, tree_code_cache());
} else {
  const { script_cache } = await import(new URL('../build/bundle/loader.js', import.meta.url).href);
  const file = (f) => fileURLToPath(new URL(`../build/bundle/${f}.cjs.cache`, import.meta.url));
  let warm;
  const data = script_cache('kernel', ({ sys }) => { warm = warmKernel(sys); });
  await warm;
  writeFileSync(file('kernel'), data);
  const classes = script_cache('ukern', ({ ukern }) => { warm = warmClasses(ukern); });
  await warm;
  writeFileSync(file('ukern'), classes);
}
