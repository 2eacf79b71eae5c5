/**
 * lwp_wait's process-wide deadlock check (lwp/wait.ts: EDEADLK when
 * p_nrlwps + p_nzlwps - p_ndlwps <= the LWPs waiting, "nobody left to
 * exit") counted an LWP with an lwp_wait_async pending as a waiter, as if
 * it were blocked. Its thread is not: its event loop runs on, and may
 * continue a suspended LWP, which then exits. So the plain
 *
 *   const a = lwp_create(start, LWP_SUSPENDED);
 *   const done = lwp_wait_async(a);   // EDEADLK at once
 *   lwp_continue(a);
 *
 * (in the class layer: Lwp.create(start, { suspended: true }), wait(),
 * continue()) failed with EDEADLK: the suspended target is out of
 * p_nrlwps, and LWP 1, "waiting", was the only LWP left counted. Likewise a
 * blocking lwp_wait of another LWP for a suspended one, while LWP 1 (which
 * will continue it) has only an async wait pending. While an LWP is
 * suspended, those with only async waits pending no longer count as
 * waiting; with none suspended they still do (the last test: an LWP's
 * lwp_wait(0) that could only collect LWP 1, whose thread has nothing to
 * continue, fails EDEADLK as before). LWP review.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { Lwp } from 'ukern';
import { until, within, letLwpsGo } from './helpers.js';

afterEach(() => letLwpsGo(sys));

const sysUrl = import.meta.resolve('ukern/sys'); // (the LWPs' kernel is this thread's module instance)
const body = `import * as sys from ${JSON.stringify(sysUrl)};
export function value(x) { return x * 2; }
export function waitsForAny(arg) {
  const a = new Int32Array(arg.sab);
  while (Atomics.load(a, 1) === 0) Atomics.wait(a, 1, 0);
  try { sys.lwp_wait(0); a[0] = 1; } catch (e) { a[0] = e.code === 'EDEADLK' ? 2 : 3; }
  Atomics.notify(a, 0);
  return 0;
}
export function waitsFor(arg) {
  const a = new Int32Array(arg.sab);
  while (Atomics.load(a, 1) === 0) Atomics.wait(a, 1, 0);
  try { sys.lwp_wait(arg.t); a[0] = 1; } catch (e) { a[0] = e.code === 'EDEADLK' ? 2 : 3; }
  Atomics.notify(a, 0);
  return 0;
}
`;
const mod = 'data:text/javascript,' + encodeURIComponent(body);

const outcome = (p: Promise<unknown>): Promise<unknown> => p.then((v) => v, (e: unknown) => (e as { code?: string }).code ?? String(e));
const info = (lid: number): sys.LwpInfo | undefined => sys.lwp_snapshot().lwps.find((x) => x.lid === lid);

function settled(): void {
  assert.equal(sys.lwp_snapshot().proc.nlwpwait, 0);
  assert.deepEqual(sys.lwp_check(), []);
}

test('lwp_wait_async of an LWP created suspended, then lwp_continue: the wait collects it', async () => {
  const a = sys.lwp_create({ module: mod, export: 'value', arg: 1 }, sys.LWP_SUSPENDED);
  const done = outcome(sys.lwp_wait_async(a));
  sys.lwp_continue(a);
  assert.equal(await within(done, 10_000, 'the wait'), a, 'the wait failed while LWP 1 could (and did) continue its target');
  settled();
});

test('Lwp.create suspended, wait(), continue(): wait() resolves with the return value', async () => {
  const l = Lwp.create<number>({ module: mod, export: 'value', arg: 21 }, { suspended: true });
  const done = outcome(l.wait());
  l.continue();
  assert.equal(await within(done, 10_000, 'wait()'), 42);
  settled();
});

test('B blocks in lwp_wait(A) of a suspended A while LWP 1 has only an async wait pending: B sleeps, and collects A once continued', async () => {
  const sab = new SharedArrayBuffer(8), w = new Int32Array(sab);
  const a = sys.lwp_create({ module: mod, export: 'value', arg: 1 }, sys.LWP_SUSPENDED);
  const b = sys.lwp_create({ module: mod, export: 'waitsFor', arg: { sab, t: a } });
  try {
    const done = outcome(sys.lwp_wait_async(b)); // B runs (it waits outside the kernel): this wait sleeps
    Atomics.store(w, 1, 1); Atomics.notify(w, 1);
    await until(() => Atomics.load(w, 0) !== 0 || (info(b)?.state === 'SLEEP' && info(b)?.wmesg === 'lwpwait'), 10_000, 'B to fail or sleep in lwp_wait(A)');
    sys.lwp_continue(a);
    await until(() => Atomics.load(w, 0) !== 0, 10_000, 'B\'s wait to end');
    assert.equal(Atomics.load(w, 0), 1, 'B\'s lwp_wait(A) failed (EDEADLK) while LWP 1, not blocked, could continue A');
    assert.equal(await within(done, 10_000, 'LWP 1\'s wait'), b);
    settled();
  } finally {
    Atomics.store(w, 1, 1); Atomics.notify(w, 1);
  }
});

test('with no LWP suspended, LWP 1 with an async wait pending still counts as waiting: W\'s lwp_wait(0) fails EDEADLK', async () => {
  const sab = new SharedArrayBuffer(8), w = new Int32Array(sab);
  const x = sys.lwp_create({ module: mod, export: 'waitsForAny', arg: { sab } });
  try {
    const done = outcome(sys.lwp_wait_async(x));
    Atomics.store(w, 1, 1); Atomics.notify(w, 1);
    await until(() => Atomics.load(w, 0) !== 0 || (info(x)?.state === 'SLEEP' && info(x)?.wmesg === 'lwpwait'), 10_000, 'W to fail or sleep in lwp_wait(0)');
    if (Atomics.load(w, 0) === 0) sys.lwp_wakeup(x); // (asleep: the check missed it; EINTR ends the test)
    assert.equal(await within(done, 10_000, 'LWP 1\'s wait'), x);
    assert.equal(Atomics.load(w, 0), 2, 'W\'s lwp_wait(0), which only LWP 1\'s exit could end, did not fail EDEADLK');
    settled();
  } finally {
    Atomics.store(w, 1, 1); Atomics.notify(w, 1);
  }
});
