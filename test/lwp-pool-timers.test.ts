/**
 * The LWP's timers are run-scoped (src/lwp/trampoline-main.ts): what this
 * checks is the other side, that nothing else changed. Two LWPs run the same
 * body one after the other on the same warm worker (the pool keeps one idle
 * worker and gives the create the warmest: the first one's), and each must
 * find (1) the kernel's own timers of the thread working: a Timer (a POSIX
 * timer through the SIGEV_THREAD mailbox), a SIGEV_PORT timer retrieved by
 * a blocking port_get, a port_get_async that times out, the clock-stats
 * counters; (2) the run-scoped timer functions behaving as Node's: `this`
 * and the arguments of the callback, the objects' methods (refresh, hasRef,
 * Symbol.toPrimitive with clearTimeout), an interval cleared by its own
 * callback, util.promisify(setTimeout), timers/promises and its scheduler,
 * AbortSignal.timeout's TimeoutError and its argument errors. Each check
 * sets one bit of the LWP's word; a missing bit names the check. This file
 * is also the LWPs' module; the tests are registered in the main thread only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread, threadId } from 'node:worker_threads';
import { promisify } from 'node:util';
import * as timers from 'node:timers';
import * as timersPromises from 'node:timers/promises';
import * as sys from '../src/sys/index.js';
import { Timer } from '../src/index.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until, within } from './helpers.js';

const { CLOCK_MONOTONIC, SIGEV_PORT, PORT_SOURCE_TIMER } = sys;
const ZERO = { tv_sec: 0, tv_nsec: 0 };

const CHECKS = [
  'Timer', 'SIGEV_PORT timer + port_get', 'port_get_async timeout', 'clock kstat',
  'setTimeout this/args', 'refresh/hasRef/toPrimitive', 'setInterval cleared by itself', 'setImmediate this/args',
  'promisify(setTimeout)', 'timers/promises', 'scheduler', 'AbortSignal.timeout', 'AbortSignal.timeout errors',
] as const;

/** LWP body: runs every check, sets word `slot` of the result array to the bits that passed and `slot + 1` to its threadId. */
export async function timed(a: { sab: SharedArrayBuffer; slot: number }): Promise<void> {
  const r = new Int32Array(a.sab);
  Atomics.store(r, a.slot + 1, threadId);
  let bits = 0;
  const ok = (name: (typeof CHECKS)[number]): void => { bits |= 1 << CHECKS.indexOf(name); };
  const tick = <T>(f: (done: (v: T) => void) => void): Promise<T> => new Promise<T>((res) => f(res));

  const t = new Timer({ delay: 20 });
  for await (const e of t) { if (e.expirations >= 1) ok('Timer'); break; }
  t.close();

  const p = sys.port_create();
  const tid = sys.timer_create(CLOCK_MONOTONIC, { sigev_notify: SIGEV_PORT, sigev_notify_port: { portnfy_port: p, portnfy_user: 7 } });
  sys.timer_settime(tid, 0, { it_value: { tv_sec: 0, tv_nsec: 20e6 }, it_interval: ZERO });
  const ev = sys.port_get(p, { tv_sec: 10, tv_nsec: 0 });
  if (ev.portev_source === PORT_SOURCE_TIMER) ok('SIGEV_PORT timer + port_get');
  sys.timer_delete(tid);
  const t0 = performance.now();
  try { await sys.port_get_async(p, { tv_sec: 0, tv_nsec: 30e6 }); } catch (e) {
    if ((e as { code?: string }).code === 'ETIME' && performance.now() - t0 >= 25) ok('port_get_async timeout');
  }
  sys.close(p);
  if (typeof sys.kstat('clock') === 'object') ok('clock kstat');

  const seen = await tick<[unknown, unknown[]]>((done) => {
    setTimeout(function (this: unknown, ...args: unknown[]) { done([this, args]); }, 1, 'x', 2);
  });
  if (seen[0] instanceof Object && (seen[0] as object).constructor.name === 'Timeout' && seen[1].join() === 'x,2') ok('setTimeout this/args');

  let fired = 0;
  const h = setTimeout(() => { fired++; }, 5);
  const id = +h;
  if (h.hasRef() && typeof id === 'number' && h.unref() === h && !h.hasRef() && h.ref().hasRef()) {
    h.refresh();
    clearTimeout(id); // by its primitive, as Node allows
    await new Promise((res) => setTimeout(res, 30));
    if (fired === 0) ok('refresh/hasRef/toPrimitive');
  }

  let n = 0;
  await tick<void>((done) => {
    setInterval(function (this: unknown, s: string) {
      if (s === 's' && ++n === 3) { clearInterval(this as NodeJS.Timeout); done(); }
    }, 1, 's');
  });
  await new Promise((res) => setTimeout(res, 20));
  if (n === 3) ok('setInterval cleared by itself');

  const imm = await tick<[unknown, unknown[]]>((done) => {
    setImmediate(function (this: unknown, ...args: unknown[]) { done([this, args]); }, 'i');
  });
  if ((imm[0] as object).constructor.name === 'Immediate' && imm[1].join() === 'i' && timers.setImmediate === setImmediate) ok('setImmediate this/args');

  if (await promisify(setTimeout)(1, 'v') === 'v' && await promisify(setImmediate)('w') === 'w') ok('promisify(setTimeout)');

  const it = timersPromises.setInterval(1, 'k');
  let k = 0;
  for await (const v of it) if (v === 'k' && ++k === 2) break;
  if (await timersPromises.setTimeout(1, 'a') === 'a' && await timersPromises.setImmediate('b') === 'b' && k === 2) ok('timers/promises');
  const ac = new AbortController();
  const aborted = timersPromises.setTimeout(10_000, undefined, { signal: ac.signal }).then(() => 'resolved', (e: Error) => e.name);
  ac.abort();
  if (await aborted === 'AbortError') {
    await timersPromises.scheduler.wait(1);
    await timersPromises.scheduler.yield();
    ok('scheduler');
  }

  const s = AbortSignal.timeout(5);
  const reason = await tick<unknown>((done) => s.addEventListener('abort', () => done(s.reason)));
  if (reason instanceof DOMException && reason.name === 'TimeoutError' && s.aborted) ok('AbortSignal.timeout');
  const codes: string[] = [];
  for (const bad of [1.5, -1, '5'] as unknown[]) {
    try { AbortSignal.timeout(bad as number); } catch (e) { codes.push((e as { code: string }).code); }
  }
  if (codes.join() === 'ERR_OUT_OF_RANGE,ERR_OUT_OF_RANGE,ERR_INVALID_ARG_TYPE') ok('AbortSignal.timeout errors');

  Atomics.store(r, a.slot, bits);
}

