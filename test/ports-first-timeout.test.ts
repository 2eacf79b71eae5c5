/**
 * A thread's first timed port_get waited its timeout plus the warm-up of the
 * take (take.ts take_warm, ~2-3 ms of CPU once per thread, run at its first
 * wait, before the call's deadline was computed): the deadline now runs
 * from the call's entry (read after the copy-in), whatever the call does
 * before its first sleep, and the warm-up never runs into it (measured: 10-60
 * ms on 2 loaded CPUs, one chunk of it up to ~10 ms): a timed wait is warmed
 * only when its deadline is far enough away.
 *
 * Each sample is a fresh process (a fresh thread: the warm-up is once per
 * thread), which measures, in its main thread, a plain Atomics.wait of 20 ms
 * and then its first port_get with a 20 ms timeout on an empty port (ETIME),
 * both from outside the call. The get must never be early (>= 20 ms), and its
 * lateness over the plain wait's, in the median of several fresh processes,
 * must stay well under the warm-up (a loaded machine delays both alike;
 * a median, not one sample).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { childOk } from './helpers.js';

const CHILD = process.env.UKERN_TEST_FIRST_TIMEOUT === '1';
const TIMEOUT_MS = 20;

if (CHILD) {
  const { boot } = await import('../src/kern/boot.js');
  const ports = await import('../src/ports/sys.js');
  const { close } = await import('../src/kern/sys.js');
  boot({ port_spin_ns: 0 });
  const p = ports.port_create();
  const w = new Int32Array(new SharedArrayBuffer(4));
  let t = performance.now();
  Atomics.wait(w, 0, 0, TIMEOUT_MS);
  const plain = performance.now() - t;
  let code = '';
  t = performance.now();
  try { ports.port_get(p, { tv_sec: 0, tv_nsec: TIMEOUT_MS * 1e6 }); } catch (e) { code = (e as { code?: string }).code ?? String(e); }
  const get = performance.now() - t;
  close(p);
  process.stdout.write(JSON.stringify({ plain, get, code }) + '\n');
} else {
  test('a thread\'s first timed port_get returns ETIME at its deadline, measured from its entry (not after the take\'s warm-up)', async () => {
    const file = fileURLToPath(import.meta.url);
    const N = 7;
    const late: number[] = [];
    for (let i = 0; i < N; i++) {
      const { stdout } = await childOk(file, 30_000, { UKERN_TEST_FIRST_TIMEOUT: '1' });
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as { plain: number; get: number; code: string };
      assert.equal(r.code, 'ETIME');
      assert.ok(r.get >= TIMEOUT_MS, `port_get returned ${r.get.toFixed(3)} ms after its call, before its ${TIMEOUT_MS} ms timeout`);
      late.push(r.get - r.plain);
    }
    late.sort((a, b) => a - b);
    const median = late[N >> 1]!;
    // Measured on 2 CPUs: the warm-up made it 6-11 ms late (20-60 beside CPU
    // hogs); now 0.4-1.7 ms (the call's first run through its cold sleep and
    // return paths), ~1 ms in the median beside a hog. 3 ms keeps both margins.
    assert.ok(median < 3, `the first port_get is ${median.toFixed(3)} ms later than a plain wait in the median (all: ${late.map((x) => x.toFixed(2)).join(', ')})`);
  });
}
