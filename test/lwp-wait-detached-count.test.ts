/**
 * lwp_wait's process-wide deadlock check (lwp/wait.ts) subtracted every
 * detached LWP (p_ndlwps) from the LWPs that can still exit, as the seed's
 * p_nrlwps + p_nzlwps - p_ndlwps <= p_nlwpwait does. That takes for granted
 * that each detached LWP is one of p_nrlwps (it will never be a zombie to
 * collect): a detached LWP that is suspended is not counted there, nor is
 * one blocked in lwp_wait a runner (it is subtracted as a waiter already).
 * Either was subtracted once more, and a blocking lwp_wait of an LWP that
 * ran, waiting for nobody, failed with EDEADLK at once ("EDEADLK ... when
 * every other LWP is waiting too (nobody left to exit)", docs/sys.md). Now
 * only the detached LWPs among the runners, not blocked in lwp_wait, are
 * taken off. LWP review.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as sys from 'ukern/sys';
import { until, letLwpsGo } from './helpers.js';

afterEach(() => letLwpsGo(sys));

const sysUrl = import.meta.resolve('ukern/sys'); // (the LWPs' kernel is this thread's module instance)
const body = `import * as sys from ${JSON.stringify(sysUrl)};
export function quick() { return 0; }
// Runs outside the kernel for a while (no wait of it can collect it before), then returns.
export function later() { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); return 0; }
export function waitsFor(t) { try { sys.lwp_wait(t); } catch {} return 0; }
`;
const mod = 'data:text/javascript,' + encodeURIComponent(body);
const info = (lid: number): sys.LwpInfo | undefined => sys.lwp_snapshot().lwps.find((x) => x.lid === lid);
const ten = { tv_sec: 10, tv_nsec: 0 };

function waitFor(lid: number): number | string {
  try { return sys.lwp_wait_timed(lid, ten); } catch (e) { return e instanceof sys.SysError ? e.code : String(e); }
}

test('with a detached LWP suspended, lwp_wait of a running LWP sleeps until it exits', () => {
  const d = sys.lwp_create({ module: mod, export: 'quick' }, sys.LWP_DETACHED | sys.LWP_SUSPENDED);
  const b = sys.lwp_create({ module: mod, export: 'later' });
  assert.equal(waitFor(b), b, 'the wait failed while B ran');
  sys.lwp_continue(d);
  assert.deepEqual(sys.lwp_check(), []);
});

test('with a detached LWP blocked in lwp_wait, lwp_wait of a running LWP sleeps until it exits', async () => {
  const c = sys.lwp_create({ module: mod, export: 'quick' }, sys.LWP_SUSPENDED);
  const d = sys.lwp_create({ module: mod, export: 'waitsFor', arg: c }, sys.LWP_DETACHED);
  await until(() => info(d)?.state === 'SLEEP' && info(d)?.wmesg === 'lwpwait', 10_000, 'D asleep in lwp_wait(C)');
  const b = sys.lwp_create({ module: mod, export: 'later' });
  assert.equal(waitFor(b), b, 'the wait failed while B ran');
  sys.lwp_continue(c); // D collects C and exits (freed: detached)
  await until(() => info(d) === undefined, 10_000, 'D to end');
  assert.deepEqual(sys.lwp_check(), []);
});