/**
 * LWP body: fetches `url` (Node's bundled undici, whose clock is an unref'd
 * global setTimeout) with the global setTimeout spied on, and sets word 0
 * to how many of the timers made meanwhile are unref'd and still the run's,
 * word 1 to how many became the thread's (Node's own code unref'd them),
 * word 2 to 1 once the body ran.
 */
export async function fetcher(a: { sab: SharedArrayBuffer; url: string }): Promise<void> {
  const r = new Int32Array(a.sab);
  const g = globalThis as { setTimeout: (...a: unknown[]) => object };
  const set = g.setTimeout;
  const seen: object[] = [];
  g.setTimeout = function (...a: unknown[]) { const t = set(...a); seen.push(t); return t; };
  try {
    const res = await fetch(a.url);
    await res.text();
  } finally { g.setTimeout = set; }
  for (const t of seen) {
    const run = Object.getOwnPropertySymbols(t).find((y) => y.description === 'ukern.timer_run');
    if (run === undefined) continue;
    const v = (t as Record<symbol, unknown>)[run];
    if (v === -1) Atomics.add(r, 1, 1);
    else if (!(t as NodeJS.Timeout).hasRef()) Atomics.add(r, 0, 1);
  }
  Atomics.store(r, 2, 1);
}

const self = new URL(import.meta.url);

function missing(bits: number): string[] { return CHECKS.filter((_, i) => (bits & (1 << i)) === 0); }

if (isMainThread) {
  // One idle worker kept, none prestarted, the surplus retired at once.
  sys.boot({ lwp_pool: 0, lwp_pool_linger: 0 });

  test('the kernel\'s timers and the run-scoped timer functions work in a worker reused from an earlier LWP', async () => {
    const sab = new SharedArrayBuffer(16);
    const r = new Int32Array(sab);
    for (const slot of [0, 2]) {
      const l = sys.lwp_create({ module: self, export: 'timed', arg: { sab, slot } });
      assert.equal(await within(sys.lwp_wait_async(l), 30_000, `LWP ${slot / 2 + 1}`), l);
      assert.deepEqual(missing(Atomics.load(r, slot)), [], `LWP ${slot / 2 + 1}: checks that failed`);
      // Its worker back in the pool (a retired one never shows idle: the assertion below tells).
      if (slot === 0) await until(() => sys.kstat('lwp')['lwp.pool_idle'] === 1, 1000, 'the worker idle').catch(() => { /* retired */ });
    }
    assert.equal(Atomics.load(r, 3), Atomics.load(r, 1), 'the second LWP ran on the first one\'s worker');
  });

  test('a scoped timer that Node\'s own code unrefs (fetch\'s clock) stays the thread\'s', async () => {
    const server = createServer((_q, res) => { res.end('ok'); });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const sab = new SharedArrayBuffer(16);
      const r = new Int32Array(sab);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const l = sys.lwp_create({ module: self, export: 'fetcher', arg: { sab, url } });
      assert.equal(await within(sys.lwp_wait_async(l), 30_000, 'the fetching LWP'), l);
      assert.equal(Atomics.load(r, 2), 1, 'the fetch completed');
      assert.ok(Atomics.load(r, 1) >= 1, `a timer of undici's unref'd by Node became the thread's (${Atomics.load(r, 1)}; ${Atomics.load(r, 0)} stayed the run's)`);
      assert.equal(Atomics.load(r, 0), 0, 'no timer unref\'d by Node stayed the run\'s');
    } finally { server.closeAllConnections(); server.close(); }
  });
}
